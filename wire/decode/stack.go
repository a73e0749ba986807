package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/errlog/errlog/event"
)

// The exception and stack trace of an event are read here directly from
// its bytes, already validated by scanObject, in one pass, keeping what
// grouping, the title and the culprit read: encoding/json on them was
// most of ingest's decoding time (55 µs of a 5 KB event's 63). They are
// read as encoding/json reads them into event.Exception, event.Stacktrace
// and event.Frame, but leniently, as Relay normalizes: a number or a
// boolean where a string belongs becomes its text, any other value of the
// wrong type is dropped and recorded as a processing error, and the rest
// is kept; null leaves the zero value; a repeated key is decoded into what
// the first one made (merging objects, and list elements by position).
// Keys match exactly, as in Relay.

// exceptions decodes the exception interface: a list, or an object
// holding it under "values".
func exceptions(raw []byte, full bool, errs *[]event.ProcessingError) ([]event.Exception, error) {
	if isNull(bytes.TrimSpace(raw)) {
		return nil, nil
	}
	raw = single(raw, "type", "value")
	s := &scanner{b: raw, full: full, lenient: true, errs: errs, where: "exception"}
	s.ws()
	var out []event.Exception
	err := s.valuesList("exception", func() error {
		return into(s, &out, "exception values", func(i int, e *event.Exception) error {
			if err := s.exception(e); err != nil {
				return fmt.Errorf("exception %d: %w", i, err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// single returns an interface list sent as one object without "values"
// ({"exception": {"type": "ZeroDivisionError"}}) as a list of that one
// element, as Relay reads it (Values::from_value), when it has one of
// the keys that make an element (Relay discards an exception with neither
// a type nor a value); raw itself otherwise.
func single(raw []byte, keys ...string) []byte {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return raw
	}
	if i := ws(t, 1); bytes.HasPrefix(t[i:], []byte(`"values"`)) {
		// {"values": …} as every SDK writes it, first: no scan of the
		// whole interface (4 µs for 30 frames) on every event's way in.
		if j := ws(t, i+len(`"values"`)); j < len(t) && t[j] == ':' {
			return raw
		}
	}
	elem, values := false, false
	if scanObject(t, func(key, _ []byte) {
		values = values || string(key) == "values"
		for _, k := range keys {
			elem = elem || string(key) == k
		}
	}) != nil || !elem || values {
		return raw
	}
	out := make([]byte, 0, len(t)+2)
	return append(append(append(out, '['), t...), ']')
}

// stacktrace decodes a stack trace's frames into st (nil: a new one); nil
// for null.
func stacktrace(raw []byte, st *event.Stacktrace, full bool, errs *[]event.ProcessingError) (*event.Stacktrace, error) {
	if isNull(bytes.TrimSpace(raw)) {
		return nil, nil
	}
	s := &scanner{b: raw, full: full, lenient: true, errs: errs, where: "stacktrace"}
	s.ws()
	return s.stacktrace(st)
}

// threadStack picks the crashed thread's stack, else the current one's,
// else the first one with a stack. It reads leniently, as encoding/json
// reads what it can: a field of the wrong type is passed over.
func threadStack(raw []byte, full bool, errs *[]event.ProcessingError) *event.Stacktrace {
	if isNull(bytes.TrimSpace(raw)) {
		return nil
	}
	raw = single(raw, "stacktrace")
	s := &scanner{b: raw, lenient: true, full: full, errs: errs, where: "threads"}
	s.ws()
	type thread struct {
		crashed, current bool
		st               *event.Stacktrace
	}
	var list []thread
	s.valuesList("threads", func() error {
		return into(s, &list, "threads values", func(_ int, th *thread) error {
			if ok, err := s.element("thread"); !ok {
				return err
			}
			return s.members(func(k []byte) error {
				switch string(k) {
				case "crashed":
					return s.boolean(&th.crashed, "crashed")
				case "current":
					return s.boolean(&th.current, "current")
				case "stacktrace":
					var err error
					th.st, err = s.stacktrace(th.st)
					return err
				}
				return s.value(1)
			})
		})
	})
	var pick *event.Stacktrace
	for _, th := range list {
		if th.st == nil {
			continue
		}
		if pick == nil || th.crashed || th.current {
			pick = th.st
		}
		if th.crashed {
			break
		}
	}
	return pick
}

// valuesList reads, at s, a list or an object holding one under
// "values": list is called with s at the list (each time: a repeated key
// is decoded over the first), which it must consume.
func (s *scanner) valuesList(name string, list func() error) error {
	switch s.peek() {
	case '[':
		return list()
	case '{':
		return s.members(func(k []byte) error {
			if string(k) != "values" {
				return s.value(1)
			}
			return list()
		})
	}
	return s.mismatch(name, "a list or an object")
}

// into decodes the list at s over *list as encoding/json decodes into a
// slice: element i over (*list)[i] (elem must consume it), then the slice
// cut to the list's length; null makes it nil.
func into[T any](s *scanner, list *[]T, name string, elem func(i int, v *T) error) error {
	switch s.peek() {
	case 'n':
		*list = nil
		return s.value(1)
	case '[':
	default:
		return s.mismatch(name, "a list")
	}
	n := 0
	var drop []int // elements that are not objects: dropped (lenient)
	err := s.items(func(i int) error {
		if i >= len(*list) {
			var zero T
			*list = append(*list, zero)
		}
		n = i + 1
		err := elem(i, &(*list)[i])
		if s.dropElem {
			s.dropElem = false
			drop = append(drop, i)
		}
		return err
	})
	if *list == nil {
		*list = []T{}
	}
	*list = (*list)[:n]
	if len(drop) > 0 {
		kept := (*list)[:0]
		for i, v := range *list {
			if len(drop) > 0 && drop[0] == i {
				drop = drop[1:]
				continue
			}
			kept = append(kept, v)
		}
		*list = kept
	}
	return err
}

func (s *scanner) exception(e *event.Exception) error {
	if ok, err := s.element("exception"); !ok {
		return err
	}
	return s.members(func(k []byte) error {
		var err error
		switch string(k) {
		case "type":
			return s.str(&e.Type, "type")
		case "value":
			if c := s.peek(); c == '{' || c == '[' {
				// Kept as its JSON, as Relay keeps it (JsonLenientString).
				start := s.i
				if err := s.value(1); err != nil {
					return err
				}
				var buf bytes.Buffer
				if json.Compact(&buf, s.b[start:s.i]) == nil {
					e.Value = buf.String()
				}
				return nil
			}
			return s.str(&e.Value, "value")
		case "module":
			return s.str(&e.Module, "module")
		case "stacktrace":
			e.Stacktrace, err = s.stacktrace(e.Stacktrace)
			return err
		case "mechanism":
			start := s.i
			if err := s.value(1); err != nil {
				return err
			}
			v := s.b[start:s.i]
			if isNull(v) {
				e.Mechanism = nil
				return nil
			}
			if v[0] != '{' {
				if s.errs != nil {
					*s.errs = append(*s.errs, invalid(s.where+".mechanism", v, kind(v[0])+", want an object"))
				}
				return nil
			}
			if e.Mechanism == nil {
				e.Mechanism = &event.Mechanism{}
			}
			if err := json.Unmarshal(v, e.Mechanism); err != nil && s.errs != nil {
				// What decodes is kept (encoding/json goes on past a
				// type error).
				*s.errs = append(*s.errs, invalid(s.where+".mechanism", v, err.Error()))
			}
			return nil
		}
		return s.value(1)
	})
}

// stacktrace reads the stack trace at s into st (nil: a new one); nil
// for null.
func (s *scanner) stacktrace(st *event.Stacktrace) (*event.Stacktrace, error) {
	switch s.peek() {
	case 'n':
		return nil, s.value(1)
	case '{':
	default:
		return st, s.mismatch("stacktrace", "an object")
	}
	if st == nil {
		st = &event.Stacktrace{}
	}
	err := s.members(func(k []byte) error {
		if string(k) != "frames" {
			return s.value(1)
		}
		return s.frames(&st.Frames)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// framePool holds lists that frames are decoded into before they are
// copied into a list of their number: growing the list frame by frame
// (each 152 bytes) took a quarter of a stack trace's decoding.
var framePool = sync.Pool{New: func() any { return new([]event.Frame) }}

// maxPooledFrames bounds the lists framePool keeps (14.6 KB): a deeper
// stack's is left to the garbage collector.
const maxPooledFrames = 96

// frames reads a stack trace's frames into *list as into does.
func (s *scanner) frames(list *[]event.Frame) error {
	if s.peek() != '[' {
		// null or a mismatch: into leaves nothing to copy.
		return into(s, list, "frames", func(_ int, f *event.Frame) error { return s.frame(f) })
	}
	p := framePool.Get().(*[]event.Frame)
	tmp := append((*p)[:0], *list...)
	err := into(s, &tmp, "frames", func(_ int, f *event.Frame) error { return s.frame(f) })
	*list = append([]event.Frame{}, tmp...)
	if cap(tmp) <= maxPooledFrames {
		// Elements past its length may be a dropped element's or an
		// earlier list's: none keeps an event's strings alive.
		clear(tmp[:cap(tmp)])
		*p = tmp
		framePool.Put(p)
	}
	return err
}

// element reads past a null list element (ok false, err nil), and drops
// an element that is not an object as a mismatch (ok false, the error);
// ok true: an object, whose members the caller reads.
func (s *scanner) element(what string) (ok bool, err error) {
	switch s.peek() {
	case 'n':
		return false, s.value(1)
	case '{':
		return true, nil
	}
	s.dropElem = true
	return false, s.mismatch(what, "an object")
}

func (s *scanner) frame(f *event.Frame) error {
	if ok, err := s.element("frame"); !ok {
		return err
	}
	return s.members(func(k []byte) error {
		switch string(k) {
		case "function":
			return s.str(&f.Function, "function")
		case "module":
			return s.str(&f.Module, "module")
		case "filename":
			return s.str(&f.Filename, "filename")
		case "abs_path":
			return s.str(&f.AbsPath, "abs_path")
		case "lineno":
			return s.integer(&f.Lineno, "lineno")
		case "colno":
			return s.integer(&f.Colno, "colno")
		case "context_line":
			// Grouping reads it (event.GroupKey).
			return s.str(&f.ContextLine, "context_line")
		case "in_app":
			return s.boolean(&f.InApp, "in_app")
		}
		if s.full {
			switch string(k) {
			case "pre_context":
				return into(s, &f.PreContext, "pre_context", func(_ int, v *string) error { return s.str(v, "pre_context") })
			case "post_context":
				return into(s, &f.PostContext, "post_context", func(_ int, v *string) error { return s.str(v, "post_context") })
			}
		}
		return s.value(1)
	})
}

// integer reads an int, as encoding/json reads one into an int field.
func (s *scanner) integer(dst *int, what string) error {
	switch c := s.peek(); {
	case c == 'n':
		return s.value(1)
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		if err := s.number(); err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, strconv.IntSize)
		if err != nil {
			s.i = start
			return s.mismatch(what, "an integer")
		}
		*dst = int(n)
		return nil
	}
	return s.mismatch(what, "an integer")
}

// members calls f with the key of each member of the object at s, s
// being at the member's value, which f must consume.
func (s *scanner) members(f func(key []byte) error) error {
	s.i++ // {
	s.ws()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		key, err := s.key()
		if err != nil {
			return err
		}
		s.ws()
		if s.peek() != ':' {
			return s.fail("':'")
		}
		s.i++
		s.ws()
		if err := f(key); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("',' or '}'")
		}
	}
}

// items calls f at each element of the array at s, which f must
// consume.
func (s *scanner) items(f func(i int) error) error {
	s.i++ // [
	s.ws()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for i := 0; ; i++ {
		s.ws()
		if err := f(i); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("',' or ']'")
		}
	}
}

// peek returns the byte at s, 0 at the end.
func (s *scanner) peek() byte {
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// str reads the string (or null, which leaves *dst) at s into *dst; a
// lenient scanner takes a number or boolean as its text.
func (s *scanner) str(dst *string, name string) error {
	switch c := s.peek(); {
	case c == 'n':
		return s.value(1)
	case c == '"':
	case s.lenient && (c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f'):
		start := s.i
		if err := s.value(1); err != nil {
			return err
		}
		*dst = string(s.b[start:s.i])
		return nil
	default:
		return s.mismatch(name, "a string")
	}
	start := s.i
	if err := s.scanStr(); err != nil {
		return err
	}
	*dst = unquote(s.b[start+1 : s.i-1])
	return nil
}

// boolean reads true or false (or null, which leaves *dst) at s.
func (s *scanner) boolean(dst *bool, name string) error {
	switch s.peek() {
	case 't':
		*dst = true
	case 'f':
		*dst = false
	case 'n':
	default:
		return s.mismatch(name, "true or false")
	}
	return s.value(1)
}

// isNull reports whether v is null or nothing.
func isNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// mismatch is the error for a value of the wrong type at s; a lenient
// scanner passes over the value instead, recording it in errs.
func (s *scanner) mismatch(name, want string) error {
	got := kind(s.peek())
	if s.lenient {
		start := s.i
		if err := s.value(1); err != nil {
			return err
		}
		if s.errs != nil {
			*s.errs = append(*s.errs, invalid(s.where+"."+name, s.b[start:s.i], got+", want "+want))
		}
		return nil
	}
	return fmt.Errorf("%s is %s, want %s", name, got, want)
}

// kind names the JSON type of a value starting with c.
func kind(c byte) string {
	got := "a number"
	switch c {
	case '"':
		got = "a string"
	case '{':
		got = "an object"
	case '[':
		got = "a list"
	case 't', 'f':
		got = "a boolean"
	case 'n':
		got = "null"
	}
	return got
}

// invalid is the processing error for a value of the wrong type, dropped.
func invalid(name string, val []byte, reason string) event.ProcessingError {
	v := string(val)
	if len(v) > 200 {
		v = v[:200]
		for len(v) > 0 && !utf8.ValidString(v) {
			v = v[:len(v)-1]
		}
		v += "…"
	}
	return event.ProcessingError{Type: "invalid_data", Name: name, Value: v, Reason: reason}
}
