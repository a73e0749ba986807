package event

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// GroupKey returns the key that groups e with its repeats (an "issue" in
// Sentry's words): 32 hex digits hashed from, in order of preference, the
// explicit fingerprint; the exception types plus the module and function
// of every in-app frame (line numbers excluded, so that an edit elsewhere
// in a file does not split a group); the log message, parameterized
// (Parameterize), so that "user 123 not found" and "user 456 not found"
// are one group.
//
// A fingerprint may name the default key as "{{ default }}" and the
// parameterized message as "{{ message }}", as Sentry's fingerprints do:
// ["{{ default }}", "tenant-7"] splits the default group by tenant.
func (e *Event) GroupKey() string {
	var buf [512]byte
	b := buf[:0]
	if len(e.Fingerprint) > 0 && !(len(e.Fingerprint) == 1 && isVar(e.Fingerprint[0], "default")) {
		b = appendParts(b, "fingerprint")
		for _, p := range e.Fingerprint {
			switch {
			case isVar(p, "default"):
				b = e.appendDefault(b)
			case isVar(p, "message"):
				b = appendParts(b, "message", Parameterize(e.Message()))
			default:
				b = appendParts(b, p)
			}
		}
	} else {
		b = e.appendDefault(b)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// appendParts appends each part and a NUL after it: the hashed form.
func appendParts(b []byte, parts ...string) []byte {
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return b
}

// isVar reports whether a fingerprint part is the variable "{{ name }}".
func isVar(part, name string) bool {
	p, ok := strings.CutPrefix(part, "{{")
	if !ok {
		return false
	}
	p, ok = strings.CutSuffix(p, "}}")
	return ok && strings.TrimSpace(p) == name
}

// appendDefault appends the default grouping components.
func (e *Event) appendDefault(b []byte) []byte {
	if len(e.Exception) == 0 {
		return appendParts(b, "message", e.Logger, Parameterize(e.Message()))
	}
	b = appendParts(b, "exception")
	for _, ex := range e.Exception {
		b = appendParts(b, ex.Type)
		if ex.Stacktrace == nil {
			continue
		}
		for _, f := range ex.Stacktrace.Frames {
			if f.InApp {
				b = appendParts(b, f.Module, f.Function)
			}
		}
	}
	// An error with no in-app frames groups by its message too, or every
	// *errors.errorString would be one group.
	if !hasInAppFrames(e.Exception) {
		b = appendParts(b, e.Logger, Parameterize(e.Message()))
	}
	return b
}

func hasInAppFrames(exs []Exception) bool {
	for _, ex := range exs {
		if ex.Stacktrace == nil {
			continue
		}
		for _, f := range ex.Stacktrace.Frames {
			if f.InApp {
				return true
			}
		}
	}
	return false
}

// Title returns a one-line summary: "Type: value" of the outermost
// exception, else the message, cut to 200 bytes at a rune boundary.
func (e *Event) Title() string {
	var s string
	if n := len(e.Exception); n > 0 {
		ex := e.Exception[n-1]
		s = ex.Value
		if ex.Type != "" {
			s = ex.Type + ": " + ex.Value
		}
		if m := e.Message(); m != "" && m != ex.Value {
			s = m + ": " + s
		}
	} else {
		s = e.Message()
	}
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
