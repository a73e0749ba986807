package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
)

var funcs = template.FuncMap{
	"rel":       relTime,
	"exact":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"compact":   compact,
	"message":   logMessage,
	"num":       thousands,
	"short":     func(s string, n int) string { return shorten(s, n) },
	"itoa":      func(i int64) string { return strconv.FormatInt(i, 10) },
	"add":       func(a, b int) int { return a + b },
	"sub":       func(a, b int) int { return a - b },
	"at":        func(now, t time.Time) whenArg { return whenArg{now, t} },
	"untilTime": untilTime,
	"events":    func(n int64) string { return plural(n, "event") },
}

// relTime says how long before now t was: "just now", "5 min ago",
// "3 h ago", "12 d ago", else the date. A time up to store.MaxFuture
// ahead is "just now": ingest keeps a timestamp that far ahead of its
// arrival as sent (a client clock running a little fast).
func relTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < -store.MaxFuture:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	case d < 90*24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " d ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

// untilTime says how long after now t is, for a time to come (a mute's
// end): "in 5 min", "in 3 h", "in 6 d", else the date.
func untilTime(now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d < time.Minute:
		return "in under a minute"
	case d < time.Hour:
		return "in " + strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + " min"
	case d < 48*time.Hour:
		return "in " + strconv.Itoa(int((d+time.Hour-1)/time.Hour)) + " h"
	case d < 90*24*time.Hour:
		return "in " + strconv.Itoa(int((d+24*time.Hour-1)/(24*time.Hour))) + " d"
	}
	return t.UTC().Format("2 Jan 2006")
}

// compact writes a count in at most four characters: 987, 1.2k, 34k, 5.6M.
func compact(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 10000:
		return strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + "k"
	case n < 1000000:
		return strconv.FormatInt(n/1000, 10) + "k"
	case n < 10000000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatInt(n/1000000, 10) + "M"
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// logMessage is a log entry's text as the page shows it: the client's
// formatted text, else the template with its parameters filled in, cut
// at capString, since a template that names a parameter once per
// mention ("{0}{0}{0}…") fills in megabytes from a small event.
func logMessage(le *event.Logentry) string {
	if le.Formatted != "" {
		return le.Formatted
	}
	s, cut := store.FormatParams(le.Message, le.Params, capString)
	if cut {
		s += "…"
	}
	return s
}

// whenArg is the "when" template's argument: a time and the clock's now.
type whenArg struct{ Now, T time.Time }

// plural writes "1 event", "2,345 events".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return thousands(n) + " " + word + "s"
}

// An event may hold a megabyte of text that anyone with a DSN wrote, and
// the group page shows each value twice (in its table and in the raw
// JSON), HTML-escaped: a 900 KB event made a 7.6 MB page. So a big event
// is shown cut down: long strings shortened, long lists and objects
// thinned, the cuts marked; the JSON link serves it whole.
//
// Nesting is cut in every event, whatever its size: each level indents
// the lines under it, so a page grows with the square of the depth, and
// a 30 KB event nested 990 deep made a 59 MB page. SDKs send far less
// (Sentry's JavaScript SDK normalizes to 3 levels, Python's to 5).
const (
	capFrom     = 32 << 10  // events smaller than this are shown whole, but for nesting
	capString   = 8 << 10   // bytes of one string
	capItems    = 200       // members of one list or object (a list keeps its first and last 100)
	capTotal    = 256 << 10 // bytes of strings in all; past it each string gets capSmall
	capSmall    = 256
	capMaxDepth = 32 // levels of lists and objects, the event's own included
	// capValues is how many values (of lists and objects, of any kind)
	// the page shows: each is a line of the field tables and of the raw
	// JSON, indented, so 420,000 zeros in lists of 75 (850 KB, no list
	// over capItems, no string) made a 9 MB page.
	capValues = 8000
)

// capEvent returns the event JSON cut down for the page, and what was
// cut: long values or lists (big), or values nested deeper than
// capMaxDepth (deep). Members keep their order.
func capEvent(js []byte) (out []byte, big, deep bool) {
	if len(js) < capFrom && !nestsDeeper(js, capMaxDepth) {
		return js, false, false
	}
	c := capper{}
	out, err := c.value(js, 0)
	if err != nil {
		return js, false, false
	}
	return out, c.cut, c.deep
}

// nestsDeeper reports whether JSON has lists or objects nested more
// than n deep.
func nestsDeeper(js []byte, n int) bool {
	depth, inString := 0, false
	for i := 0; i < len(js); i++ {
		switch c := js[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			if depth++; depth > n {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

type capper struct {
	values int  // values kept so far
	total  int  // string bytes kept so far
	cut    bool // a long value or list was cut
	deep   bool // values nested too deep were cut
}

func (c *capper) value(raw []byte, depth int) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return raw, nil
	}
	c.values++
	if depth >= capMaxDepth && (raw[0] == '[' || raw[0] == '{') {
		c.deep = true
		return []byte(`"… (nested too deep)"`), nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if out, ok := c.str(s); ok {
			return json.Marshal(out)
		}
		c.total += len(s)
		return raw, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		buf.WriteByte('[')
		n := len(items)
		for i, it := range items {
			if n > capItems && i >= capItems/2 && i < n-capItems/2 {
				if i == capItems/2 {
					c.cut = true
					// The marker is of the items' kind, so that a list of
					// frames still decodes as frames.
					if bytes.HasPrefix(bytes.TrimSpace(items[0]), []byte("{")) {
						fmt.Fprintf(&buf, `{"…":"%s more items"},`, thousands(int64(n-capItems)))
					} else {
						fmt.Fprintf(&buf, `"… (%s more items)",`, thousands(int64(n-capItems)))
					}
				}
				continue
			}
			if c.values >= capValues {
				c.cut = true
				if bytes.HasPrefix(bytes.TrimSpace(items[0]), []byte("{")) {
					fmt.Fprintf(&buf, `{"…":"%s more items"}`, thousands(int64(n-i)))
				} else {
					fmt.Fprintf(&buf, `"… (%s more items)"`, thousands(int64(n-i)))
				}
				break
			}
			v, err := c.value(it, depth+1)
			if err != nil {
				return nil, err
			}
			buf.Write(v)
			if i < n-1 {
				buf.WriteByte(',')
			}
		}
		buf.WriteByte(']')
		return buf.Bytes(), nil
	case '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		buf.WriteByte('{')
		n, kept := 0, 0
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := t.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			n++
			if n > capItems || c.values >= capValues {
				continue
			}
			if kept++; kept > 1 {
				buf.WriteByte(',')
			}
			k, _ := c.str(key)
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			vb, err := c.value(v, depth+1)
			if err != nil {
				return nil, err
			}
			buf.Write(vb)
		}
		if kept < n {
			c.cut = true
			if kept > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `"…":"%s more keys"`, thousands(int64(n-kept)))
		}
		buf.WriteByte('}')
		return buf.Bytes(), nil
	}
	return raw, nil
}

// str shortens s when it is over its share, and says so.
func (c *capper) str(s string) (string, bool) {
	limit := capString
	if c.total >= capTotal {
		limit = capSmall
	}
	if len(s) <= limit {
		return s, false
	}
	c.cut = true
	kept := shorten(s, limit)
	c.total += len(kept)
	return kept + " (" + thousands(int64(len(s)-limit)) + " bytes more)", true
}
