package decode

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The free-form values of an event (contexts, user data, tags, extra,
// …) and its strings with escapes are read here as encoding/json reads
// them into an any (numbers as json.Number) and into a string, from
// bytes scanObject validated already. encoding/json took a tenth of a
// 50 KB event's Summary on its 228 bytes of contexts (its Decoder, its
// scanner run again over validated bytes), and 5,500 instructions on
// each string with an escape, as most source lines have ("\t").

// decodeAny is what json.Decoder with UseNumber decodes v into. v is a
// JSON value that scanObject validated, without whitespace around it:
// decodeAny does not check it again.
func decodeAny(v []byte) any {
	x, _ := anyAt(v, 0)
	return x
}

// anyAt decodes the value at b[i:] (no whitespace before it) and
// returns the offset after it.
func anyAt(b []byte, i int) (any, int) {
	switch b[i] {
	case '{':
		m := map[string]any{}
		i = ws(b, i+1)
		if b[i] == '}' {
			return m, i + 1
		}
		for {
			var k string
			k, i = stringAt(b, i)
			i = ws(b, ws(b, i)+1) // past ':'
			m[k], i = anyAt(b, i)
			i = ws(b, i)
			if b[i] == '}' {
				return m, i + 1
			}
			i = ws(b, i+1) // past ','
		}
	case '[':
		l := []any{}
		i = ws(b, i+1)
		if b[i] == ']' {
			return l, i + 1
		}
		for {
			var x any
			x, i = anyAt(b, i)
			l = append(l, x)
			i = ws(b, i)
			if b[i] == ']' {
				return l, i + 1
			}
			i = ws(b, i+1)
		}
	case '"':
		return stringAt(b, i)
	case 't':
		return true, i + 4
	case 'f':
		return false, i + 5
	case 'n':
		return nil, i + 4
	}
	end, _ := scanNumber(b, i)
	return json.Number(b[i:end]), end
}

// stringAt decodes the string at b[i:] and returns the offset after it.
func stringAt(b []byte, i int) (string, int) {
	end, _ := scanString(b, i)
	return unquote(b[i+1 : end-1]), end
}

// unquote is the string that in, the contents of a valid JSON string
// between its quotes, stands for, as encoding/json reads it: escapes
// replaced, invalid UTF-8 and unpaired surrogates each one U+FFFD.
func unquote(in []byte) string {
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in)
	}
	var sb strings.Builder
	sb.Grow(len(in))
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case c == '\\':
			e := in[i+1]
			i += 2
			switch e {
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r := hex4(in[i:])
				i += 4
				if utf16.IsSurrogate(r) {
					var r2 rune = -1
					if len(in)-i >= 6 && in[i] == '\\' && in[i+1] == 'u' {
						r2 = hex4(in[i+2:])
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
				// An unpaired surrogate is written as U+FFFD.
				sb.WriteRune(r)
			default: // '"', '\\', '/'
				sb.WriteByte(e)
			}
		case c < utf8.RuneSelf:
			sb.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRune(in[i:])
			sb.WriteRune(r)
			i += n
		}
	}
	return sb.String()
}

// hex4 is the value of the four hex digits at the start of h.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
