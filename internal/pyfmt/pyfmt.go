// Package pyfmt formats values as Python's printf-style operator does
// ("%-8s" % s, "%05.2f" % x): the s, r, a, d, i, u, x, X, o, e, E, f, F,
// g, G and c conversions with the # 0 - + space flags, a width and a
// precision, and Python's str, repr and ascii of floats and strings.
// errlog's Formatter compiles a logging template into Specs and calls
// these functions for each field; the tests compare them with CPython.
//
// Every function appends to dst and allocates nothing beyond dst's growth.
// A value that does not suit a conversion (a string for %d) prints as %s
// would, with the width: Python raises an error there, and logging must
// not fail.
package pyfmt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Spec is a field's printf specification: %[flags][width][.prec]conv.
type Spec struct {
	Conv  byte  // the conversion letter, one of "sradiuxXoeEfFgGc"
	Flags uint8 // FlagMinus | FlagPlus | FlagSpace | FlagZero | FlagAlt
	Width int   // 0: none
	Prec  int   // -1: none
}

// The flags of a Spec.
const (
	FlagMinus = 1 << iota // '-': left-justify
	FlagPlus              // '+': a sign on positive numbers
	FlagSpace             // ' ': a space on positive numbers
	FlagZero              // '0': pad numbers with zeros after the sign
	FlagAlt               // '#': 0x/0o prefixes, a kept point in floats
)

// MaxWidth bounds widths and precisions: a template is configuration, and
// a typo must not make every record megabytes long.
const MaxWidth = 1 << 16

// Plain reports a spec with no flags, width or precision, which prints a
// value's text unchanged.
func (s *Spec) Plain() bool { return s.Flags == 0 && s.Width == 0 && s.Prec < 0 }

// AppendString appends s as the field sp describes. Conversions
// other than r and a print a string as s does.
func AppendString(dst []byte, s string, sp *Spec) []byte {
	if sp.Plain() && sp.Conv != 'r' && sp.Conv != 'a' {
		return append(dst, s...)
	}
	start := len(dst)
	switch sp.Conv {
	case 'r':
		dst = AppendRepr(dst, s, false)
	case 'a':
		dst = AppendRepr(dst, s, true)
	default:
		dst = append(dst, s...)
	}
	return Finish(dst, start, sp)
}

// Finish applies precision (a cut, in characters) and width to the
// text field dst[start:], as Python does for %s; the 0 flag pads with
// spaces, as Python's does for text.
func Finish(dst []byte, start int, sp *Spec) []byte {
	if sp.Prec >= 0 && sp.Conv != 'c' {
		n, i := 0, start
		for i < len(dst) && n < sp.Prec {
			_, size := utf8.DecodeRune(dst[i:])
			i += size
			n++
		}
		dst = dst[:i]
	}
	if sp.Width > 0 {
		if n := utf8.RuneCount(dst[start:]); n < sp.Width {
			dst = pad(dst, start, sp.Width-n, sp.Flags&FlagMinus != 0, ' ')
		}
	}
	return dst
}

// pad inserts n copies of c before dst[start:], or appends them when left
// (left-justified).
func pad(dst []byte, start, n int, left bool, c byte) []byte {
	end := len(dst)
	for i := 0; i < n; i++ {
		dst = append(dst, c)
	}
	if !left {
		copy(dst[start+n:], dst[start:end])
		for i := start; i < start+n; i++ {
			dst[i] = c
		}
	}
	return dst
}

// AppendInt appends n as the field sp describes: %d, %x and %o as
// Python lays them out, the float conversions of float64(n), %c the
// character n.
func AppendInt(dst []byte, n int64, sp *Spec) []byte {
	var tmp [24]byte
	mag := uint64(n)
	if n < 0 {
		mag = -mag
	}
	switch sp.Conv {
	case 'd', 'i', 'u':
		if sp.Plain() {
			return strconv.AppendInt(dst, n, 10)
		}
		return appendIntDigits(dst, n < 0, strconv.AppendUint(tmp[:0], mag, 10), sp)
	case 'x', 'X', 'o':
		return appendIntDigits(dst, n < 0, appendBase(tmp[:0], mag, sp.Conv), sp)
	case 'e', 'E', 'f', 'F', 'g', 'G':
		return appendFloatSpec(dst, float64(n), sp)
	case 'c':
		if n >= 0 && n <= unicode.MaxRune {
			start := len(dst)
			dst = utf8.AppendRune(dst, rune(n))
			return Finish(dst, start, sp)
		}
	}
	start := len(dst)
	dst = strconv.AppendInt(dst, n, 10)
	return Finish(dst, start, sp)
}

// AppendUint is AppendInt for an unsigned n, which may not fit an int64.
func AppendUint(dst []byte, n uint64, sp *Spec) []byte {
	if n <= math.MaxInt64 {
		return AppendInt(dst, int64(n), sp)
	}
	var tmp [24]byte
	switch sp.Conv {
	case 'd', 'i', 'u':
		return appendIntDigits(dst, false, strconv.AppendUint(tmp[:0], n, 10), sp)
	case 'x', 'X', 'o':
		return appendIntDigits(dst, false, appendBase(tmp[:0], n, sp.Conv), sp)
	case 'e', 'E', 'f', 'F', 'g', 'G':
		return appendFloatSpec(dst, float64(n), sp)
	}
	start := len(dst)
	dst = strconv.AppendUint(dst, n, 10)
	return Finish(dst, start, sp)
}

func appendBase(dst []byte, n uint64, conv byte) []byte {
	if conv == 'o' {
		return strconv.AppendUint(dst, n, 8)
	}
	start := len(dst)
	dst = strconv.AppendUint(dst, n, 16)
	if conv == 'X' {
		for i := start; i < len(dst); i++ {
			if c := dst[i]; 'a' <= c && c <= 'f' {
				dst[i] = c - 'a' + 'A'
			}
		}
	}
	return dst
}

// appendIntDigits lays out an integer as Python's %d, %x and %o do:
// sign, 0x/0o prefix with #, precision as a minimum of digits, and width
// padded with spaces, or zeros after the sign with the 0 flag.
func appendIntDigits(dst []byte, neg bool, digits []byte, sp *Spec) []byte {
	prefix := ""
	if sp.Flags&FlagAlt != 0 {
		switch sp.Conv {
		case 'x':
			prefix = "0x"
		case 'X':
			prefix = "0X"
		case 'o':
			prefix = "0o"
		}
	}
	zeros := 0
	if sp.Prec > len(digits) {
		zeros = sp.Prec - len(digits)
	}
	return layoutNumber(dst, neg, prefix, zeros, digits, sp)
}

// layoutNumber writes sign, prefix, zeros and digits, padded to the width.
func layoutNumber(dst []byte, neg bool, prefix string, zeros int, digits []byte, sp *Spec) []byte {
	sign := byte(0)
	switch {
	case neg:
		sign = '-'
	case sp.Flags&FlagPlus != 0:
		sign = '+'
	case sp.Flags&FlagSpace != 0:
		sign = ' '
	}
	n := len(prefix) + zeros + len(digits)
	if sign != 0 {
		n++
	}
	fill := 0
	if sp.Width > n {
		fill = sp.Width - n
	}
	left := sp.Flags&FlagMinus != 0
	zeroFill := !left && sp.Flags&FlagZero != 0
	if !left && !zeroFill {
		dst = appendRepeat(dst, ' ', fill)
	}
	if sign != 0 {
		dst = append(dst, sign)
	}
	dst = append(dst, prefix...)
	if zeroFill {
		zeros += fill
	}
	dst = appendRepeat(dst, '0', zeros)
	dst = append(dst, digits...)
	if left {
		dst = appendRepeat(dst, ' ', fill)
	}
	return dst
}

func appendRepeat(dst []byte, c byte, n int) []byte {
	for i := 0; i < n; i++ {
		dst = append(dst, c)
	}
	return dst
}

// AppendFloat appends x as the field sp describes: %e, %f and %g as
// Python's, %d of its integer part, and str(x) for the text conversions.
func AppendFloat(dst []byte, x float64, sp *Spec) []byte {
	switch sp.Conv {
	case 'e', 'E', 'f', 'F', 'g', 'G':
		return appendFloatSpec(dst, x, sp)
	case 'd', 'i', 'u':
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			var tmp [32]byte
			t := math.Trunc(x)
			return appendIntDigits(dst, t < 0, strconv.AppendFloat(tmp[:0], math.Abs(t), 'f', 0, 64), sp)
		}
	}
	start := len(dst)
	dst = AppendFloatStr(dst, x)
	return Finish(dst, start, sp)
}

// appendFloatSpec formats x as Python's %e, %f and %g do.
func appendFloatSpec(dst []byte, x float64, sp *Spec) []byte {
	prec := sp.Prec
	if prec < 0 {
		prec = 6
	}
	upper := sp.Conv == 'E' || sp.Conv == 'F' || sp.Conv == 'G'
	lower := sp.Conv | 0x20
	neg := math.Signbit(x) && !math.IsNaN(x)
	abs := math.Abs(x)
	var tmp [64]byte
	var body []byte
	switch {
	case math.IsNaN(x):
		body = append(tmp[:0], "nan"...)
	case math.IsInf(x, 0):
		body = append(tmp[:0], "inf"...)
	case sp.Flags&FlagAlt != 0:
		// The # form keeps the point and trailing zeros; fmt knows it.
		switch lower {
		case 'e':
			body = fmt.Appendf(tmp[:0], "%#.*e", prec, abs)
		case 'f':
			body = fmt.Appendf(tmp[:0], "%#.*f", prec, abs)
		default:
			body = fmt.Appendf(tmp[:0], "%#.*g", max(prec, 1), abs)
		}
	default:
		if lower == 'g' && prec == 0 {
			prec = 1
		}
		body = strconv.AppendFloat(tmp[:0], abs, lower, prec, 64)
	}
	if upper {
		for i, c := range body {
			if 'a' <= c && c <= 'z' {
				body[i] = c - 'a' + 'A'
			}
		}
	}
	return layoutNumber(dst, neg, "", 0, body, sp)
}

// AppendFloatStr appends x as Python's str and repr do: the shortest
// digits that round-trip, in positional notation from 1e-4 to 1e16 (with
// ".0" when integral), else in exponent notation with a two-digit exponent.
func AppendFloatStr(dst []byte, x float64) []byte {
	switch {
	case math.IsNaN(x):
		return append(dst, "nan"...)
	case math.IsInf(x, 1):
		return append(dst, "inf"...)
	case math.IsInf(x, -1):
		return append(dst, "-inf"...)
	}
	var tmp [32]byte
	b := strconv.AppendFloat(tmp[:0], x, 'e', -1, 64) // -d.ddde±XX
	if b[0] == '-' {
		dst = append(dst, '-')
		b = b[1:]
	}
	e := 0
	for b[e] != 'e' {
		e++
	}
	mant, exps := b[:e], b[e+1:]
	exp := 0
	for _, c := range exps[1:] {
		exp = exp*10 + int(c-'0')
	}
	if exps[0] == '-' {
		exp = -exp
	}
	var digits [24]byte
	nd := 0
	for _, c := range mant {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	decpt := exp + 1
	if -4 < decpt && decpt <= 16 {
		switch {
		case decpt <= 0:
			dst = append(dst, '0', '.')
			dst = appendRepeat(dst, '0', -decpt)
			dst = append(dst, digits[:nd]...)
		case decpt >= nd:
			dst = append(dst, digits[:nd]...)
			dst = appendRepeat(dst, '0', decpt-nd)
			dst = append(dst, '.', '0')
		default:
			dst = append(dst, digits[:decpt]...)
			dst = append(dst, '.')
			dst = append(dst, digits[decpt:nd]...)
		}
		return dst
	}
	dst = append(dst, digits[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:nd]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}

// AppendRepr appends s as Python's repr (ascii false) or ascii (true)
// shows a string: in single quotes, or double quotes when s holds a single
// quote and no double one; backslash escapes for the quote, backslashes,
// control and unprintable characters, and with ascii for all non-ASCII.
// Bytes that are not UTF-8 are shown as \xNN.
func AppendRepr(dst []byte, s string, ascii bool) []byte {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	const hex = "0123456789abcdef"
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, '\\', 'x', hex[s[i]>>4], hex[s[i]&15])
		case r == rune(quote) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r < ' ' || r == 0x7f:
			dst = append(dst, '\\', 'x', hex[r>>4], hex[r&15])
		case r < utf8.RuneSelf:
			dst = append(dst, byte(r))
		case ascii || !unicode.IsPrint(r):
			switch {
			case r < 0x100:
				dst = append(dst, '\\', 'x', hex[r>>4], hex[r&15])
			case r < 0x10000:
				dst = append(dst, '\\', 'u')
				for sh := 12; sh >= 0; sh -= 4 {
					dst = append(dst, hex[(r>>uint(sh))&15])
				}
			default:
				dst = append(dst, '\\', 'U')
				for sh := 28; sh >= 0; sh -= 4 {
					dst = append(dst, hex[(r>>uint(sh))&15])
				}
			}
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, quote)
}
