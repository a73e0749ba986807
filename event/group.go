package event

import (
	"encoding/json"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// Grouping is the version of the grouping GroupKey computes, stored with
// each group's key by errlogd. Grouping 1 keyed an exception by its types
// and in-app functions only; 2 adds the log message and source lines; 3
// tells apart messages logged as a bare "%s", and no longer splits a bug
// by its recursion depth, its number of joined errors, a temporary name
// or a JVM's generated class names (docs/grouping.md). Where none of that
// applies, grouping 3's key is grouping 2's. GroupKeyOf computes each.
const Grouping = 3

// GroupingContext names the context in which an event carries its key
// (SetGroupKey): {"group_key": "…", "grouping": 3}.
const GroupingContext = "errlog"

// GroupKey returns the key that groups e with its repeats (an "issue" in
// Sentry's words), 32 hex digits: the key e carries (SetGroupKey; errlog's
// tracker sends it, so that errlogd groups the event as the mail sink
// threaded it) when it was computed by this Grouping, else
// GroupKeyOf(Grouping).
//
// The key hashes, in order of preference, the explicit fingerprint; else
// the default components:
//
//   - a log record's message template, parameterized (Parameterize), so
//     that "user 123 not found" and "user 456 not found" are one group,
//     while two messages logged in one function are two; a template of
//     placeholders only ("%s") by its parameters;
//   - the types of the exceptions, a Go runtime error's always
//     "runtime.Error" and a panic's the same whether it was recovered or
//     crashed the program; an exception just like one before it counts
//     once (errors.Join of two or of three);
//   - the stack trace: the module, function and whitespace-normalized
//     source line (context_line) of each in-app frame, or of every frame
//     when none is in-app. Line numbers are left out, so that moving code
//     keeps its group; the source line tells apart two calls in one
//     function. A frame without source and without a function name (an
//     anonymous JavaScript callback) counts its file and position instead;
//     a frame just like the one before it (recursion) counts once; a
//     JVM's generated class names count without their generated part;
//   - when nothing above is there, the last exception's value,
//     parameterized.
//
// A fingerprint may name the default key as "{{ default }}", and the
// parameterized message, the transaction, the outermost exception's type
// and the culprit frame's function as "{{ message }}",
// "{{ transaction }}", "{{ type }}" (or "{{ error.type }}") and
// "{{ function }}" (or "{{ stack.function }}"), as Sentry's fingerprints
// do: ["{{ default }}", "tenant-7"] splits the default group by tenant.
func (e *Event) GroupKey() string {
	if k, v := e.CarriedGroupKey(); v == Grouping {
		return k
	}
	return e.groupKey(&keys, Grouping)
}

// GroupKeyOf computes e's key by grouping version v, ignoring the key e
// carries: Grouping, or an earlier one (which a store upgraded from it
// needs to find the groups it made); "" for another version.
func (e *Event) GroupKeyOf(v int) string {
	switch v {
	case 1:
		return e.groupKeyV1()
	case 2, 3:
		return e.groupKey(&keys, v)
	}
	return ""
}

// SetGroupKey computes e's key and stores it in e's contexts, under
// GroupingContext, with the grouping version that made it; the contexts
// map is replaced, never written to, as it may be shared.
func (e *Event) SetGroupKey() {
	key := e.groupKey(&keys, Grouping)
	c := make(map[string]map[string]any, len(e.Contexts)+1)
	for k, v := range e.Contexts {
		c[k] = v
	}
	c[GroupingContext] = map[string]any{"group_key": key, "grouping": Grouping}
	e.Contexts = c
}

// CarriedGroupKey returns the key e carries (SetGroupKey) and the grouping
// version that computed it; 0 when e carries none.
func (e *Event) CarriedGroupKey() (key string, version int) {
	m := e.Contexts[GroupingContext]
	if m == nil {
		return "", 0
	}
	key, _ = m["group_key"].(string)
	if !isKey(key) {
		return "", 0
	}
	switch v := m["grouping"].(type) {
	case int:
		version = v
	case float64:
		version = int(v)
	case json.Number:
		n, _ := v.Int64()
		version = int(n)
	}
	return key, version
}

func isKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// groupKey is the key by grouping v (2 or 3), remembering keys in c (nil:
// none). Both hash their components alike, so that where grouping 3 reads
// what grouping 2 read, the key is the same: c serves both.
func (e *Event) groupKey(c *keyCache, v int) string {
	var buf [512]byte
	b := buf[:0]
	if len(e.Fingerprint) > 0 && !(len(e.Fingerprint) == 1 && isVar(e.Fingerprint[0], "default")) {
		b = appendParts(b, "fingerprint")
		for _, p := range e.Fingerprint {
			switch {
			case !strings.HasPrefix(strings.TrimSpace(p), "{{"):
				b = appendParts(b, p)
			case isVar(p, "default"):
				b = e.appendDefault(b, v)
			case isVar(p, "message"):
				m := e.template()
				if m == "" {
					m = e.Message()
				} else if v >= 3 && !saysAnything(m) {
					// "%s": what the record says is in its parameters,
					// as for the default components.
					m = e.Logentry.withParams()
				}
				b = appendParts(b, "message", parameterize(m, v))
			case isVar(p, "transaction"):
				b = appendParts(b, "transaction", e.Transaction)
			case isVar(p, "type") || isVar(p, "error.type"):
				t := ""
				if n := len(e.Exception); n > 0 {
					t = normalType(e.Exception[n-1].Type)
				}
				b = appendParts(b, "type", t)
			case isVar(p, "function") || isVar(p, "stack.function"):
				f, _ := e.CulpritFrame()
				b = appendParts(b, "function", f.Function)
			default:
				b = appendParts(b, p)
			}
		}
	} else {
		b = e.appendDefault(b, v)
	}
	return c.hash(b, 2)
}

// hash returns the key of the grouping components b by grouping v's hash:
// 1, or 2 (groupings 2 and 3).
// Keys recently made are remembered (an error that repeats is the common
// case, on each ERROR record and each ingested event): a repeat costs a
// fast, process-local hash and a comparison instead of an allocation.
func (c *keyCache) hash(b []byte, v int) string {
	if c == nil {
		return sum(b, v)
	}
	h := maphash.Bytes(keySeed, b)
	if k, ok := c.get(h, b); ok {
		return k
	}
	k := sum(b, v)
	c.put(h, b, k)
	return k
}

func sum(b []byte, v int) string {
	if v == 1 {
		return key1(b)
	}
	return key2(b)
}

var keySeed = maphash.MakeSeed()

// keys and keysV1 are GroupKey's and GroupKeyOf(1)'s memories, each of at
// most maxKeys components of at most maxKeyInput bytes: 300 KB at most.
var keys, keysV1 keyCache

const (
	maxKeys     = 512
	maxKeyInput = 512
)

type keyCache struct {
	m atomic.Pointer[sync.Map] // maphash → *cachedKey
	n atomic.Int32
}

type cachedKey struct{ input, key string }

func (c *keyCache) get(h uint64, b []byte) (string, bool) {
	m := c.m.Load()
	if m == nil {
		return "", false
	}
	v, ok := m.Load(h)
	if !ok {
		return "", false
	}
	if e := v.(*cachedKey); e.input == string(b) {
		return e.key, true
	}
	return "", false
}

func (c *keyCache) put(h uint64, b []byte, key string) {
	if len(b) > maxKeyInput {
		return
	}
	m := c.m.Load()
	if m == nil || c.n.Add(1) > maxKeys {
		// Full: start again (two goroutines may both; either map will do).
		m = new(sync.Map)
		c.m.Store(m)
		c.n.Store(1)
	}
	m.Store(h, &cachedKey{string(b), key})
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
	p, ok := strings.CutPrefix(strings.TrimSpace(part), "{{")
	if !ok {
		return false
	}
	p, ok = strings.CutSuffix(p, "}}")
	return ok && strings.TrimSpace(p) == name
}

// template is the log message as logged, before formatting: slog's
// message, Python logging's format; "" for an event that is no log record.
func (e *Event) template() string {
	if e.Logentry == nil {
		return ""
	}
	if e.Logentry.Message != "" {
		return e.Logentry.Message
	}
	return e.Logentry.Formatted
}

// appendDefault appends grouping v's default components (GroupKey).
func (e *Event) appendDefault(b []byte, v int) []byte {
	// A panic keys by its own exception only: a crash report knows
	// neither the value's type nor the errors it wraps, and its message
	// restates the value.
	for i := len(e.Exception) - 1; i >= 0; i-- {
		ex := &e.Exception[i]
		if ex.Mechanism == nil || ex.Mechanism.Type != "panic" {
			continue
		}
		b = appendParts(b, "panic", panicType(ex.Type))
		n := 0
		if ex.Stacktrace != nil {
			b, n = appendFrames(b, ex.Stacktrace.Frames, hasInApp(ex.Stacktrace.Frames), v)
		}
		if n == 0 {
			b = appendParts(b, parameterize(ex.Value, v))
		}
		return b
	}
	inApp := hasInApp(e.Stacktrace.frames())
	for i := range e.Exception {
		inApp = inApp || hasInApp(e.Exception[i].Stacktrace.frames())
	}
	contributed := false
	if m := e.template(); m != "" {
		if v >= 3 && !saysAnything(m) {
			// "%s": what the record says is all in its parameters.
			m = e.Logentry.withParams()
		}
		b = appendParts(b, "message", e.Logger, parameterize(m, v))
		contributed = true
	}
	last := -1
	var seen [8]span // grouping 3: the exceptions' components so far
	exs := seen[:0]
	for i := range e.Exception {
		ex := &e.Exception[i]
		start := len(b)
		// A typed nil pointer among a record's attributes ("<nil>") says
		// nothing of the failure: errlog no longer sends it as the
		// exception; older clients did.
		if !isTypedNil(ex) {
			b = appendParts(b, normalType(ex.Type))
			last = i
		}
		var n int
		b, n = appendFrames(b, ex.Stacktrace.frames(), inApp, v)
		contributed = contributed || n > 0
		if v < 3 || len(b) == start {
			continue
		}
		// An exception just like one before adds nothing: errors.Join of
		// two or of three failed validations is one bug.
		if repeated(b, exs, start) {
			b = b[:start]
			continue
		}
		exs = append(exs, span{start, len(b)})
	}
	b, n := appendFrames(b, e.Stacktrace.frames(), inApp, v)
	if !contributed && n == 0 && last >= 0 {
		b = appendParts(b, "value", parameterize(e.Exception[last].Value, v))
	}
	return b
}

// maxRepeats is how many exceptions before it an exception is compared
// with: a chain is short, and a hostile one of thousands costs no more
// than linear time.
const maxRepeats = 64

// repeated reports whether b[start:] repeats one of the first maxRepeats
// spans of b.
func repeated(b []byte, spans []span, start int) bool {
	for _, sp := range spans[:min(len(spans), maxRepeats)] {
		if string(b[sp.start:sp.end]) == string(b[start:]) {
			return true
		}
	}
	return false
}

func (st *Stacktrace) frames() []Frame {
	if st == nil {
		return nil
	}
	return st.Frames
}

func hasInApp(frames []Frame) bool {
	for i := range frames {
		if frames[i].InApp {
			return true
		}
	}
	return false
}

// InVersionedModule reports whether a frame's file (filename, else
// absPath) is in a Go module at a version: its path has an element
// "name@vN…" with more path after it, as a dependency's files have in
// the module cache and, without the cache's path, in a -trimpath build.
func InVersionedModule(filename, absPath string) bool {
	p := filename
	if p == "" {
		p = absPath
	}
	last := strings.LastIndexByte(p, '/')
	for off := 0; ; {
		i := strings.Index(p[off:], "@v")
		if i < 0 {
			return false
		}
		i += off
		if i > 0 && p[i-1] != '/' && i+2 < len(p) && isDigit(p[i+2]) && i < last {
			return true
		}
		off = i + 2
	}
}

func isTypedNil(ex *Exception) bool {
	return ex.Value == "<nil>" && strings.HasPrefix(ex.Type, "*")
}

// normalType is an exception's type as grouping sees it: a Go runtime
// error by its interface, runtime.Error, whichever of the runtime's types
// (runtime.plainError, runtime.boundsError, *runtime.TypeAssertionError)
// carries it, as a crash report can only name the interface.
func normalType(t string) string {
	if strings.HasPrefix(strings.TrimPrefix(t, "*"), "runtime.") {
		return "runtime.Error"
	}
	return t
}

// panicType is the type of a panic's value as grouping sees it: a runtime
// error, a fatal error, or any other panic ("panic", as a crash report
// knows no more).
func panicType(t string) string {
	switch t = normalType(t); t {
	case "runtime.Error", "fatal error":
		return t
	}
	return "panic"
}

// appendFrames appends the grouping components of frames (the in-app ones
// only, with inApp), by grouping v, and says how many frames it appended.
// A frame's module is written only when it differs from the previous
// frame's: most stacks stay in few packages, and the hash reads fewer
// bytes. From grouping 3, a frame just like the one before it (a
// recursive call) adds nothing, so that the depth of a recursion makes
// no new group, as in Sentry; and a JVM's generated class names count
// without their generated parts (javaName).
func appendFrames(b []byte, frames []Frame, inApp bool, v int) ([]byte, int) {
	n := 0
	prev := "\x00"
	last := span{-1, -1} // the previous frame's components after its module
	for i := range frames {
		f := &frames[i]
		if inApp && !f.InApp {
			continue
		}
		mod, fn := f.Module, f.Function
		if mod == "" {
			mod = fileBase(f.Filename, f.AbsPath)
		}
		if v >= 3 {
			mod, fn = javaName(mod), javaName(fn)
		}
		start := len(b)
		sameModule := mod == prev
		if !sameModule {
			b = append(b, mod...)
			prev = mod
		}
		b = append(b, 0)
		body := len(b)
		anon := isAnonymous(fn)
		if !anon {
			b = append(b, fn...)
		}
		b = append(b, 0)
		l := len(b)
		if b = appendSourceLine(b, f.ContextLine); len(b) > l || !anon {
			b = append(b, 0)
		} else {
			// No name, no source: where the frame is stands for what it is.
			b = append(b, fileBase(f.Filename, f.AbsPath)...)
			b = append(b, ':')
			b = appendInt(b, f.Lineno)
			b = append(b, ':')
			b = appendInt(b, f.Colno)
			b = append(b, 0)
		}
		if v >= 3 && sameModule && last.start >= 0 && string(b[body:]) == string(b[last.start:last.end]) {
			b = b[:start]
			continue
		}
		last = span{body, len(b)}
		n++
	}
	return b, n
}

// maxSourceLine is the longest source line grouping reads: a longer one
// is minified code, one line holding a whole program, as Sentry treats it.
const maxSourceLine = 150

// appendSourceLine appends line with its spaces trimmed and each run of
// white space made one space; nothing for a line longer than
// maxSourceLine.
func appendSourceLine(b []byte, line string) []byte {
	s, e := 0, len(line)
	for s < e && isSpace(line[s]) {
		s++
	}
	for e > s && isSpace(line[e-1]) {
		e--
	}
	if e-s > maxSourceLine {
		return b
	}
	// Copied by runs between white space, not byte by byte.
	start := s
	for i := s; i < e; i++ {
		if !isSpace(line[i]) {
			continue
		}
		if line[i] == ' ' && !isSpace(line[i+1]) { // i < e-1: line[e-1] is no space
			continue // one space: part of the run
		}
		b = append(b, line[start:i]...)
		b = append(b, ' ')
		for i+1 < e && isSpace(line[i+1]) {
			i++
		}
		start = i + 1
	}
	return append(b, line[start:e]...)
}

func isSpace(c byte) bool { return c <= ' ' && spaces[c] }

var spaces = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, '\v': true, '\f': true}

func appendInt(b []byte, n int) []byte {
	if n <= 0 {
		return b
	}
	var d [20]byte
	i := len(d)
	for n > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[i:]...)
}

// isAnonymous reports whether a frame's function has no name: JavaScript
// SDKs send "?" or "<anonymous>", others nothing.
func isAnonymous(fn string) bool {
	switch fn {
	case "", "?", "<anonymous>", "anonymous", "<unknown>":
		return true
	}
	return false
}

// fileBase is the last element of a frame's file path or URL, without its
// query: build directories, hosts and deployments vary, the file's name
// does not.
func fileBase(filename, absPath string) string {
	p := filename
	if p == "" {
		p = absPath
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if i := strings.LastIndexAny(p, "/\\"); i >= 0 {
		p = p[i+1:]
	}
	return p
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
