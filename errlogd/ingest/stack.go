package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/errlog/errlog/event"
)

// The exception and stack trace of an event are read here directly from
// its bytes, already validated by scanObject, in one pass, keeping what
// grouping, the title and the culprit read: encoding/json on them was
// most of ingest's decoding time (55 µs of a 5 KB event's 63). Types are
// checked as encoding/json checks them for event.Exception,
// event.Stacktrace and event.Frame (a wrong type is an error; null leaves
// the zero value; the last of duplicate keys wins); keys match exactly.

// exceptions decodes the exception interface: a list, or an object
// holding it under "values".
func exceptions(raw []byte) ([]event.Exception, error) {
	if isNull(bytes.TrimSpace(raw)) {
		return nil, nil
	}
	s := &scanner{b: raw}
	s.ws()
	var out []event.Exception
	err := s.valuesList("exception", func(i int) error {
		out = append(out, event.Exception{})
		if err := s.exception(&out[len(out)-1]); err != nil {
			return fmt.Errorf("exception %d: %w", i, err)
		}
		return nil
	}, func(list bool) {
		out = nil
		if list {
			out = []event.Exception{}
		}
	})
	return out, err
}

// stacktrace decodes a stack trace's frames; nil for null or nothing.
func stacktrace(raw []byte) (*event.Stacktrace, error) {
	if isNull(bytes.TrimSpace(raw)) {
		return nil, nil
	}
	s := &scanner{b: raw}
	s.ws()
	return s.stacktrace()
}

// threadStack picks the crashed thread's stack, else the current one's,
// else the first one with a stack. It is lenient: a thread that does not
// decode is passed over.
func threadStack(raw []byte) *event.Stacktrace {
	if isNull(bytes.TrimSpace(raw)) {
		return nil
	}
	s := &scanner{b: raw}
	s.ws()
	var pick *event.Stacktrace
	done := false
	s.valuesList("threads", func(int) error {
		if done || s.peek() != '{' {
			return s.value(1)
		}
		var crashed, current bool
		var st *event.Stacktrace
		var bad error
		err := s.members(func(k []byte) error {
			var err error
			switch string(k) {
			case "crashed":
				crashed = s.peek() == 't'
			case "current":
				current = s.peek() == 't'
			case "stacktrace":
				start := s.i
				if st, err = s.stacktrace(); err != nil {
					bad = err
					s.i = start
				} else {
					return nil
				}
			}
			return s.value(1)
		})
		if err != nil || bad != nil || st == nil {
			return err
		}
		if pick == nil || crashed || current {
			pick = st
		}
		done = crashed
		return nil
	}, func(bool) { pick, done = nil, false })
	return pick
}

// valuesList reads, at s, a list or an object holding one under
// "values", calling item at each element (which it must consume), and
// start before, with whether there is a list (a later "values" key
// replaces an earlier one).
func (s *scanner) valuesList(name string, item func(i int) error, start func(list bool)) error {
	switch s.peek() {
	case '[':
		start(true)
		return s.items(item)
	case '{':
		return s.members(func(k []byte) error {
			if string(k) != "values" {
				return s.value(1)
			}
			switch s.peek() {
			case 'n':
				start(false)
				return s.value(1)
			case '[':
				start(true)
				return s.items(item)
			}
			return s.typeErr(name+" values", "a list")
		})
	}
	return s.typeErr(name, "a list or an object")
}

func (s *scanner) exception(e *event.Exception) error {
	switch s.peek() {
	case 'n':
		return s.value(1)
	case '{':
	default:
		return s.typeErr("exception", "an object")
	}
	return s.members(func(k []byte) error {
		var err error
		switch string(k) {
		case "type":
			return s.str(&e.Type, "type")
		case "value":
			return s.str(&e.Value, "value")
		case "module":
			return s.str(&e.Module, "module")
		case "stacktrace":
			e.Stacktrace, err = s.stacktrace()
			return err
		case "mechanism":
			start := s.i
			if err := s.value(1); err != nil {
				return err
			}
			e.Mechanism = nil
			if v := s.b[start:s.i]; !isNull(v) {
				var m event.Mechanism
				if err := json.Unmarshal(v, &m); err != nil {
					return err
				}
				e.Mechanism = &m
			}
			return nil
		}
		return s.value(1)
	})
}

// stacktrace reads a stack trace at s; nil for null.
func (s *scanner) stacktrace() (*event.Stacktrace, error) {
	switch s.peek() {
	case 'n':
		return nil, s.value(1)
	case '{':
	default:
		return nil, s.typeErr("stacktrace", "an object")
	}
	st := &event.Stacktrace{}
	err := s.members(func(k []byte) error {
		if string(k) != "frames" {
			return s.value(1)
		}
		st.Frames = nil
		switch s.peek() {
		case 'n':
			return s.value(1)
		case '[':
		default:
			return s.typeErr("frames", "a list")
		}
		st.Frames = []event.Frame{}
		return s.items(func(int) error {
			st.Frames = append(st.Frames, event.Frame{})
			return s.frame(&st.Frames[len(st.Frames)-1])
		})
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (s *scanner) frame(f *event.Frame) error {
	switch s.peek() {
	case 'n':
		return s.value(1)
	case '{':
	default:
		return s.typeErr("frame", "an object")
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
					return s.typeErr("lineno", "an integer")
				}
				f.Lineno = int(n)
				return nil
			}
			return s.typeErr("lineno", "an integer")
		case "in_app":
			switch s.peek() {
			case 't':
				f.InApp = true
			case 'f':
				f.InApp = false
			case 'n':
			default:
				return s.typeErr("in_app", "true or false")
			}
		}
		return s.value(1)
	})
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
		ks := s.i
		if err := s.scanStr(); err != nil {
			return err
		}
		key := s.b[ks+1 : s.i-1]
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

// str reads the string (or null, which leaves *dst) at s into *dst.
func (s *scanner) str(dst *string, name string) error {
	switch s.peek() {
	case 'n':
		return s.value(1)
	case '"':
	default:
		return s.typeErr(name, "a string")
	}
	start := s.i
	if err := s.scanStr(); err != nil {
		return err
	}
	v := s.b[start:s.i]
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		*dst = string(in)
		return nil
	}
	// Escapes, or invalid UTF-8 (which encoding/json turns into U+FFFD).
	return json.Unmarshal(v, dst)
}

// isNull reports whether v is null or nothing.
func isNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

func (s *scanner) typeErr(name, want string) error {
	got := "a number"
	switch s.peek() {
	case '"':
		got = "a string"
	case '{':
		got = "an object"
	case '[':
		got = "a list"
	case 't', 'f':
		got = "a boolean"
	}
	return fmt.Errorf("%s is %s, want %s", name, got, want)
}
