package errlog

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
const (
	// MaxTrackerEventBytes is the largest event JSON sent to a tracker:
	// Sentry's limit for one event.
	MaxTrackerEventBytes = 1 << 20
	// MaxMailBytes is the largest mail composed (text and HTML parts
	// together); a larger one is cut, with a note saying so.
	MaxMailBytes = 1 << 20
)

// trimLimits is one step of trimming.
type trimLimits struct {
	key     int // bytes of a map key
	value   int // bytes of a string value
	entries int // entries of a map or slice
	frames  int // frames of a stack trace: the first and last halves are kept
	depth   int // nesting of values
}

var trimSteps = []trimLimits{
	{key: 256, value: 16 << 10, entries: 200, frames: 100, depth: 10},
	{key: 128, value: 4 << 10, entries: 100, frames: 50, depth: 6},
	{key: 64, value: 1 << 10, entries: 30, frames: 30, depth: 4},
	{key: 64, value: 200, entries: 10, frames: 16, depth: 2},
}

// fitEvent returns ev's encoding, trimmed if it is over max: the first
// step of trimSteps whose result fits, or, if none does, the event with
// only its message, level, exception types and a note.
func fitEvent(ev *event.Event, max int, encode func(*event.Event) ([]byte, error)) ([]byte, *event.Event, error) {
	b, err := encode(ev)
	if err != nil || len(b) <= max {
		return b, ev, err
	}
	orig := len(b)
	for _, lim := range trimSteps {
		t := trimEvent(ev, lim)
		noteTrim(t, fmt.Sprintf("event cut from %d bytes to fit %d: keys over %d bytes, values over %d bytes, more than %d entries and %d frames were cut",
			orig, max, lim.key, lim.value, lim.entries, lim.frames))
		if b, err = encode(t); err != nil || len(b) <= max {
			return b, t, err
		}
	}
	t := minimalEvent(ev)
	noteTrim(t, fmt.Sprintf("event cut from %d bytes to fit %d: only its message and error types are left", orig, max))
	b, err = encode(t)
	return b, t, err
}

func noteTrim(ev *event.Event, note string) {
	if ev.Extra == nil {
		ev.Extra = map[string]any{}
	}
	ev.Extra["errlog"] = note
}

// minimalEvent keeps what identifies and groups ev.
func minimalEvent(ev *event.Event) *event.Event {
	lim := trimSteps[len(trimSteps)-1]
	c := &event.Event{
		EventID: ev.EventID, Timestamp: ev.Timestamp, Level: ev.Level, Logger: cutString(ev.Logger, lim.value),
		Platform: ev.Platform, Transaction: cutString(ev.Transaction, lim.value),
		Environment: ev.Environment, Release: ev.Release, ServerName: ev.ServerName, SDK: ev.SDK,
	}
	if ev.Logentry != nil {
		c.Logentry = &event.Logentry{Message: cutString(ev.Logentry.Message, lim.value), Formatted: cutString(ev.Logentry.Formatted, lim.value)}
	}
	for i, x := range ev.Exception {
		if i == lim.entries {
			break
		}
		c.Exception = append(c.Exception, event.Exception{Type: cutString(x.Type, lim.value), Value: cutString(x.Value, lim.value)})
	}
	for i, f := range ev.Fingerprint {
		if i == lim.entries {
			break
		}
		c.Fingerprint = append(c.Fingerprint, cutString(f, lim.value))
	}
	return c
}

// trimEvent returns a copy of ev within lim. ev is not modified.
func trimEvent(ev *event.Event, lim trimLimits) *event.Event {
	c := *ev
	c.Logger = cutString(c.Logger, lim.value)
	c.Transaction = cutString(c.Transaction, lim.value)
	if ev.Logentry != nil {
		l := *ev.Logentry
		l.Message = cutString(l.Message, lim.value)
		l.Formatted = cutString(l.Formatted, lim.value)
		if l.Params != nil {
			l.Params, _ = trimValue(l.Params, lim, 0).([]any)
		}
		c.Logentry = &l
	}
	if ev.Exception != nil {
		n := min(len(ev.Exception), lim.entries)
		c.Exception = make([]event.Exception, n)
		// The outermost errors (last) say the most.
		for i, x := range ev.Exception[len(ev.Exception)-n:] {
			x.Type = cutString(x.Type, lim.value)
			x.Value = cutString(x.Value, lim.value)
			x.Stacktrace = trimStack(x.Stacktrace, lim)
			if x.Mechanism != nil {
				m := *x.Mechanism
				m.Description = cutString(m.Description, lim.value)
				m.Data = trimMap(m.Data, lim, 0)
				x.Mechanism = &m
			}
			c.Exception[i] = x
		}
	}
	c.Stacktrace = trimStack(ev.Stacktrace, lim)
	if ev.Request != nil {
		r := *ev.Request
		r.URL = cutString(r.URL, lim.value)
		r.QueryString = cutString(r.QueryString, lim.value)
		r.Data = trimValue(r.Data, lim, 0)
		r.Headers = trimStrings(r.Headers, lim)
		r.Cookies = trimStrings(r.Cookies, lim)
		r.Env = trimStrings(r.Env, lim)
		c.Request = &r
	}
	if ev.Contexts != nil {
		c.Contexts = make(map[string]map[string]any, min(len(ev.Contexts), lim.entries))
		for _, k := range firstKeys(ev.Contexts, lim.entries) {
			c.Contexts[cutString(k, lim.key)] = trimMap(ev.Contexts[k], lim, 1)
		}
	}
	c.Tags = trimStrings(ev.Tags, lim)
	c.Extra = trimMap(ev.Extra, lim, 0)
	if ev.User != nil {
		u := *ev.User
		u.ID, u.Email, u.Username = cutString(u.ID, lim.value), cutString(u.Email, lim.value), cutString(u.Username, lim.value)
		u.Data = trimMap(u.Data, lim, 0)
		c.User = &u
	}
	c.Modules = trimStrings(ev.Modules, lim)
	if len(ev.Fingerprint) > 0 {
		c.Fingerprint = make([]string, 0, min(len(ev.Fingerprint), lim.entries))
		for i, f := range ev.Fingerprint {
			if i == lim.entries {
				break
			}
			c.Fingerprint = append(c.Fingerprint, cutString(f, lim.value))
		}
	}
	return &c
}

// trimStack keeps the first and last frames (where it started, where it
// failed).
func trimStack(st *event.Stacktrace, lim trimLimits) *event.Stacktrace {
	if st == nil {
		return nil
	}
	frames := st.Frames
	if len(frames) > lim.frames {
		head := lim.frames / 2
		frames = append(append([]event.Frame(nil), frames[:head]...), frames[len(frames)-(lim.frames-head):]...)
	} else {
		frames = append([]event.Frame(nil), frames...)
	}
	for i := range frames {
		f := &frames[i]
		f.Function = cutString(f.Function, lim.value)
		f.Module = cutString(f.Module, lim.value)
		f.Filename = cutString(f.Filename, lim.value)
		f.AbsPath = cutString(f.AbsPath, lim.value)
	}
	return &event.Stacktrace{Frames: frames}
}

func trimStrings(m map[string]string, lim trimLimits) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, min(len(m), lim.entries+1))
	for _, k := range firstKeys(m, lim.entries) {
		out[cutString(k, lim.key)] = cutString(m[k], lim.value)
	}
	if n := len(m) - lim.entries; n > 0 {
		out["…"] = strconv.Itoa(n) + " more not shown"
	}
	return out
}

func trimMap(m map[string]any, lim trimLimits, depth int) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, min(len(m), lim.entries+1))
	for _, k := range firstKeys(m, lim.entries) {
		out[cutString(k, lim.key)] = trimValue(m[k], lim, depth+1)
	}
	if n := len(m) - lim.entries; n > 0 {
		out["…"] = strconv.Itoa(n) + " more not shown"
	}
	return out
}

func trimValue(v any, lim trimLimits, depth int) any {
	switch x := v.(type) {
	case string:
		return cutString(x, lim.value)
	case []byte:
		return cutString(string(x), lim.value)
	case map[string]any:
		if depth >= lim.depth {
			return "[" + strconv.Itoa(len(x)) + " entries not shown]"
		}
		return trimMap(x, lim, depth)
	case map[string]string:
		return trimStrings(x, lim)
	case []any:
		if depth >= lim.depth {
			return "[" + strconv.Itoa(len(x)) + " items not shown]"
		}
		n := min(len(x), lim.entries)
		out := make([]any, 0, n+1)
		for _, e := range x[:n] {
			out = append(out, trimValue(e, lim, depth+1))
		}
		if len(x) > n {
			out = append(out, strconv.Itoa(len(x)-n)+" more not shown")
		}
		return out
	case []string:
		n := min(len(x), lim.entries)
		out := make([]any, 0, n+1)
		for _, e := range x[:n] {
			out = append(out, cutString(e, lim.value))
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
