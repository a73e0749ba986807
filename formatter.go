package errlog

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/errlog/errlog/event"
)

// Formatter renders records with a Python logging.Formatter template
// ("%"-style), so that the format string of a Python project's log file
// or error mail works unchanged. A template is compiled once by
// NewFormatter; formatting then walks a slice of operations and, after
// warm-up, allocates nothing. A Formatter is safe for concurrent use.
//
// # Fields
//
// A field is %(key)s with, as in Python, optional flags (# 0 - + space),
// width and precision: %(levelname)-8s, %(lineno)05d, %(message).200s.
// %% is a literal %. The conversions are Python's: s, r and a; d, i and u;
// x, X and o; e, E, f, F, g and G; c.
//
//	asctime          the record's time in local time: dateFormat, or
//	                 Python's default "2003-07-08 16:49:45,896"
//	created          seconds since the Unix epoch, a float
//	msecs            the millisecond part of created, a float
//	relativeCreated  milliseconds since the program started, a float
//	levelname        DEBUG, INFO, WARNING, ERROR, CRITICAL (slog's ERROR+4
//	                 and above), or "Level N" for the levels in between, as
//	                 Python names a level it does not know
//	levelno          Python's number, 20 + 2.5 × the slog level rounded
//	                 down: DEBUG 10, INFO 20, WARN 30, ERROR 40, ERROR+4 50
//	pathname         the full path of the source file of the logging call
//	filename         its base name
//	module           its base name without ".go"
//	funcName         the function's bare name: "loginHandler", not
//	                 "main.loginHandler"; "M" for a method (*T).M; a
//	                 closure keeps the name of the function it is in,
//	                 "loginHandler.func1", since "func1" alone says nothing
//	lineno           the line of the logging call
//	message, msg     the record's message
//	name             the value of a "logger" attribute, else "root", as
//	                 Python calls its root logger
//	process          the process id
//	processName      the program's name (Python says "MainProcess")
//	thread,          "-": Go has no cheap goroutine id and a goroutine no
//	threadName       name, so these print as a field Python did not collect
//	url, method,     the request the record was logged in (Middleware);
//	remote_addr      outside a request, an attribute of that key
//
// Any other key names a record attribute, attributes in groups by their
// dotted path: %(user_id)s, %(req.id)d. An attribute a template names is
// not repeated at the end of the line; the others follow the formatted
// line as " key=value", quoted where slog's TextHandler would quote them.
//
// # Where errlog differs from Python
//
// Python raises an error for a record that does not fit the template;
// errlog never fails on a record, because logging must not take an
// application down:
//
//   - A missing field (an attribute the record does not have, asctime of a
//     record with no time) prints "-", as in access logs.
//   - A conversion that does not suit the value (%(message)d, %(x)x of a
//     float) formats the value as %s would, with the width.
//   - A source location that is unknown prints as Python prints it:
//     "(unknown file)", line 0, "(unknown function)".
//
// Attribute values are Go values and print as Go prints them: true rather
// than True. %r is Python's repr for strings, quoted and escaped as
// Python quotes them ('a\tb', "it's"), and the same as %s for other
// values; %a is ascii(), repr with non-ASCII characters escaped.
//
// A record's text ends in exactly one newline, which Python leaves to the
// handler: newlines at the end of a message are dropped, so that a
// message ending in one leaves no blank line in the file.
//
// dateFormat takes the C library's strftime directives, as Python's
// time.strftime does, in the C locale: %Y %m %d %H %M %S %y %b %B %a %A
// %p %I %j %z %Z %e %T %F %D %c %x %X %s %u %w %U %W %G %V %g %C %k %l %R
// %r %P %h %n %t %%. An unknown directive is printed as it is, as glibc
// does. One addition: %f is the microseconds (Python's time.strftime,
// which logging uses, prints "%f" literally; datetime.strftime has it).
// As in Python, the ",msecs" suffix is only added to the default format.
//
// # Stack traces
//
// The file sink passes the stack of records at or above its ErrorLevel;
// Formatter appends it after the line, as Python appends the traceback,
// under the header "Stack (most recent call first):" (Python's
// stack_info header says "last": Go prints the innermost call first).
// Format, which has no stack, appends none.
type Formatter struct {
	format, dateFormat string

	ops  []tmplOp
	keys []string // the attribute keys the template names; op.key indexes it
	// reqKey marks keys that the request fills (url, method, remote_addr):
	// inside a request an attribute of that key stays in the line's tail.
	reqKey []bool

	dateOps   []dateOp
	msecs     bool           // Python's default asctime: ",mmm" after the second
	subsecond bool           // dateFormat has %f: no per-second cache
	loc       *time.Location // nil: time.Local; tests set one
	date      atomic.Pointer[dateText]
}

// dateText is asctime formatted for one second, shared by every record
// of that second: formatting a date costs more than the rest of a line.
type dateText struct {
	sec  int64
	text string
}

type tmplField uint8

const (
	fieldLiteral tmplField = iota
	fieldAsctime
	fieldCreated
	fieldMsecs
	fieldRelativeCreated
	fieldLevelname
	fieldLevelno
	fieldPathname
	fieldFilename
	fieldModule
	fieldFuncName
	fieldLineno
	fieldMessage
	fieldName
	fieldProcess
	fieldProcessName
	fieldThread
	fieldURL
	fieldMethod
	fieldRemoteAddr
	fieldAttr
)

var tmplFields = map[string]tmplField{
	"asctime":         fieldAsctime,
	"created":         fieldCreated,
	"msecs":           fieldMsecs,
	"relativeCreated": fieldRelativeCreated,
	"levelname":       fieldLevelname,
	"levelno":         fieldLevelno,
	"pathname":        fieldPathname,
	"filename":        fieldFilename,
	"module":          fieldModule,
	"funcName":        fieldFuncName,
	"lineno":          fieldLineno,
	"message":         fieldMessage,
	"msg":             fieldMessage,
	"name":            fieldName,
	"process":         fieldProcess,
	"processName":     fieldProcessName,
	"thread":          fieldThread,
	"threadName":      fieldThread,
	"url":             fieldURL,
	"method":          fieldMethod,
	"remote_addr":     fieldRemoteAddr,
}

// tmplOp is one step of a compiled template: literal text or one field.
type tmplOp struct {
	field tmplField
	text  string // the literal text
	key   int    // index into Formatter.keys; -1 when the field has none
	spec  tmplSpec
}

// tmplSpec is a field's printf specification.
type tmplSpec struct {
	conv  byte
	flags uint8
	width int
	prec  int // -1: none
}

const (
	flagMinus = 1 << iota
	flagPlus
	flagSpace
	flagZero
	flagAlt
)

// maxWidth bounds widths and precisions: a template is configuration, and
// a typo must not make every record megabytes long.
const maxWidth = 1 << 16

func (s *tmplSpec) plain() bool { return s.flags == 0 && s.width == 0 && s.prec < 0 }

// formatError is NewFormatter's error: where in the template, and what.
type formatError struct {
	pos int
	msg string
}

func (e *formatError) Error() string {
	return "errlog: format: position " + strconv.Itoa(e.pos) + ": " + e.msg
}

// Python's default asctime is this layout plus ",%03d" milliseconds.
const pyDefaultDateFormat = "%Y-%m-%d %H:%M:%S"

// NewFormatter compiles a Python logging template and its strftime date
// format. An empty format is DefaultFormat; an empty dateFormat is
// Python's default, "2003-07-08 16:49:45,896". A template Python would
// reject at format time is an error here, naming the 0-based byte position
// of the '%' that starts the bad field.
func NewFormatter(format, dateFormat string) (*Formatter, error) {
	return newFormatter(format, dateFormat, nil)
}

func newFormatter(format, dateFormat string, loc *time.Location) (*Formatter, error) {
	if format == "" {
		format = DefaultFormat
	}
	f := &Formatter{format: format, dateFormat: dateFormat, loc: loc}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			f.ops = append(f.ops, tmplOp{field: fieldLiteral, text: string(lit), key: -1})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			lit = append(lit, format[i:]...)
			break
		}
		lit = append(lit, format[i:i+j]...)
		i += j
		if i+1 < len(format) && format[i+1] == '%' {
			lit = append(lit, '%')
			i += 2
			continue
		}
		op, key, end, err := parseField(format, i)
		if err != nil {
			return nil, err
		}
		flush()
		op.key = -1
		if key != "" {
			op.key = f.keyIndex(key, op.field)
		}
		f.ops = append(f.ops, op)
		i = end
	}
	flush()

	layout := dateFormat
	if layout == "" {
		layout, f.msecs = pyDefaultDateFormat, true
	}
	f.dateOps, f.subsecond = compileDate(layout)
	return f, nil
}

// keyIndex returns the index of the attribute key that field reads,
// adding it on first use.
func (f *Formatter) keyIndex(key string, field tmplField) int {
	for i, k := range f.keys {
		if k == key {
			return i
		}
	}
	f.keys = append(f.keys, key)
	f.reqKey = append(f.reqKey, field == fieldURL || field == fieldMethod || field == fieldRemoteAddr)
	return len(f.keys) - 1
}

// parseField parses the field that starts with the '%' at format[pos]. It
// returns the op, the attribute key the field reads ("" for none) and the
// index just past the field.
func parseField(format string, pos int) (op tmplOp, key string, end int, err error) {
	fail := func(msg string) (tmplOp, string, int, error) {
		return tmplOp{}, "", 0, &formatError{pos: pos, msg: msg}
	}
	i := pos + 1
	if i >= len(format) {
		return fail("'%' at the end of the template (write %% for a literal %)")
	}
	if format[i] != '(' {
		return fail(fmt.Sprintf("%s without a field name (write %%(name)%c, or %%%% for a literal %%)", quoteField(format[pos:i+1]), format[i]))
	}
	i++
	start := i
	for i < len(format) && format[i] != ')' {
		if c := format[i]; c == '%' || c == '(' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		i++
	}
	if i >= len(format) {
		return fail("unclosed field name in " + quoteField(format[pos:i]))
	}
	if format[i] != ')' {
		return fail("unclosed field name in " + quoteField(format[pos:i+1]) + " (a name ends with ')' and has no spaces, '%' or '(')")
	}
	name := format[start:i]
	if name == "" {
		return fail("empty field name in " + quoteField(format[pos:min(len(format), i+2)]))
	}
	i++
	op.spec.prec = -1
	for ; i < len(format); i++ {
		switch format[i] {
		case '-':
			op.spec.flags |= flagMinus
		case '+':
			op.spec.flags |= flagPlus
		case ' ':
			op.spec.flags |= flagSpace
		case '0':
			op.spec.flags |= flagZero
		case '#':
			op.spec.flags |= flagAlt
		default:
			goto width
		}
	}
width:
	if i < len(format) && format[i] == '*' {
		return fail("'*' width in " + quoteField(format[pos:i+1]) + " is not supported: a field's width must be a number")
	}
	for ; i < len(format) && '0' <= format[i] && format[i] <= '9'; i++ {
		op.spec.width = op.spec.width*10 + int(format[i]-'0')
		if op.spec.width > maxWidth {
			return fail(fmt.Sprintf("width in %s is larger than %d", quoteField(format[pos:i+1]), maxWidth))
		}
	}
	if i < len(format) && format[i] == '.' {
		i++
		op.spec.prec = 0
		if i < len(format) && format[i] == '*' {
			return fail("'*' precision in " + quoteField(format[pos:i+1]) + " is not supported: a field's precision must be a number")
		}
		for ; i < len(format) && '0' <= format[i] && format[i] <= '9'; i++ {
			op.spec.prec = op.spec.prec*10 + int(format[i]-'0')
			if op.spec.prec > maxWidth {
				return fail(fmt.Sprintf("precision in %s is larger than %d", quoteField(format[pos:i+1]), maxWidth))
			}
		}
	}
	if i >= len(format) {
		return fail("missing conversion after " + quoteField(format[pos:i]) + " (as in %(" + name + ")s)")
	}
	c := format[i]
	if strings.IndexByte("sradiuxXoeEfFgGc", c) < 0 {
		r, size := utf8.DecodeRuneInString(format[i:])
		if r == utf8.RuneError {
			size = 1
		}
		return fail(fmt.Sprintf("unsupported conversion %q in %s", r, quoteField(format[pos:i+size])))
	}
	op.spec.conv = c
	op.field = fieldAttr
	if fl, ok := tmplFields[name]; ok {
		op.field = fl
	}
	switch op.field {
	case fieldAttr:
		key = name
	case fieldName:
		key = "logger"
	case fieldURL, fieldMethod, fieldRemoteAddr:
		key = name
	}
	return op, key, i + 1, nil
}

// quoteField shows a piece of template in an error message; Go quoting
// only where the text needs it, so that "%(x)q" reads as written.
func quoteField(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

// Format returns r formatted, ending in "\n". Attributes the template
// does not name follow the line as " key=value". It appends no stack:
// capturing one is the handler's business.
func (f *Formatter) Format(r slog.Record) string {
	bp := getTmplBuf()
	b := f.appendRecord(*bp, &r, nil, nil)
	s := string(b)
	*bp = b
	putTmplBuf(bp)
	return s
}

// AppendFormat appends r formatted, as Format returns it, to dst.
func (f *Formatter) AppendFormat(dst []byte, r slog.Record) []byte {
	return f.appendRecord(dst, &r, nil, nil)
}

// FormatEvent formats an event, for mail bodies: the same template over
// ev. asctime is ev.Timestamp in local time; levelname and levelno follow
// ev.Level (fatal is CRITICAL); message is ev.Message(); the source fields
// describe ev.CulpritFrame(): the innermost in-app frame, else the last one;
// name is ev.Logger; url, method and remote_addr come from ev.Request
// (remote_addr from its REMOTE_ADDR environment entry); any other key
// reads ev.Extra, nested maps by dotted path. ev.Extra is not repeated at
// the end of the line: a mail lists it in full. The event's stack trace
// follows the line as a record's does.
func (f *Formatter) FormatEvent(ev *event.Event) string {
	in := tmplInput{
		t:     ev.Timestamp,
		level: levelOfEvent(ev.Level),
		msg:   ev.Message(),
	}
	if fr, ok := ev.CulpritFrame(); ok {
		in.src = sourceOfFrame(fr)
	}
	if rq := ev.Request; rq != nil {
		in.req = &requestInfo{Method: rq.Method, URL: rq.URL, RemoteAddr: rq.Env["REMOTE_ADDR"]}
	}
	in.vals = make([]foundValue, len(f.keys))
	for i, k := range f.keys {
		if k == "logger" && ev.Logger != "" {
			in.vals[i] = foundValue{v: slog.StringValue(ev.Logger), ok: true}
			continue
		}
		if v, ok := lookupExtra(ev.Extra, k); ok {
			in.vals[i] = foundValue{v: slog.AnyValue(v), ok: true}
		}
	}
	b := endLine(f.appendLine(nil, &in), 0)
	b = appendStackTrace(b, ev.Frames())
	return string(b)
}

// lookupExtra finds key in extra, or by its dotted path in nested maps.
func lookupExtra(extra map[string]any, key string) (any, bool) {
	if v, ok := extra[key]; ok {
		return v, true
	}
	for i := 0; i < len(key); i++ {
		if key[i] != '.' {
			continue
		}
		if m, ok := extra[key[:i]].(map[string]any); ok {
			if v, ok := lookupExtra(m, key[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

func levelOfEvent(l event.Level) slog.Level {
	switch l {
	case event.LevelDebug:
		return slog.LevelDebug
	case event.LevelInfo:
		return slog.LevelInfo
	case event.LevelWarning, "warn":
		return slog.LevelWarn
	case event.LevelFatal, "critical":
		return slog.LevelError + 4
	}
	return slog.LevelError
}

// stackHeader introduces the stack trace after a line.
const stackHeader = "Stack (most recent call first):\n"

// appendStackTrace appends frames (caller to callee) under stackHeader,
// innermost first; nothing when there are none.
func appendStackTrace(dst []byte, frames []event.Frame) []byte {
	if len(frames) == 0 {
		return dst
	}
	dst = append(dst, stackHeader...)
	return appendStack(dst, frames, "  ", true)
}

// preformatted is what WithAttrs and WithGroup added to a sink that
// formats with a Formatter, ready to be copied into each line. It is
// never modified once built, so derived handlers can share it.
type preformatted struct {
	// prefix is the dotted path of the open groups, "g1.g2.", for the
	// attributes that come later.
	prefix string
	// text holds " key=value" for each attribute the template does not
	// name.
	text []byte
	// named holds the attributes the template names, oldest first.
	named []namedAttr
}

type namedAttr struct {
	key   int // index into Formatter.keys
	value slog.Value
	// text is " key=value", written to the tail when a request fills the
	// field the attribute would have filled.
	text string
}

// withAttrs returns p (which may be nil) with attrs added.
func (f *Formatter) withAttrs(p *preformatted, attrs []slog.Attr) *preformatted {
	q := &preformatted{}
	if p != nil {
		q.prefix, q.text, q.named = p.prefix, slices.Clip(p.text), slices.Clip(p.named)
	}
	w := attrWalker{f: f}
	for _, a := range attrs {
		q.text = w.collectPre(q, q.text, []byte(q.prefix), a)
	}
	return q
}

// withGroup returns p (which may be nil) with group name opened.
func (f *Formatter) withGroup(p *preformatted, name string) *preformatted {
	q := &preformatted{prefix: name + "."}
	if p != nil {
		q.prefix = p.prefix + name + "."
		q.text, q.named = slices.Clip(p.text), slices.Clip(p.named)
	}
	return q
}

// foundValue is the value of one named attribute for one record.
type foundValue struct {
	v  slog.Value
	ok bool
}

// tmplInput is everything a template can print, from a record or an event.
type tmplInput struct {
	t     time.Time // zero: no time
	level slog.Level
	msg   string
	src   *pcSource // nil: unknown
	req   *requestInfo
	vals  []foundValue // by key index
}

// maxStackKeys is how many named attributes are looked up without
// allocating.
const maxStackKeys = 8

// appendRecord appends r formatted: the line, the attributes the template
// does not name (those of pre, then r's), "\n", and the stack of x.
func (f *Formatter) appendRecord(dst []byte, r *slog.Record, pre *preformatted, x *recordExtras) []byte {
	in := tmplInput{t: r.Time, level: r.Level, msg: r.Message}
	if r.PC != 0 {
		in.src = sourceOf(r.PC)
	}
	if x != nil {
		in.req = x.req
	}
	// The scratch space lives on the stack: the walker's methods take
	// and return slices rather than store them, so nothing escapes.
	var vals [maxStackKeys]foundValue
	var kb [64]byte
	w := attrWalker{f: f, req: in.req}
	if n := len(f.keys); n > 0 {
		if n <= maxStackKeys {
			in.vals = vals[:n]
		} else {
			in.vals = make([]foundValue, n)
		}
		if pre != nil {
			for i := range pre.named {
				na := &pre.named[i]
				if !f.reqKey[na.key] || in.req == nil {
					in.vals[na.key] = foundValue{v: na.value, ok: true}
				}
			}
		}
		if r.NumAttrs() > 0 {
			key := kb[:0]
			if pre != nil {
				key = append(key, pre.prefix...)
			}
			r.Attrs(func(a slog.Attr) bool {
				key = w.collect(in.vals, key, a)
				return true
			})
		}
	}
	start := len(dst)
	dst = f.appendLine(dst, &in)
	if pre != nil {
		dst = append(dst, pre.text...)
		if in.req != nil {
			for i := range pre.named {
				if na := &pre.named[i]; f.reqKey[na.key] {
					dst = append(dst, na.text...)
				}
			}
		}
	}
	if r.NumAttrs() > 0 {
		key := kb[:0]
		if pre != nil {
			key = append(key, pre.prefix...)
		}
		r.Attrs(func(a slog.Attr) bool {
			dst, key = w.appendTail(dst, key, a)
			return true
		})
	}
	dst = endLine(dst, start)
	if x != nil {
		dst = appendStackTrace(dst, x.stack)
	}
	return dst
}

// endLine ends the line that starts at dst[start] with exactly one
// newline: a message that ends in one must not leave a blank line.
func endLine(dst []byte, start int) []byte {
	for len(dst) > start && (dst[len(dst)-1] == '\n' || dst[len(dst)-1] == '\r') {
		dst = dst[:len(dst)-1]
	}
	return append(dst, '\n')
}

// attrWalker walks attributes with their dotted keys, to find those the
// template names and to write the others.
type attrWalker struct {
	f   *Formatter
	req *requestInfo
}

// named returns the index of the field the attribute with dotted key
// fills, or -1: an attribute the template names is not repeated, except
// that inside a request the request fills url, method and remote_addr.
func (w attrWalker) named(key []byte) int {
	for i, k := range w.f.keys {
		if string(key) == k {
			if w.f.reqKey[i] && w.req != nil {
				return -1
			}
			return i
		}
	}
	return -1
}

// collect stores a's value in vals when the template names it; key is
// the dotted path of a's group, "g." or "", and is returned for reuse.
func (w attrWalker) collect(vals []foundValue, key []byte, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if isEmptyAttr(a) {
		return key
	}
	n := len(key)
	key = append(key, a.Key...)
	if i := w.named(key); i >= 0 {
		vals[i] = foundValue{v: a.Value, ok: true}
	} else if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			key = append(key, '.')
		}
		for _, g := range a.Value.Group() {
			key = w.collect(vals, key, g)
		}
	}
	return key[:n]
}

// collectPre sorts a WithAttrs attribute into p.named or the returned text.
func (w attrWalker) collectPre(p *preformatted, text, key []byte, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if isEmptyAttr(a) {
		return text
	}
	key = append(key, a.Key...)
	i := -1
	for j, k := range w.f.keys {
		if string(key) == k {
			i = j
		}
	}
	if i >= 0 {
		var b []byte
		if w.f.reqKey[i] {
			b = appendTextAttr(nil, key, a.Value)
		}
		p.named = append(p.named, namedAttr{key: i, value: a.Value, text: string(b)})
		return text
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			key = append(key, '.')
		}
		for _, g := range a.Value.Group() {
			text = w.collectPre(p, text, key, g)
		}
		return text
	}
	return appendTextAttr(text, key, a.Value)
}

// appendTail appends " key=value" for a unless the template names it.
func (w attrWalker) appendTail(dst, key []byte, a slog.Attr) ([]byte, []byte) {
	a.Value = a.Value.Resolve()
	if isEmptyAttr(a) {
		return dst, key
	}
	n := len(key)
	key = append(key, a.Key...)
	switch {
	case len(w.f.keys) > 0 && w.named(key) >= 0:
	case a.Value.Kind() == slog.KindGroup:
		if a.Key != "" {
			key = append(key, '.')
		}
		for _, g := range a.Value.Group() {
			dst, key = w.appendTail(dst, key, g)
		}
	default:
		dst = appendTextAttr(dst, key, a.Value)
	}
	return dst, key[:n]
}

// isEmptyAttr reports whether slog's rules drop a: an attribute with no
// key and no value, or a group with no attributes.
func isEmptyAttr(a slog.Attr) bool {
	if a.Value.Kind() == slog.KindGroup {
		return len(a.Value.Group()) == 0
	}
	return a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil
}

// appendTextAttr appends " key=value" as slog's TextHandler writes it.
func appendTextAttr(dst, key []byte, v slog.Value) []byte {
	dst = append(dst, ' ')
	if needsQuoting(key) {
		dst = strconv.AppendQuote(dst, string(key))
	} else {
		dst = append(dst, key...)
	}
	dst = append(dst, '=')
	return appendTextValue(dst, v)
}

// appendTextValue appends v as slog's TextHandler writes a value, except
// that values of kind Any go through appendSafeText, which neither panics
// nor loops on a cyclic value.
func appendTextValue(dst []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); needsQuoting(s) {
			return strconv.AppendQuote(dst, s)
		}
		return append(dst, v.String()...)
	case slog.KindInt64:
		return strconv.AppendInt(dst, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(dst, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(dst, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(dst, v.Bool())
	case slog.KindDuration:
		return appendDuration(dst, v.Duration())
	case slog.KindTime:
		return appendRFC3339Millis(dst, v.Time())
	case slog.KindGroup:
		start := len(dst)
		dst = appendGroupText(dst, v.Group())
		return quoteRegion(dst, start)
	}
	start := len(dst)
	if b, ok := v.Any().([]byte); ok {
		return strconv.AppendQuote(dst, string(b))
	}
	dst = appendSafeText(dst, v.Any())
	return quoteRegion(dst, start)
}

// quoteRegion quotes dst[start:] when slog would quote it.
func quoteRegion(dst []byte, start int) []byte {
	if !needsQuoting(dst[start:]) {
		return dst
	}
	s := string(dst[start:])
	return strconv.AppendQuote(dst[:start], s)
}

// appendGroupText writes a group named in a template: "k=v k2=v2".
func appendGroupText(dst []byte, attrs []slog.Attr) []byte {
	first := true
	for _, a := range attrs {
		a.Value = a.Value.Resolve()
		if isEmptyAttr(a) {
			continue
		}
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		if a.Value.Kind() == slog.KindGroup {
			dst = append(dst, a.Key...)
			dst = append(dst, '=', '{')
			dst = appendGroupText(dst, a.Value.Group())
			dst = append(dst, '}')
			continue
		}
		dst = append(dst, a.Key...)
		dst = append(dst, '=')
		dst = appendTextValue(dst, a.Value)
	}
	return dst
}

// appendRFC3339Millis is slog's time format.
func appendRFC3339Millis(dst []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(dst)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	if len(dst) < n+prefixLen+1 {
		return dst // a year past 9999
	}
	return append(dst[:n+prefixLen], dst[n+prefixLen+1:]...)
}

// appendDuration appends d as d.String() would return it, without the
// allocation.
func appendDuration(dst []byte, d time.Duration) []byte {
	var buf [32]byte
	w := len(buf)
	u := uint64(d)
	neg := d < 0
	if neg {
		u = -u
	}
	if u < uint64(time.Second) {
		var prec int
		w--
		buf[w] = 's'
		w--
		switch {
		case u == 0:
			return append(dst, "0s"...)
		case u < uint64(time.Microsecond):
			prec = 0
			buf[w] = 'n'
		case u < uint64(time.Millisecond):
			prec = 3
			w-- // µ is two bytes
			copy(buf[w:], "µ")
		default:
			prec = 6
			buf[w] = 'm'
		}
		w, u = durFrac(buf[:w], u, prec)
		w = durInt(buf[:w], u)
	} else {
		w--
		buf[w] = 's'
		w, u = durFrac(buf[:w], u, 9)
		w = durInt(buf[:w], u%60)
		u /= 60
		if u > 0 {
			w--
			buf[w] = 'm'
			w = durInt(buf[:w], u%60)
			u /= 60
			if u > 0 {
				w--
				buf[w] = 'h'
				w = durInt(buf[:w], u)
			}
		}
	}
	if neg {
		w--
		buf[w] = '-'
	}
	return append(dst, buf[w:]...)
}

func durFrac(buf []byte, v uint64, prec int) (int, uint64) {
	w := len(buf)
	print := false
	for i := 0; i < prec; i++ {
		digit := v % 10
		print = print || digit != 0
		if print {
			w--
			buf[w] = byte(digit) + '0'
		}
		v /= 10
	}
	if print {
		w--
		buf[w] = '.'
	}
	return w, v
}

func durInt(buf []byte, v uint64) int {
	w := len(buf)
	if v == 0 {
		w--
		buf[w] = '0'
	} else {
		for v > 0 {
			w--
			buf[w] = byte(v%10) + '0'
			v /= 10
		}
	}
	return w
}

// needsQuoting is slog's TextHandler rule: empty, or holding a space, '=',
// '"', a control character, or a rune that is not printable. Generic, so
// that the formatter can ask it of a key's bytes without converting them.
func needsQuoting[S string | []byte](s S) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b <= ' ' || b == '=' || b == '"' {
				return true
			}
			i++
			continue
		}
		var r rune
		var size int
		switch x := any(s[i:]).(type) {
		case string:
			r, size = utf8.DecodeRuneInString(x)
		case []byte:
			r, size = utf8.DecodeRune(x)
		}
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendLine appends the template's fields for in, without a newline.
func (f *Formatter) appendLine(dst []byte, in *tmplInput) []byte {
	for i := range f.ops {
		op := &f.ops[i]
		sp := &op.spec
		switch op.field {
		case fieldLiteral:
			dst = append(dst, op.text...)
		case fieldMessage:
			dst = appendStringField(dst, in.msg, sp)
		case fieldLevelname:
			dst = appendStringField(dst, levelName(in.level), sp)
		case fieldLevelno:
			dst = appendIntField(dst, int64(levelNo(in.level)), sp)
		case fieldAsctime:
			if in.t.IsZero() {
				dst = appendStringField(dst, "-", sp)
				continue
			}
			if sp.plain() && sp.conv == 's' {
				dst = f.appendAsctime(dst, in.t)
				continue
			}
			start := len(dst)
			dst = f.appendAsctime(dst, in.t)
			dst = finishText(dst, start, sp)
		case fieldCreated:
			if in.t.IsZero() {
				dst = appendStringField(dst, "-", sp)
				continue
			}
			dst = appendFloatField(dst, float64(in.t.UnixNano())/1e9, sp)
		case fieldMsecs:
			if in.t.IsZero() {
				dst = appendStringField(dst, "-", sp)
				continue
			}
			dst = appendFloatField(dst, float64(in.t.Nanosecond()/1e6), sp)
		case fieldRelativeCreated:
			if in.t.IsZero() {
				dst = appendStringField(dst, "-", sp)
				continue
			}
			dst = appendFloatField(dst, float64(in.t.Sub(processStart).Nanoseconds())/1e6, sp)
		case fieldPathname, fieldFilename, fieldModule, fieldFuncName:
			s := "(unknown file)"
			if op.field == fieldFuncName {
				s = "(unknown function)"
			}
			if in.src != nil {
				switch op.field {
				case fieldPathname:
					s = in.src.pathname
				case fieldFilename:
					s = in.src.filename
				case fieldModule:
					s = in.src.module
				default:
					s = in.src.funcName
				}
			}
			dst = appendStringField(dst, s, sp)
		case fieldLineno:
			line := int64(0)
			if in.src != nil {
				line = in.src.line
			}
			if sp.plain() && (sp.conv == 'd' || sp.conv == 's') {
				dst = strconv.AppendInt(dst, line, 10)
				continue
			}
			dst = appendIntField(dst, line, sp)
		case fieldProcess:
			dst = appendIntField(dst, int64(processID), sp)
		case fieldProcessName:
			dst = appendStringField(dst, processName, sp)
		case fieldThread:
			dst = appendStringField(dst, "-", sp)
		case fieldURL, fieldMethod, fieldRemoteAddr:
			if in.req != nil {
				s := in.req.URL
				if op.field == fieldMethod {
					s = in.req.Method
				} else if op.field == fieldRemoteAddr {
					s = in.req.RemoteAddr
				}
				dst = appendStringField(dst, s, sp)
				continue
			}
			dst = appendNamed(dst, in, op)
		case fieldName:
			if op.key < 0 || op.key >= len(in.vals) || !in.vals[op.key].ok {
				dst = appendStringField(dst, "root", sp)
				continue
			}
			dst = appendValueField(dst, in.vals[op.key].v, sp)
		case fieldAttr:
			dst = appendNamed(dst, in, op)
		}
	}
	return dst
}

func appendNamed(dst []byte, in *tmplInput, op *tmplOp) []byte {
	if op.key < 0 || op.key >= len(in.vals) || !in.vals[op.key].ok {
		return appendStringField(dst, "-", &op.spec)
	}
	return appendValueField(dst, in.vals[op.key].v, &op.spec)
}

var (
	processID    = os.Getpid()
	processName  = filepath.Base(os.Args[0])
	processStart = time.Now()
)

// levelNo is Python's level number for l: 20 + 2.5 × l, rounded down.
func levelNo(l slog.Level) int {
	n := 5 * int(l)
	if n < 0 && n%2 != 0 {
		n--
	}
	return 20 + n/2
}

var levelNames = [...]string{"DEBUG", "INFO", "WARNING", "ERROR"}

// levelName is Python's name for l.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError+4:
		return "CRITICAL"
	case l == slog.LevelDebug, l == slog.LevelInfo, l == slog.LevelWarn, l == slog.LevelError:
		return levelNames[(l+4)/4]
	case levelNo(l) == 0:
		return "NOTSET"
	}
	return "Level " + strconv.Itoa(levelNo(l))
}

// appendAsctime appends t in the Formatter's date format, from the
// per-second cache when it holds t's second.
func (f *Formatter) appendAsctime(dst []byte, t time.Time) []byte {
	if f.subsecond {
		return appendDate(dst, f.dateOps, t.In(f.location()))
	}
	sec := t.Unix()
	d := f.date.Load()
	if d == nil || d.sec != sec {
		d = &dateText{sec: sec, text: string(appendDate(nil, f.dateOps, t.In(f.location())))}
		f.date.Store(d)
	}
	dst = append(dst, d.text...)
	if f.msecs {
		ms := t.Nanosecond() / 1e6
		dst = append(dst, ',', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return dst
}

func (f *Formatter) location() *time.Location {
	if f.loc != nil {
		return f.loc
	}
	return time.Local
}

// appendStringField appends s as the field sp describes. Conversions
// other than r and a print a string as s does.
func appendStringField(dst []byte, s string, sp *tmplSpec) []byte {
	if sp.plain() && sp.conv != 'r' && sp.conv != 'a' {
		return append(dst, s...)
	}
	start := len(dst)
	switch sp.conv {
	case 'r':
		dst = appendPyRepr(dst, s, false)
	case 'a':
		dst = appendPyRepr(dst, s, true)
	default:
		dst = append(dst, s...)
	}
	return finishText(dst, start, sp)
}

// finishText applies precision (a cut, in characters) and width to the
// text field dst[start:], as Python does for %s; the 0 flag pads with
// spaces, as Python's does for text.
func finishText(dst []byte, start int, sp *tmplSpec) []byte {
	if sp.prec >= 0 && sp.conv != 'c' {
		n, i := 0, start
		for i < len(dst) && n < sp.prec {
			_, size := utf8.DecodeRune(dst[i:])
			i += size
			n++
		}
		dst = dst[:i]
	}
	if sp.width > 0 {
		if n := utf8.RuneCount(dst[start:]); n < sp.width {
			dst = pad(dst, start, sp.width-n, sp.flags&flagMinus != 0, ' ')
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

func appendIntField(dst []byte, n int64, sp *tmplSpec) []byte {
	var tmp [24]byte
	mag := uint64(n)
	if n < 0 {
		mag = -mag
	}
	switch sp.conv {
	case 'd', 'i', 'u':
		if sp.plain() {
			return strconv.AppendInt(dst, n, 10)
		}
		return appendIntDigits(dst, n < 0, strconv.AppendUint(tmp[:0], mag, 10), sp)
	case 'x', 'X', 'o':
		return appendIntDigits(dst, n < 0, appendBase(tmp[:0], mag, sp.conv), sp)
	case 'e', 'E', 'f', 'F', 'g', 'G':
		return appendFloatSpec(dst, float64(n), sp)
	case 'c':
		if n >= 0 && n <= unicode.MaxRune {
			start := len(dst)
			dst = utf8.AppendRune(dst, rune(n))
			return finishText(dst, start, sp)
		}
	}
	start := len(dst)
	dst = strconv.AppendInt(dst, n, 10)
	return finishText(dst, start, sp)
}

func appendUintField(dst []byte, n uint64, sp *tmplSpec) []byte {
	if n <= math.MaxInt64 {
		return appendIntField(dst, int64(n), sp)
	}
	var tmp [24]byte
	switch sp.conv {
	case 'd', 'i', 'u':
		return appendIntDigits(dst, false, strconv.AppendUint(tmp[:0], n, 10), sp)
	case 'x', 'X', 'o':
		return appendIntDigits(dst, false, appendBase(tmp[:0], n, sp.conv), sp)
	case 'e', 'E', 'f', 'F', 'g', 'G':
		return appendFloatSpec(dst, float64(n), sp)
	}
	start := len(dst)
	dst = strconv.AppendUint(dst, n, 10)
	return finishText(dst, start, sp)
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
func appendIntDigits(dst []byte, neg bool, digits []byte, sp *tmplSpec) []byte {
	prefix := ""
	if sp.flags&flagAlt != 0 {
		switch sp.conv {
		case 'x':
			prefix = "0x"
		case 'X':
			prefix = "0X"
		case 'o':
			prefix = "0o"
		}
	}
	zeros := 0
	if sp.prec > len(digits) {
		zeros = sp.prec - len(digits)
	}
	return layoutNumber(dst, neg, prefix, zeros, digits, sp)
}

// layoutNumber writes sign, prefix, zeros and digits, padded to the width.
func layoutNumber(dst []byte, neg bool, prefix string, zeros int, digits []byte, sp *tmplSpec) []byte {
	sign := byte(0)
	switch {
	case neg:
		sign = '-'
	case sp.flags&flagPlus != 0:
		sign = '+'
	case sp.flags&flagSpace != 0:
		sign = ' '
	}
	n := len(prefix) + zeros + len(digits)
	if sign != 0 {
		n++
	}
	fill := 0
	if sp.width > n {
		fill = sp.width - n
	}
	left := sp.flags&flagMinus != 0
	zeroFill := !left && sp.flags&flagZero != 0
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

func appendFloatField(dst []byte, x float64, sp *tmplSpec) []byte {
	switch sp.conv {
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
	dst = appendPyFloat(dst, x)
	return finishText(dst, start, sp)
}

// appendFloatSpec formats x as Python's %e, %f and %g do.
func appendFloatSpec(dst []byte, x float64, sp *tmplSpec) []byte {
	prec := sp.prec
	if prec < 0 {
		prec = 6
	}
	upper := sp.conv == 'E' || sp.conv == 'F' || sp.conv == 'G'
	lower := sp.conv | 0x20
	neg := math.Signbit(x) && !math.IsNaN(x)
	abs := math.Abs(x)
	var tmp [64]byte
	var body []byte
	switch {
	case math.IsNaN(x):
		body = append(tmp[:0], "nan"...)
	case math.IsInf(x, 0):
		body = append(tmp[:0], "inf"...)
	case sp.flags&flagAlt != 0:
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

// appendPyFloat appends x as Python's str and repr do: the shortest
// digits that round-trip, in positional notation from 1e-4 to 1e16 (with
// ".0" when integral), else in exponent notation with a two-digit exponent.
func appendPyFloat(dst []byte, x float64) []byte {
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

// appendPyRepr appends s as Python's repr (ascii false) or ascii (true)
// shows a string: in single quotes, or double quotes when s holds a single
// quote and no double one; backslash escapes for the quote, backslashes,
// control and unprintable characters, and with ascii for all non-ASCII.
// Bytes that are not UTF-8 are shown as \xNN.
func appendPyRepr(dst []byte, s string, ascii bool) []byte {
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

// appendValueField appends an attribute's value as the field sp says.
func appendValueField(dst []byte, v slog.Value, sp *tmplSpec) []byte {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return appendStringField(dst, v.String(), sp)
	case slog.KindInt64:
		return appendIntField(dst, v.Int64(), sp)
	case slog.KindUint64:
		return appendUintField(dst, v.Uint64(), sp)
	case slog.KindFloat64:
		return appendFloatField(dst, v.Float64(), sp)
	case slog.KindBool:
		switch sp.conv {
		case 's', 'r', 'a':
			return appendStringField(dst, strconv.FormatBool(v.Bool()), sp)
		}
		n := int64(0)
		if v.Bool() {
			n = 1
		}
		return appendIntField(dst, n, sp)
	case slog.KindDuration:
		switch sp.conv {
		case 's', 'r', 'a':
			start := len(dst)
			dst = appendDuration(dst, v.Duration())
			return finishText(dst, start, sp)
		}
		return appendIntField(dst, int64(v.Duration()), sp)
	}
	start := len(dst)
	switch v.Kind() {
	case slog.KindTime:
		dst = appendRFC3339Millis(dst, v.Time())
	case slog.KindGroup:
		dst = appendGroupText(dst, v.Group())
	default:
		if sp.conv == 'r' || sp.conv == 'a' {
			return appendStringField(dst, safeText(v.Any()), sp)
		}
		dst = appendSafeText(dst, v.Any())
	}
	return finishText(dst, start, sp)
}

// pcSource is what a template can print of a logging call's location.
type pcSource struct {
	pc                                   uintptr
	pathname, filename, module, funcName string
	line                                 int64
}

// sourceCache maps a pc to its source, direct-mapped: resolving a pc with
// runtime.CallersFrames costs some 300 ns, a cache hit two atomic loads,
// and a collision only costs the next call that resolution again.
var sourceCache [4096]atomic.Pointer[pcSource]

func sourceOf(pc uintptr) *pcSource {
	slot := &sourceCache[(uint64(pc)*0x9E3779B97F4A7C15)>>(64-12)]
	if s := slot.Load(); s != nil && s.pc == pc {
		return s
	}
	fr, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	_, name := splitFuncName(fr.Function)
	s := newSource(fr.File, name, fr.Line)
	s.pc = pc
	slot.Store(s)
	return s
}

func sourceOfFrame(fr event.Frame) *pcSource {
	path := fr.AbsPath
	if path == "" {
		path = fr.Filename
	}
	return newSource(path, fr.Function, fr.Lineno)
}

func newSource(path, fn string, line int) *pcSource {
	if path == "" {
		path = "(unknown file)"
	}
	base := path
	if i := strings.LastIndexAny(base, `/\`); i >= 0 && i < len(base)-1 {
		base = base[i+1:]
	}
	module := base
	if i := strings.LastIndexByte(module, '.'); i > 0 {
		module = module[:i]
	}
	name := bareFuncName(fn)
	if name == "" {
		name = "(unknown function)"
	}
	return &pcSource{pathname: path, filename: base, module: module, funcName: name, line: int64(line)}
}

// bareFuncName turns a function name without its package ("(*T).M",
// "F[...]", "handler.func1.2") into the name a Python programmer expects:
// without receiver and type parameters, "M", "F"; a closure keeps its
// enclosing function, "handler.func1.2".
func bareFuncName(name string) string {
	if strings.IndexByte(name, '[') >= 0 {
		var b strings.Builder
		depth := 0
		for i := 0; i < len(name); i++ {
			switch c := name[i]; {
			case c == '[':
				depth++
			case c == ']' && depth > 0:
				depth--
			case depth == 0:
				b.WriteByte(c)
			}
		}
		name = b.String()
	}
	// Segments from the right: closures are funcN, N, gowrapN, deferwrapN.
	end := len(name)
	for end > 0 {
		dot := strings.LastIndexByte(name[:end], '.')
		seg := name[dot+1 : end]
		if !isClosureSegment(seg) || dot < 0 {
			return name[dot+1:]
		}
		end = dot
	}
	return name
}

func isClosureSegment(s string) bool {
	for _, p := range []string{"func", "gowrap", "deferwrap"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			break
		}
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var tmplBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getTmplBuf() *[]byte { return tmplBufs.Get().(*[]byte) }

// putTmplBuf returns a buffer to the pool, unless a huge record made it
// too big to keep around.
func putTmplBuf(b *[]byte) {
	if cap(*b) > 16<<10 {
		return
	}
	*b = (*b)[:0]
	tmplBufs.Put(b)
}

// dateOp is one step of a compiled strftime layout: a directive, or
// literal text when c is 0.
type dateOp struct {
	c   byte
	lit string
}

// compileDate compiles a strftime layout, expanding the composite
// directives; subsecond reports a %f.
func compileDate(layout string) (ops []dateOp, subsecond bool) {
	var lit []byte
	var walk func(string)
	walk = func(layout string) {
		for i := 0; i < len(layout); i++ {
			c := layout[i]
			if c != '%' || i+1 >= len(layout) {
				lit = append(lit, c)
				continue
			}
			i++
			d := layout[i]
			if (d == 'E' || d == 'O') && i+1 < len(layout) && strings.IndexByte("cCxXyYdeHImMSuUVwWy", layout[i+1]) >= 0 {
				i++ // glibc's alternative forms are the plain ones in the C locale
				d = layout[i]
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
					ops = append(ops, dateOp{lit: string(lit)})
					lit = lit[:0]
				}
				ops = append(ops, dateOp{c: d})
				subsecond = subsecond || d == 'f'
			default:
				lit = append(lit, '%', d)
			}
		}
	}
	walk(layout)
	if len(lit) > 0 {
		ops = append(ops, dateOp{lit: string(lit)})
	}
	return ops, subsecond
}

var (
	shortDays   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	shortMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// appendDate appends t formatted by the compiled strftime layout.
func appendDate(dst []byte, ops []dateOp, t time.Time) []byte {
	for _, op := range ops {
		switch op.c {
		case 0:
			dst = append(dst, op.lit...)
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
	}
	return dst
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

func appendPadded(dst []byte, n, width int) []byte {
	var tmp [20]byte
	b := strconv.AppendInt(tmp[:0], int64(n), 10)
	dst = appendRepeat(dst, '0', width-len(b))
	return append(dst, b...)
}
