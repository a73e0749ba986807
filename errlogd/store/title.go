package store

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/errlog/errlog/event"
)

// Title is the title of an event as Sentry words it: "Type: value" of its
// outermost exception (the value's first line), else its message (the
// formatted message when the client sent one, else the template with its
// parameters filled in), else "(no message)". Events of errlog's own
// client keep its title (event.Title: the logged message before the
// error, which says what was being done). Titles are one line of at most
// 200 bytes.
func Title(ev *event.Event) string {
	var s string
	switch {
	case ev.SDK != nil && ev.SDK.Name == "errlog.go":
		s = ev.Title()
	case len(ev.Exception) > 0:
		ex := ev.Exception[len(ev.Exception)-1]
		v, _, _ := strings.Cut(strings.TrimSpace(ex.Value), "\n")
		switch {
		case ex.Type == "":
			s = v
		case v == "":
			s = ex.Type
		default:
			s = ex.Type + ": " + v
		}
		if s == "" {
			s = message(ev)
		}
	default:
		s = message(ev)
	}
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(no message)"
	}
	if len(s) > 200 {
		return truncate(s, 200) + "…"
	}
	return s
}

// message is an event's message for its title: logentry.formatted, else
// logentry.message formatted with its params.
func message(ev *event.Event) string {
	le := ev.Logentry
	if le == nil {
		return ""
	}
	if le.Formatted != "" {
		return le.Formatted
	}
	s, _ := FormatParams(le.Message, le.Params, titleText)
	return s
}

// titleText is how much of a template with its parameters filled in a
// title is made from: more than a title's 200 bytes, for the runs of
// white space that it collapses.
const titleText = 4 << 10

// Culprit is where an event happened, as Sentry names it: the culprit
// the client sent, else the transaction it named (the route or view),
// else the culprit frame's "function (file:line)" without the parts it
// lacks. For errlog's own client, whose transaction is the HTTP route of
// every error in it, the frame comes before the transaction.
func Culprit(ev *event.Event) string {
	c := strings.TrimSpace(ev.ClientCulprit)
	if c == "" && (ev.SDK == nil || ev.SDK.Name != "errlog.go") {
		c = strings.TrimSpace(ev.Transaction)
	}
	if c == "" {
		c = ev.Culprit()
	}
	if c == "" {
		c = strings.TrimSpace(ev.Transaction)
	}
	return truncate(Text(c), 200)
}

// FormatParams fills a log template's parameters in, as the SDKs'
// languages do: Python's %s, %d, %r (any conversion, with flags) and
// %(name)s with a dict, and {} / {0} / {name} placeholders. A
// placeholder without a parameter is left as it is; no params: the
// template.
//
// The text is at most max bytes, cut on a rune boundary, and cut says
// whether it was cut: a template may name a parameter many times
// ("{0}{0}{0}…"), so a 20 KB event can fill in hundreds of megabytes, and
// formatting stops once max bytes are written.
func FormatParams(tmpl string, params []any, max int) (text string, cut bool) {
	if len(params) == 0 || tmpl == "" {
		if len(tmpl) > max {
			return truncate(tmpl, max), true
		}
		return tmpl, false
	}
	var named map[string]any
	if len(params) == 1 && hasNamed(tmpl) {
		named, _ = params[0].(map[string]any)
	}
	var b strings.Builder
	write := func(s string) {
		if room := max - b.Len(); len(s) > room {
			b.WriteString(truncate(s, room))
			cut = true
			return
		}
		b.WriteString(s)
	}
	next := 0
	for i := 0; i < len(tmpl) && !cut; i++ {
		c := tmpl[i]
		switch {
		case c == '%' && i+1 < len(tmpl) && tmpl[i+1] == '%':
			write("%")
			i++
			continue
		case c == '%' && i+1 < len(tmpl) && tmpl[i+1] == '(' && named != nil:
			end := strings.IndexByte(tmpl[i:], ')')
			if end > 0 {
				j := i + end + 1
				j = skipConversion(tmpl, j)
				if j > 0 {
					if v, ok := named[tmpl[i+2:i+end]]; ok {
						write(paramText(v))
						i = j - 1
						continue
					}
				}
			}
		case c == '%' && named == nil:
			if j := skipConversion(tmpl, i+1); j > 0 && next < len(params) {
				write(paramText(params[next]))
				next++
				i = j - 1
				continue
			}
		case c == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end > 0 {
				key := tmpl[i+1 : i+end]
				key, _, _ = strings.Cut(key, ":") // {0:>5}: the format spec is not applied
				var v any
				ok := false
				switch n, err := strconv.Atoi(key); {
				case key == "" && named == nil && next < len(params):
					v, ok = params[next], true
					next++
				case err == nil && named == nil && n >= 0 && n < len(params):
					v, ok = params[n], true
				case named != nil:
					v, ok = named[key]
				}
				if ok {
					write(paramText(v))
					i += end
					continue
				}
			}
		}
		// c is text, and so is what follows up to the next '%' or '{'.
		j := len(tmpl)
		if k := strings.IndexAny(tmpl[i+1:], "%{"); k >= 0 {
			j = i + 1 + k
		}
		write(tmpl[i:j])
		i = j - 1
	}
	return b.String(), cut
}

// hasNamed reports whether a template has named placeholders, %(name)s
// or {name}: then a dict parameter is the names' values (Python's
// "%(x)s" % {…}), else a value of its own ("%s" % {…}).
func hasNamed(tmpl string) bool {
	if strings.Contains(tmpl, "%(") {
		return true
	}
	for i := strings.IndexByte(tmpl, '{'); i >= 0 && i+1 < len(tmpl); {
		if c := tmpl[i+1]; c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return true
		}
		j := strings.IndexByte(tmpl[i+1:], '{')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

// skipConversion returns the index after a printf conversion starting at
// i (flags, width, precision, then a conversion letter), or -1.
func skipConversion(s string, i int) int {
	for i < len(s) && strings.IndexByte("-+ #0123456789.*", s[i]) >= 0 {
		i++
	}
	if i < len(s) && strings.IndexByte("sdifrxXeEgGocuaqvt", s[i]) >= 0 {
		return i + 1
	}
	return -1
}

func paramText(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
