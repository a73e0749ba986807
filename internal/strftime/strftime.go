// Package strftime formats times with the C library's strftime
// directives in the C locale, as Python's time.strftime does and so as
// Python's logging formats asctime: %Y %m %d %H %M %S %y %b %B %a %A %p
// %I %j %z %Z %e %T %F %D %c %x %X %s %u %w %U %W %G %V %g %C %k %l %R %r
// %P %h %n %t %%, and glibc's %E and %O forms read as the plain ones, and
// its flags and field width on the directives that print a number or a
// word ("%-d", "%_H", "%^a", "%#p", "%10A"). An unknown directive is
// printed as it is, as glibc does. One addition: %f is the microseconds
// (datetime.strftime has it; time.strftime prints it literally).
//
// A layout is compiled once; Append then allocates nothing.
package strftime

import (
	"strconv"
	"strings"
	"time"
)

// Layout is a compiled strftime layout. Its zero value formats nothing.
type Layout struct {
	ops       []op
	subsecond bool
}

// Compile compiles a strftime layout, expanding the composite directives
// (%c, %D, %T, ...) into their parts. Every layout compiles.
func Compile(layout string) Layout {
	ops, sub := compile(layout)
	return Layout{ops: ops, subsecond: sub}
}

// Subsecond reports whether the layout prints a part of a second (%f), so
// that text formatted for one second cannot be reused within it.
func (l *Layout) Subsecond() bool { return l.subsecond }

// Append appends t formatted by the layout.
func (l *Layout) Append(dst []byte, t time.Time) []byte { return appendDate(dst, l.ops, t) }

// op is one step of a compiled strftime layout: a directive, or
// literal text when c is 0. pad, width and kase are glibc's flags and
// field width ("%-d", "%_H", "%^a", "%10A"), when the directive has them.
type op struct {
	c     byte
	pad   byte // '-' none, '_' spaces, '0' zeros; 0: the directive's own
	kase  byte // '^' upper case, '#' swapped as glibc does; 0: as it is
	width int  // 0: the directive's own
	lit   string
}

// numeric directives and their padding: pad character and width.
var numeric = map[byte]struct {
	pad   byte
	width int
}{
	'C': {'0', 2}, 'd': {'0', 2}, 'e': {' ', 2}, 'g': {'0', 2}, 'G': {'0', 0}, 'H': {'0', 2}, 'I': {'0', 2},
	'j': {'0', 3}, 'k': {' ', 2}, 'l': {' ', 2}, 'm': {'0', 2}, 'M': {'0', 2}, 's': {'0', 0}, 'S': {'0', 2},
	'u': {'0', 1}, 'U': {'0', 2}, 'V': {'0', 2}, 'w': {'0', 1}, 'W': {'0', 2}, 'y': {'0', 2}, 'Y': {'0', 0},
}

// flagged parses glibc's flags and field width after a '%' at layout[i:]
// and returns them with the index of what follows; ok is false when there
// are none.
func flagged(layout string, i int) (pad, kase byte, width, next int, ok bool) {
	j := i
	for ; j < len(layout) && strings.IndexByte("-_0^#", layout[j]) >= 0; j++ {
		switch c := layout[j]; c {
		case '^', '#':
			kase = c
		default:
			pad = c
		}
	}
	for ; j < len(layout) && layout[j] >= '0' && layout[j] <= '9' && width < 1000; j++ {
		width = width*10 + int(layout[j]-'0')
	}
	return pad, kase, width, j, j > i
}

// compile compiles a strftime layout, expanding the composite
// directives; subsecond reports a %f.
func compile(layout string) (ops []op, subsecond bool) {
	var lit []byte
	var walk func(string)
	walk = func(layout string) {
		for i := 0; i < len(layout); i++ {
			c := layout[i]
			if c != '%' || i+1 >= len(layout) {
				lit = append(lit, c)
				continue
			}
			start := i
			i++
			pad, kase, width, next, hasFlags := flagged(layout, i)
			if hasFlags {
				if next >= len(layout) {
					lit = append(lit, layout[start:]...)
					break
				}
				i = next
			}
			d := layout[i]
			if (d == 'E' || d == 'O') && i+1 < len(layout) && strings.IndexByte("cCxXyYdeHImMSuUVwWy", layout[i+1]) >= 0 {
				i++ // glibc's alternative forms are the plain ones in the C locale
				d = layout[i]
			}
			if hasFlags {
				// glibc's flags and width, on the directives that print
				// one number or one word; elsewhere they are dropped, or
				// the directive is printed as it is (an unknown one).
				_, isNum := numeric[d]
				if isNum || strings.IndexByte("aAbBhpPZ", d) >= 0 {
					if len(lit) > 0 {
						ops = append(ops, op{lit: string(lit)})
						lit = lit[:0]
					}
					if d == 'h' {
						d = 'b'
					}
					ops = append(ops, op{c: d, pad: pad, kase: kase, width: width})
					continue
				}
				if strings.IndexByte("%ntcDxTXFRrz", d) < 0 {
					lit = append(lit, layout[start:i+1]...)
					continue
				}
			}
			switch d {
			case '%':
				lit = append(lit, '%')
			case 'n':
				lit = append(lit, '\n')
			case 't':
				lit = append(lit, '\t')
			case 'c':
				walk("%a %b %e %H:%M:%S %Y")
			case 'D', 'x':
				walk("%m/%d/%y")
			case 'T', 'X':
				walk("%H:%M:%S")
			case 'F':
				walk("%Y-%m-%d")
			case 'R':
				walk("%H:%M")
			case 'r':
				walk("%I:%M:%S %p")
			case 'h':
				walk("%b")
			case 'a', 'A', 'b', 'B', 'C', 'd', 'e', 'f', 'g', 'G', 'H', 'I', 'j', 'k', 'l', 'm', 'M', 'p', 'P', 's', 'S', 'u', 'U', 'V', 'w', 'W', 'y', 'Y', 'z', 'Z':
				if len(lit) > 0 {
					ops = append(ops, op{lit: string(lit)})
					lit = lit[:0]
				}
				ops = append(ops, op{c: d})
				subsecond = subsecond || d == 'f'
			default:
				lit = append(lit, '%', d)
			}
		}
	}
	walk(layout)
	if len(lit) > 0 {
		ops = append(ops, op{lit: string(lit)})
	}
	return ops, subsecond
}

var (
	shortDays   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	shortMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// appendDate appends t formatted by the compiled strftime layout.
func appendDate(dst []byte, ops []op, t time.Time) []byte {
	for _, op := range ops {
		switch {
		case op.c == 0:
			dst = append(dst, op.lit...)
		case op.pad != 0 || op.kase != 0 || op.width != 0:
			dst = appendFlagged(dst, op, t)
		default:
			dst = appendDirective(dst, op.c, t)
		}
	}
	return dst
}

// appendDirective appends t's directive c, as the C locale prints it.
func appendDirective(dst []byte, c byte, t time.Time) []byte {
	switch c {
	case 'a':
		dst = append(dst, shortDays[t.Weekday()]...)
	case 'A':
		dst = append(dst, t.Weekday().String()...)
	case 'b':
		dst = append(dst, shortMonths[t.Month()-1]...)
	case 'B':
		dst = append(dst, t.Month().String()...)
	case 'C':
		dst = append2(dst, t.Year()/100, '0')
	case 'd':
		dst = append2(dst, t.Day(), '0')
	case 'e':
		dst = append2(dst, t.Day(), ' ')
	case 'f':
		dst = appendPadded(dst, t.Nanosecond()/1000, 6)
	case 'G':
		y, _ := t.ISOWeek()
		dst = strconv.AppendInt(dst, int64(y), 10)
	case 'g':
		y, _ := t.ISOWeek()
		dst = append2(dst, (y%100+100)%100, '0')
	case 'H':
		dst = append2(dst, t.Hour(), '0')
	case 'k':
		dst = append2(dst, t.Hour(), ' ')
	case 'I':
		dst = append2(dst, hour12(t.Hour()), '0')
	case 'l':
		dst = append2(dst, hour12(t.Hour()), ' ')
	case 'j':
		dst = appendPadded(dst, t.YearDay(), 3)
	case 'm':
		dst = append2(dst, int(t.Month()), '0')
	case 'M':
		dst = append2(dst, t.Minute(), '0')
	case 'p':
		if t.Hour() < 12 {
			dst = append(dst, "AM"...)
		} else {
			dst = append(dst, "PM"...)
		}
	case 'P':
		if t.Hour() < 12 {
			dst = append(dst, "am"...)
		} else {
			dst = append(dst, "pm"...)
		}
	case 's':
		dst = strconv.AppendInt(dst, t.Unix(), 10)
	case 'S':
		dst = append2(dst, t.Second(), '0')
	case 'u':
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		dst = strconv.AppendInt(dst, int64(wd), 10)
	case 'w':
		dst = strconv.AppendInt(dst, int64(t.Weekday()), 10)
	case 'U':
		dst = append2(dst, (t.YearDay()-1+7-int(t.Weekday()))/7, '0')
	case 'W':
		dst = append2(dst, (t.YearDay()-1+7-(int(t.Weekday())+6)%7)/7, '0')
	case 'V':
		_, w := t.ISOWeek()
		dst = append2(dst, w, '0')
	case 'y':
		dst = append2(dst, (t.Year()%100+100)%100, '0')
	case 'Y':
		dst = strconv.AppendInt(dst, int64(t.Year()), 10)
	case 'z':
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		dst = append(dst, sign)
		dst = append2(dst, off/3600, '0')
		dst = append2(dst, off/60%60, '0')
	case 'Z':
		name, _ := t.Zone()
		dst = append(dst, name...)
	}
	return dst
}

// appendFlagged appends t's directive op.c with glibc's flags and width
// applied, as glibc's strftime applies them (checked against CPython's
// time.strftime on Linux).
func appendFlagged(dst []byte, o op, t time.Time) []byte {
	var tmp [32]byte
	plain := appendDirective(tmp[:0], o.c, t)
	if n, ok := numeric[o.c]; ok {
		digits := plain
		for len(digits) > 1 && (digits[0] == ' ' || digits[0] == '0') {
			digits = digits[1:]
		}
		pad, width := n.pad, n.width
		switch o.pad {
		case '-':
			pad, width = ' ', 0
		case '_':
			pad = ' '
		case '0':
			pad = '0'
		}
		if o.width > 0 {
			width = o.width
		}
		for i := len(digits); i < width; i++ {
			dst = append(dst, pad)
		}
		return append(dst, digits...)
	}
	word := plain
	switch {
	case o.c == 'P':
	case o.kase == '^', o.kase == '#' && strings.IndexByte("aAbB", o.c) >= 0:
		for i, c := range word {
			if c >= 'a' && c <= 'z' {
				word[i] = c - 'a' + 'A'
			}
		}
	case o.kase == '#':
		for i, c := range word {
			if c >= 'A' && c <= 'Z' {
				word[i] = c - 'A' + 'a'
			}
		}
	}
	pad := byte(' ')
	if o.pad == '0' {
		pad = '0'
	}
	for i := len(word); i < o.width; i++ {
		dst = append(dst, pad)
	}
	return append(dst, word...)
}

func hour12(h int) int {
	if h %= 12; h == 0 {
		return 12
	}
	return h
}

// append2 appends n (0 ≤ n) in at least two digits, padded with pad.
func append2(dst []byte, n int, pad byte) []byte {
	if n < 10 {
		return append(dst, pad, byte('0'+n))
	}
	return strconv.AppendInt(dst, int64(n), 10)
}

// appendPadded appends n (0 ≤ n) zero-padded to width digits.
func appendPadded(dst []byte, n, width int) []byte {
	var tmp [20]byte
	b := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}
