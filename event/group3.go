package event

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What grouping 3 reads differently from grouping 2 (GroupKey).

// saysAnything reports whether a message template has a letter outside
// its placeholders (%s, %(name)s, %-5.2f, %v, {}, {0}, {name}): "%s" and
// "[%s] %s" say nothing themselves, their parameters do, so that Python's
// logger.error("%s", msg) is not one group for every message.
func saysAnything(t string) bool {
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '%':
			i = placeholderEnd(t, i)
		case c == '{':
			if j := strings.IndexByte(t[i:min(len(t), i+65)], '}'); j > 0 {
				i += j
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(t[i:])
			if unicode.IsLetter(r) {
				return true
			}
			i += size - 1
		case isLetter(c):
			return true
		}
	}
	return false
}

// placeholderEnd returns the index of the last byte of the printf-style
// placeholder at t[i] ('%'): "%%", "%s", "%(name)s", "%-5.2f", "%+v";
// i itself when no conversion follows.
func placeholderEnd(t string, i int) int {
	j := i + 1
	if j < len(t) && t[j] == '%' {
		return j
	}
	if j < len(t) && t[j] == '(' {
		k := strings.IndexByte(t[j:min(len(t), j+65)], ')')
		if k < 0 {
			return i
		}
		j += k + 1
	}
	for j < len(t) && strings.IndexByte("-+ #0123456789.*hlLqjzt", t[j]) >= 0 {
		j++
	}
	if j < len(t) && isLetter(t[j]) {
		return j
	}
	return i
}

// maxParamsText bounds the text withParams makes.
const maxParamsText = 1024

// withParams is a log record's message with its parameters: Formatted,
// else the parameters' text in order after the template (Python's SDK
// sends logentry.message "%s" and params, without formatting them), cut
// to maxParamsText bytes.
func (l *Logentry) withParams() string {
	if l.Formatted != "" {
		return truncate(l.Formatted, maxParamsText)
	}
	var b strings.Builder
	b.WriteString(l.Message)
	for _, p := range l.Params {
		if b.Len() >= maxParamsText {
			break
		}
		b.WriteByte(' ')
		switch p := p.(type) {
		case string:
			b.WriteString(p)
		case float64:
			b.WriteString(strconv.FormatFloat(p, 'g', -1, 64))
		default:
			if j, err := json.Marshal(p); err == nil {
				b.Write(j)
			}
		}
	}
	return truncate(b.String(), maxParamsText)
}

// javaName is a JVM class or method name without the parts its code
// generators make up anew at each start, which would make a new group
// after every restart: CGLIB's, Spring's and Guice's
// "$$EnhancerBySpringCGLIB$$1a2b3c", "$$SpringCGLIB$$0" and
// "$$EnhancerByGuice$$ae46b1bf" (any six or more hex digits with a digit
// after "$$"), Hibernate's "$HibernateProxy$Xy7", a lambda's
// "$$Lambda$123/0x0000000800c4b440", javassist's "_$$_jvst3a4_1" and
// "$$_javassist_12", ByteBuddy's and Mockito's "$ByteBuddy$Ab3",
// "$MockitoMock$123", and dynamic proxies' "$Proxy12" (in "jdk.proxy2").
// Each generated part becomes "<auto>".
func javaName(s string) string {
	if strings.IndexByte(s, '$') < 0 && !strings.HasPrefix(s, "jdk.proxy") {
		return s
	}
	for _, g := range generatedJava {
		s = g.cut(s)
	}
	return s
}

// generated is a generated part of a JVM name: marker followed by at
// least min bytes of ok (0: one), with a digit among them when digit.
type generated struct {
	marker string
	ok     func(byte) bool
	min    int
	digit  bool
}

var generatedJava = []generated{
	{marker: "CGLIB$$", ok: func(c byte) bool { return isHex(c) || c == '_' }},
	{marker: "$$", ok: isHex, min: 6, digit: true},
	{marker: "$HibernateProxy$", ok: isAlnum},
	{marker: "$ByteBuddy$", ok: isAlnum},
	{marker: "$MockitoMock$", ok: isAlnum},
	{marker: "$$Lambda", ok: func(c byte) bool { return isAlnum(c) || c == '$' || c == '/' }},
	{marker: "_$$_jvst", ok: func(c byte) bool { return isHex(c) || c == '_' }},
	{marker: "$$_javassist", ok: func(c byte) bool { return isDigit(c) || c == '_' }},
	{marker: "$Proxy", ok: isDigit},
	{marker: "jdk.proxy", ok: isDigit},
}

func isAlnum(c byte) bool { return isLetter(c) || isDigit(c) }

// cut replaces each run of g.ok after g.marker in s with "<auto>".
func (g generated) cut(s string) string {
	i := strings.Index(s, g.marker)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		j := i + len(g.marker)
		k := j
		for k < len(s) && g.ok(s[k]) {
			k++
		}
		b.WriteString(s[:j])
		if k > j && k-j >= g.min && (!g.digit || strings.IndexFunc(s[j:k], isDigitRune) >= 0) {
			b.WriteString("<auto>")
			s = s[k:]
		} else {
			s = s[j:]
		}
		i = strings.Index(s, g.marker)
	}
	b.WriteString(s)
	return b.String()
}
