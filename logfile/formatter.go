package logfile

import (
	"bytes"
	"fmt"
	"log/slog"
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
	"github.com/errlog/errlog/internal/levels"
	"github.com/errlog/errlog/internal/pyfmt"
	"github.com/errlog/errlog/internal/record"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/strftime"
	"github.com/errlog/errlog/internal/values"
)

// Formatter renders records with a Python logging.Formatter template
// ("%"-style), so that the format string of a Python project's log file
// or error mail works unchanged. A template is compiled once by
// NewFormatter; formatting then walks a slice of operations and, after
// warm-up, allocates nothing. A Formatter is safe for concurrent use.
//
// The template language — the fields, the conversions, where errlog
// differs from Python, the date directives and the stack — is described
// in the package documentation under [Format templates]; the printf
// conversions are internal/pyfmt's and the dates internal/strftime's,
// both compared with CPython in their tests.
//
// [Format templates]: https://pkg.go.dev/github.com/errlog/errlog/logfile#hdr-Format_templates
type Formatter struct {
	format, dateFormat string

	ops    []tmplOp
	fields []Field  // the template's fields as written, for Fields
	keys   []string // the attribute keys the template names; op.key indexes it
	// reqKey marks keys that the request fills (url, method, remote_addr):
	// inside a request an attribute of that key stays in the line's tail.
	reqKey []bool

	layout strftime.Layout
	msecs  bool           // Python's default asctime: ",mmm" after the second
	loc    *time.Location // nil: time.Local; tests set one
	date   atomic.Pointer[dateText]
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
	spec  pyfmt.Spec
}

// formatError is NewFormatter's error: where in the template, and what.
type formatError struct {
	pos int
	msg string
}

func (e *formatError) Error() string {
	return "errlog: format: position " + strconv.Itoa(e.pos) + ": " + e.msg
}

// DefaultFormat is the template of the log file and of mail, Flask's
// recommended file format.
const DefaultFormat = "%(asctime)s %(levelname)s: %(message)s [in %(pathname)s:%(lineno)d]"

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
		name := format[i+2:] // parseField checked: "%(" name ")" …
		name = name[:strings.IndexByte(name, ')')]
		if fd := (Field{Text: format[i:end], Name: name, Attr: op.field == fieldAttr}); !slices.Contains(f.fields, fd) {
			f.fields = append(f.fields, fd)
		}
		f.ops = append(f.ops, op)
		i = end
	}
	flush()

	layout := dateFormat
	if layout == "" {
		layout, f.msecs = pyDefaultDateFormat, true
	}
	f.layout = strftime.Compile(layout)
	return f, nil
}

// Field is one field of a template, as Fields returns it.
type Field struct {
	Text string // as written: "%(levelname)-8s"
	Name string // "levelname"
	// Attr is true for a name that is not one of the fields the package
	// documentation lists: a record attribute of that name, which
	// Python's logging does not have (it raises KeyError).
	Attr bool
}

// Fields returns the template's fields in the order written, each once;
// none for a template of literal text only.
func (f *Formatter) Fields() []Field {
	return slices.Clone(f.fields)
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
	op.spec.Prec = -1
	for ; i < len(format); i++ {
		switch format[i] {
		case '-':
			op.spec.Flags |= pyfmt.FlagMinus
		case '+':
			op.spec.Flags |= pyfmt.FlagPlus
		case ' ':
			op.spec.Flags |= pyfmt.FlagSpace
		case '0':
			op.spec.Flags |= pyfmt.FlagZero
		case '#':
			op.spec.Flags |= pyfmt.FlagAlt
		default:
			goto width
		}
	}
width:
	if i < len(format) && format[i] == '*' {
		return fail("'*' width in " + quoteField(format[pos:i+1]) + " is not supported: a field's width must be a number")
	}
	for ; i < len(format) && '0' <= format[i] && format[i] <= '9'; i++ {
		op.spec.Width = op.spec.Width*10 + int(format[i]-'0')
		if op.spec.Width > pyfmt.MaxWidth {
			return fail(fmt.Sprintf("width in %s is larger than %d", quoteField(format[pos:i+1]), pyfmt.MaxWidth))
		}
	}
	if i < len(format) && format[i] == '.' {
		i++
		op.spec.Prec = 0
		if i < len(format) && format[i] == '*' {
			return fail("'*' precision in " + quoteField(format[pos:i+1]) + " is not supported: a field's precision must be a number")
		}
		for ; i < len(format) && '0' <= format[i] && format[i] <= '9'; i++ {
			op.spec.Prec = op.spec.Prec*10 + int(format[i]-'0')
			if op.spec.Prec > pyfmt.MaxWidth {
				return fail(fmt.Sprintf("precision in %s is larger than %d", quoteField(format[pos:i+1]), pyfmt.MaxWidth))
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
	op.spec.Conv = c
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
	return string(appendStackTrace(f.appendEventLine(nil, ev), ev.Frames()))
}

// EventLine is FormatEvent's line without its stack trace or newline:
// a mail shows the stack in a section of its own.
func (f *Formatter) EventLine(ev *event.Event) string {
	b := f.appendEventLine(nil, ev)
	return string(b[:len(b)-1])
}

// appendEventLine appends ev's line, ending in one newline.
func (f *Formatter) appendEventLine(dst []byte, ev *event.Event) []byte {
	in := tmplInput{
		t:     ev.Timestamp,
		level: levels.FromSentry(ev.Level),
		msg:   ev.Message(),
	}
	if fr, ok := ev.CulpritFrame(); ok {
		in.src = sourceOfFrame(fr)
	}
	if rq := ev.Request; rq != nil {
		in.req = &record.Request{Method: rq.Method, URL: rq.URL, RemoteAddr: rq.Env["REMOTE_ADDR"]}
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
	start := len(dst)
	return endLine(f.appendLine(dst, &in), start)
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

// stackHeader introduces the stack trace after a line.
const stackHeader = "Stack (most recent call first):\n"

// appendStackTrace appends frames (caller to callee) under stackHeader,
// innermost first; nothing when there are none.
func appendStackTrace(dst []byte, frames []event.Frame) []byte {
	if len(frames) == 0 {
		return dst
	}
	dst = append(dst, stackHeader...)
	return stack.AppendStack(dst, frames, "  ", true)
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
	req   *record.Request
	vals  []foundValue // by key index
}

// maxStackKeys is how many named attributes are looked up without
// allocating.
const maxStackKeys = 8

// appendRecord appends r formatted: the line, the attributes the template
// does not name (those of pre, then r's), "\n", and the stack of x.
func (f *Formatter) appendRecord(dst []byte, r *slog.Record, pre *preformatted, x *record.Extras) []byte {
	in := tmplInput{t: r.Time, level: r.Level, msg: r.Message}
	if r.PC != 0 {
		in.src = sourceOf(r.PC)
	}
	if x != nil {
		in.req = x.Req
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
		if x != nil && len(x.Fields) > 0 {
			for i, k := range f.keys {
				if !in.vals[i].ok {
					if v, ok := record.Field(x.Ctx, x.Fields, k); ok {
						in.vals[i] = foundValue{v: slog.StringValue(v), ok: true}
					}
				}
			}
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
		dst = appendStackTrace(dst, x.Stack)
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
	req *record.Request
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
	dst = values.AppendText(dst, v.Any())
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
			dst = pyfmt.AppendString(dst, in.msg, sp)
		case fieldLevelname:
			dst = pyfmt.AppendString(dst, levels.PythonName(in.level), sp)
		case fieldLevelno:
			dst = pyfmt.AppendInt(dst, int64(levels.PythonNo(in.level)), sp)
		case fieldAsctime:
			if in.t.IsZero() {
				dst = pyfmt.AppendString(dst, "-", sp)
				continue
			}
			if sp.Plain() && sp.Conv == 's' {
				dst = f.appendAsctime(dst, in.t)
				continue
			}
			start := len(dst)
			dst = f.appendAsctime(dst, in.t)
			dst = pyfmt.Finish(dst, start, sp)
		case fieldCreated:
			if in.t.IsZero() {
				dst = pyfmt.AppendString(dst, "-", sp)
				continue
			}
			dst = pyfmt.AppendFloat(dst, float64(in.t.UnixNano())/1e9, sp)
		case fieldMsecs:
			if in.t.IsZero() {
				dst = pyfmt.AppendString(dst, "-", sp)
				continue
			}
			dst = pyfmt.AppendFloat(dst, float64(in.t.Nanosecond()/1e6), sp)
		case fieldRelativeCreated:
			if in.t.IsZero() {
				dst = pyfmt.AppendString(dst, "-", sp)
				continue
			}
			dst = pyfmt.AppendFloat(dst, float64(in.t.Sub(processStart).Nanoseconds())/1e6, sp)
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
			dst = pyfmt.AppendString(dst, s, sp)
		case fieldLineno:
			line := int64(0)
			if in.src != nil {
				line = in.src.line
			}
			if sp.Plain() && (sp.Conv == 'd' || sp.Conv == 's') {
				dst = strconv.AppendInt(dst, line, 10)
				continue
			}
			dst = pyfmt.AppendInt(dst, line, sp)
		case fieldProcess:
			dst = pyfmt.AppendInt(dst, int64(processID), sp)
		case fieldProcessName:
			dst = pyfmt.AppendString(dst, processName, sp)
		case fieldThread:
			dst = pyfmt.AppendString(dst, "-", sp)
		case fieldURL, fieldMethod, fieldRemoteAddr:
			if in.req != nil {
				s := in.req.URL
				if op.field == fieldMethod {
					s = in.req.Method
				} else if op.field == fieldRemoteAddr {
					s = in.req.RemoteAddr
				}
				dst = pyfmt.AppendString(dst, s, sp)
				continue
			}
			dst = appendNamed(dst, in, op)
		case fieldName:
			if op.key < 0 || op.key >= len(in.vals) || !in.vals[op.key].ok {
				dst = pyfmt.AppendString(dst, "root", sp)
				continue
			}
			start := len(dst)
			dst = escapeLineBreaks(appendValueField(dst, in.vals[op.key].v, sp), start)
		case fieldAttr:
			dst = appendNamed(dst, in, op)
		}
	}
	return dst
}

func appendNamed(dst []byte, in *tmplInput, op *tmplOp) []byte {
	if op.key < 0 || op.key >= len(in.vals) || !in.vals[op.key].ok {
		return pyfmt.AppendString(dst, "-", &op.spec)
	}
	start := len(dst)
	return escapeLineBreaks(appendValueField(dst, in.vals[op.key].v, &op.spec), start)
}

// escapeLineBreaks writes the line breaks of an attribute's value in
// dst[start:] as \n and \r: a value (a user name, a header) must not start a
// line of its own that reads as another record, as the attributes at
// the end of the line cannot, being quoted. It allocates only for a value
// that has one.
func escapeLineBreaks(dst []byte, start int) []byte {
	i := bytes.IndexAny(dst[start:], "\r\n")
	if i < 0 {
		return dst
	}
	tail := string(dst[start+i:])
	dst = dst[:start+i]
	for j := 0; j < len(tail); j++ {
		switch c := tail[j]; c {
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

var (
	processID    = os.Getpid()
	processName  = filepath.Base(os.Args[0])
	processStart = time.Now()
)

// appendAsctime appends t in the Formatter's date format, from the
// per-second cache when it holds t's second.
func (f *Formatter) appendAsctime(dst []byte, t time.Time) []byte {
	if f.layout.Subsecond() {
		return f.layout.Append(dst, t.In(f.location()))
	}
	sec := t.Unix()
	d := f.date.Load()
	if d == nil || d.sec != sec {
		d = &dateText{sec: sec, text: string(f.layout.Append(nil, t.In(f.location())))}
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

// appendValueField appends an attribute's value as the field sp says.
func appendValueField(dst []byte, v slog.Value, sp *pyfmt.Spec) []byte {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return pyfmt.AppendString(dst, v.String(), sp)
	case slog.KindInt64:
		return pyfmt.AppendInt(dst, v.Int64(), sp)
	case slog.KindUint64:
		return pyfmt.AppendUint(dst, v.Uint64(), sp)
	case slog.KindFloat64:
		return pyfmt.AppendFloat(dst, v.Float64(), sp)
	case slog.KindBool:
		switch sp.Conv {
		case 's', 'r', 'a':
			return pyfmt.AppendString(dst, strconv.FormatBool(v.Bool()), sp)
		}
		n := int64(0)
		if v.Bool() {
			n = 1
		}
		return pyfmt.AppendInt(dst, n, sp)
	case slog.KindDuration:
		switch sp.Conv {
		case 's', 'r', 'a':
			start := len(dst)
			dst = appendDuration(dst, v.Duration())
			return pyfmt.Finish(dst, start, sp)
		}
		return pyfmt.AppendInt(dst, int64(v.Duration()), sp)
	}
	start := len(dst)
	switch v.Kind() {
	case slog.KindTime:
		dst = appendRFC3339Millis(dst, v.Time())
	case slog.KindGroup:
		dst = appendGroupText(dst, v.Group())
	default:
		if sp.Conv == 'r' || sp.Conv == 'a' {
			return pyfmt.AppendString(dst, values.Text(v.Any()), sp)
		}
		dst = values.AppendText(dst, v.Any())
	}
	return pyfmt.Finish(dst, start, sp)
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
	_, name := stack.SplitFuncName(fr.Function)
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
