// Package trim cuts events to fit what their peer takes: the tracker's
// limit, mail's.
package trim

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/errlog/errlog/event"
)

// Events are cut to fit what their peer takes, never refused: Sentry
// refuses an event over 1 MiB (its SDKs trim before sending), and a mail
// of many megabytes times out on slow links and blocks those behind it.
// Trimming works on a copy, in steps that cut harder each time, until the
// encoded size fits; each cut is said in the event ("errlog" extra).

// Limits is one step of trimming.
type Limits struct {
	Key     int // bytes of a map key
	Value   int // bytes of a string value
	Entries int // entries of a map or slice
	Frames  int // frames of a stack trace: the first and last halves are kept
	Depth   int // nesting of values
}

// Steps are the steps of trimming, each cutting harder than the one
// before.
var Steps = []Limits{
	{Key: 256, Value: 16 << 10, Entries: 200, Frames: 100, Depth: 10},
	{Key: 128, Value: 4 << 10, Entries: 100, Frames: 50, Depth: 6},
	{Key: 64, Value: 1 << 10, Entries: 30, Frames: 30, Depth: 4},
	{Key: 64, Value: 200, Entries: 10, Frames: 16, Depth: 2},
}

// Fit returns ev's encoding, trimmed if it is over max: the first
// step of Steps whose result fits, or, if none does, the event with
// only its message, level, exception types and a note.
func Fit(ev *event.Event, max int, encode func(*event.Event) ([]byte, error)) ([]byte, *event.Event, error) {
	b, err := encode(ev)
	if err != nil || len(b) <= max {
		return b, ev, err
	}
	orig := len(b)
	for _, lim := range Steps {
		t := Event(ev, lim)
		Note(t, fmt.Sprintf("event cut from %d bytes to fit %d: keys over %d bytes, values over %d bytes, more than %d entries and %d frames were cut",
			orig, max, lim.Key, lim.Value, lim.Entries, lim.Frames))
		if b, err = encode(t); err != nil || len(b) <= max {
			return b, t, err
		}
	}
	t := Minimal(ev)
	Note(t, fmt.Sprintf("event cut from %d bytes to fit %d: only its message and error types are left", orig, max))
	b, err = encode(t)
	return b, t, err
}

// Note says in ev's "errlog" extra how it was cut.
func Note(ev *event.Event, note string) {
	if ev.Extra == nil {
		ev.Extra = map[string]any{}
	}
	ev.Extra["errlog"] = note
}

// Minimal keeps what identifies and groups ev.
func Minimal(ev *event.Event) *event.Event {
	lim := Steps[len(Steps)-1]
	c := &event.Event{
		EventID: ev.EventID, Timestamp: ev.Timestamp, Level: ev.Level, Logger: cutString(ev.Logger, lim.Value),
		Platform: ev.Platform, Transaction: cutString(ev.Transaction, lim.Value),
		Environment: ev.Environment, Release: ev.Release, ServerName: ev.ServerName, SDK: ev.SDK,
	}
	if ev.Logentry != nil {
		c.Logentry = &event.Logentry{Message: cutString(ev.Logentry.Message, lim.Value), Formatted: cutString(ev.Logentry.Formatted, lim.Value)}
	}
	for i, x := range ev.Exception {
		if i == lim.Entries {
			break
		}
		c.Exception = append(c.Exception, event.Exception{Type: cutString(x.Type, lim.Value), Value: cutString(x.Value, lim.Value)})
	}
	for i, f := range ev.Fingerprint {
		if i == lim.Entries {
			break
		}
		c.Fingerprint = append(c.Fingerprint, cutString(f, lim.Value))
	}
	return c
}

// Event returns a copy of ev within lim. ev is not modified.
func Event(ev *event.Event, lim Limits) *event.Event {
	c := *ev
	c.Logger = cutString(c.Logger, lim.Value)
	c.Transaction = cutString(c.Transaction, lim.Value)
	if ev.Logentry != nil {
		l := *ev.Logentry
		l.Message = cutString(l.Message, lim.Value)
		l.Formatted = cutString(l.Formatted, lim.Value)
		if l.Params != nil {
			l.Params, _ = trimValue(l.Params, lim, 0).([]any)
		}
		c.Logentry = &l
	}
	if ev.Exception != nil {
		n := min(len(ev.Exception), lim.Entries)
		c.Exception = make([]event.Exception, n)
		// The outermost errors (last) say the most.
		for i, x := range ev.Exception[len(ev.Exception)-n:] {
			x.Type = cutString(x.Type, lim.Value)
			x.Value = cutString(x.Value, lim.Value)
			x.Stacktrace = trimStack(x.Stacktrace, lim)
			if x.Mechanism != nil {
				m := *x.Mechanism
				m.Description = cutString(m.Description, lim.Value)
				m.Data = trimMap(m.Data, lim, 0)
				x.Mechanism = &m
			}
			c.Exception[i] = x
		}
	}
	c.Stacktrace = trimStack(ev.Stacktrace, lim)
	if ev.Request != nil {
		r := *ev.Request
		r.URL = cutString(r.URL, lim.Value)
		r.QueryString = cutString(r.QueryString, lim.Value)
		r.Data = trimValue(r.Data, lim, 0)
		r.Headers = trimStrings(r.Headers, lim)
		r.Cookies = trimStrings(r.Cookies, lim)
		r.Env = trimStrings(r.Env, lim)
		c.Request = &r
	}
	if ev.Contexts != nil {
		c.Contexts = make(map[string]map[string]any, min(len(ev.Contexts), lim.Entries))
		for _, k := range firstKeys(ev.Contexts, lim.Entries) {
			c.Contexts[cutString(k, lim.Key)] = trimMap(ev.Contexts[k], lim, 1)
		}
	}
	c.Tags = trimStrings(ev.Tags, lim)
	c.Extra = trimMap(ev.Extra, lim, 0)
	if ev.User != nil {
		u := *ev.User
		u.ID, u.Email, u.Username = cutString(u.ID, lim.Value), cutString(u.Email, lim.Value), cutString(u.Username, lim.Value)
		u.Data = trimMap(u.Data, lim, 0)
		c.User = &u
	}
	c.Modules = trimStrings(ev.Modules, lim)
	if len(ev.Fingerprint) > 0 {
		c.Fingerprint = make([]string, 0, min(len(ev.Fingerprint), lim.Entries))
		for i, f := range ev.Fingerprint {
			if i == lim.Entries {
				break
			}
			c.Fingerprint = append(c.Fingerprint, cutString(f, lim.Value))
		}
	}
	return &c
}

// trimStack keeps the first and last frames (where it started, where it
// failed).
func trimStack(st *event.Stacktrace, lim Limits) *event.Stacktrace {
	if st == nil {
		return nil
	}
	frames := st.Frames
	if len(frames) > lim.Frames {
		head := lim.Frames / 2
		frames = append(append([]event.Frame(nil), frames[:head]...), frames[len(frames)-(lim.Frames-head):]...)
	} else {
		frames = append([]event.Frame(nil), frames...)
	}
	for i := range frames {
		f := &frames[i]
		f.Function = cutString(f.Function, lim.Value)
		f.Module = cutString(f.Module, lim.Value)
		f.Filename = cutString(f.Filename, lim.Value)
		f.AbsPath = cutString(f.AbsPath, lim.Value)
	}
	return &event.Stacktrace{Frames: frames}
}

func trimStrings(m map[string]string, lim Limits) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, min(len(m), lim.Entries+1))
	for _, k := range firstKeys(m, lim.Entries) {
		out[cutString(k, lim.Key)] = cutString(m[k], lim.Value)
	}
	if n := len(m) - lim.Entries; n > 0 {
		out["…"] = strconv.Itoa(n) + " more not shown"
	}
	return out
}

func trimMap(m map[string]any, lim Limits, depth int) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, min(len(m), lim.Entries+1))
	for _, k := range firstKeys(m, lim.Entries) {
		out[cutString(k, lim.Key)] = trimValue(m[k], lim, depth+1)
	}
	if n := len(m) - lim.Entries; n > 0 {
		out["…"] = strconv.Itoa(n) + " more not shown"
	}
	return out
}

func trimValue(v any, lim Limits, depth int) any {
	switch x := v.(type) {
	case string:
		return cutString(x, lim.Value)
	case []byte:
		return cutString(string(x), lim.Value)
	case map[string]any:
		if depth >= lim.Depth {
			return "[" + strconv.Itoa(len(x)) + " entries not shown]"
		}
		return trimMap(x, lim, depth)
	case map[string]string:
		return trimStrings(x, lim)
	case []any:
		if depth >= lim.Depth {
			return "[" + strconv.Itoa(len(x)) + " items not shown]"
		}
		n := min(len(x), lim.Entries)
		out := make([]any, 0, n+1)
		for _, e := range x[:n] {
			out = append(out, trimValue(e, lim, depth+1))
		}
		if len(x) > n {
			out = append(out, strconv.Itoa(len(x)-n)+" more not shown")
		}
		return out
	case []string:
		n := min(len(x), lim.Entries)
		out := make([]any, 0, n+1)
		for _, e := range x[:n] {
			out = append(out, cutString(e, lim.Value))
		}
		if len(x) > n {
			out = append(out, strconv.Itoa(len(x)-n)+" more not shown")
		}
		return out
	}
	return v
}

// firstKeys returns up to n of m's keys, sorted, so that what is kept does
// not depend on map order.
func firstKeys[V any](m map[string]V, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// cutString cuts s to at most max bytes, on a rune boundary, saying how
// much was cut.
func cutString(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && i < len(s) && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…[cut " + strconv.Itoa(len(s)-i) + " bytes]"
}
