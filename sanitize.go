package errlog

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/errlog/errlog/internal/values"
)

// This file is the value sanitizing every record goes through: the
// masking policy of mask.go applied at any depth, and values bounded
// (MaxAttrs, MaxGroupDepth, MaxValueBytes, long keys), resolved without
// trusting their LogValue, Error and MarshalJSON methods, and made valid
// UTF-8. Its tests are bounds_test.go and badinput_test.go.

// sanitizer is the one pass every record goes through before any sink sees
// it: secrets masked, long values truncated, values that could crash or
// hang a formatter (a panicking LogValuer, a cyclic map) made into text.
type sanitizer struct {
	m   *masker
	max int // MaxValueBytes; <= 0: no limit
}

// MaxAttrs bounds the attrs of one record, and of one group: the rest
// are summarised as one attr "…" = "N more".
const MaxAttrs = 200

// MaxGroupDepth bounds the nesting of groups (slog.Group, WithGroup) and
// of values: deeper ones are summarised as "…[N more]".
const MaxGroupDepth = 16

// moreAttr summarises n attrs left out.
func moreAttr(n int) slog.Attr { return slog.String("…", strconv.Itoa(n)+" more") }

// attrs returns as, sanitized; it allocates only when something changes.
func (s *sanitizer) attrs(as []slog.Attr, c category) []slog.Attr {
	return s.attrsAt(as, c, 0)
}

func (s *sanitizer) attrsAt(as []slog.Attr, c category, depth int) []slog.Attr {
	var out []slog.Attr
	for i, a := range as[:min(len(as), MaxAttrs)] {
		b, changed := s.attrAt(a, c, depth)
		if changed && out == nil {
			out = make([]slog.Attr, i, min(len(as), MaxAttrs+1))
			copy(out, as[:i])
		}
		if out != nil {
			out = append(out, b)
		}
	}
	if len(as) > MaxAttrs {
		if out == nil {
			out = make([]slog.Attr, MaxAttrs, MaxAttrs+1)
			copy(out, as)
		}
		out = append(out, moreAttr(len(as)-MaxAttrs))
	}
	if out == nil {
		return as
	}
	return out
}

// groupDepth counts the groups a handler's records are in.
func groupDepth(goas []groupOrAttrs) int {
	n := 0
	for _, g := range goas {
		if g.group != "" {
			n++
		}
	}
	return n
}

// countAttrs counts the attrs in a group, at every depth.
func countAttrs(as []slog.Attr) int {
	n := 0
	for _, a := range as {
		n++
		if a.Value.Kind() == slog.KindGroup && n < 1<<20 {
			n += countAttrs(a.Value.Group())
		}
	}
	return n
}

// clean reports whether a needs no sanitizing, cheaply, for the kinds
// most attrs are: a number, a flag, a time or a short valid string under a
// key that is not secret. sanitizeRecord asks it first.
func (s *sanitizer) clean(a slog.Attr) bool {
	switch a.Value.Kind() {
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
	case slog.KindString:
		str := a.Value.String()
		if s.max > 0 && len(str) > s.max || !utf8.ValidString(str) || s.m.mayHoldSecret(str) || maybeJSON(str) || s.m.namesSecret(str) {
			return false
		}
	default:
		return false
	}
	return !(s.max > 0 && len(a.Key) > s.max) && !s.m.secretKey(a.Key)
}

// attr sanitizes one attr; changed reports whether it differs from a.
func (s *sanitizer) attr(a slog.Attr, c category) (slog.Attr, bool) {
	return s.attrAt(a, c, 0)
}

// attrAt is attr for an attr depth groups down.
func (s *sanitizer) attrAt(a slog.Attr, c category, depth int) (slog.Attr, bool) {
	if s.max > 0 && len(a.Key) > s.max {
		// Keys are bounded like values: a 10 MB key is no more a key.
		a.Key = values.Truncate(escapeInvalidUTF8(a.Key), s.max)
		b, _ := s.attrValue(a, c, depth)
		return b, true
	}
	return s.attrValue(a, c, depth)
}

// attrValue is attrAt once the key is bounded.
func (s *sanitizer) attrValue(a slog.Attr, c category, depth int) (slog.Attr, bool) {
	if c == catNone && a.Key == "session" {
		c = catSession
	}
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = resolve(a.Value)
		b, _ := s.attrValue(a, c, depth)
		return b, true
	}
	if a.Key != "" && s.m.hides(c, a.Key) {
		return slog.Attr{Key: a.Key, Value: s.m.withVal}, true
	}
	switch a.Value.Kind() {
	case slog.KindString:
		str := a.Value.String()
		if t := s.text(str); t != str {
			return slog.String(a.Key, t), true
		}
	case slog.KindGroup:
		g := a.Value.Group()
		if depth >= MaxGroupDepth-1 {
			return slog.String(a.Key, "…["+strconv.Itoa(countAttrs(g))+" more]"), true
		}
		ng := s.attrsAt(g, c, depth+1)
		if len(g) > 0 && &ng[0] != &g[0] {
			return slog.Attr{Key: a.Key, Value: slog.GroupValue(ng...)}, true
		}
	case slog.KindAny:
		v := a.Value.Any()
		if safeAny(v) {
			return a, false
		}
		if _, ok := v.(safeError); ok {
			return a, false
		}
		if err, ok := v.(error); ok {
			if values.IsNilPointer(reflect.ValueOf(err)) {
				// A typed nil ((*myErr)(nil)) is no failure, and its
				// Error method most often panics on the nil pointer.
				return slog.String(a.Key, "<nil>"), true
			}
			// Errors stay errors, so that the event keeps its chain and
			// stack. Most errors' text is fine as it is and costs nothing
			// more; one whose Error method panics, or whose text is too
			// long or not UTF-8, is given a safe text for the text sinks.
			text, ok := errorText(err)
			if ok && (s.max <= 0 || len(text) <= s.max) && utf8.ValidString(text) && !s.m.mayHoldSecret(text) && !s.m.mentionsKey(text) {
				return a, false
			}
			if !ok {
				text = values.Text(err)
			}
			return slog.Any(a.Key, safeError{err: err, text: s.maskCapped(escapeInvalidUTF8(text), s.m.scrubText)}), true
		}
		// Anything else becomes a tree of plain values: bounded, free of
		// cycles, with secret keys masked inside it, and printed by every
		// sink the same way. Headers and form values logged as attrs are
		// masked as the request's are.
		switch v.(type) {
		case http.Header:
			c = catHeaders
		case url.Values:
			c = catParams
		}
		tree := s.cleanTree(c, values.JSON(v))
		if str, ok := tree.(string); ok {
			return slog.String(a.Key, str), true
		}
		return slog.Attr{Key: a.Key, Value: treeValue(tree)}, true
	}
	return a, false
}

// safeAny reports whether formatting v with fmt is known to be safe and
// bounded: the types slog users log every day. Anything else goes through
// safeText once.
func safeAny(v any) bool {
	switch v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr,
		float32, float64, complex64, complex128, string:
		return true
	}
	return false
}

// safeError is an error whose text was taken once, safely: the text sinks
// print text, the event builder unwraps err for the chain and stack.
type safeError struct {
	err  error
	text string
}

func (e safeError) Error() string { return e.text }
func (e safeError) Unwrap() error { return e.err }

// cleanTree masks secret keys inside a jsonValue tree (or decoded JSON) at
// any depth, truncates its strings, and decodes the raw JSON a MarshalJSON
// method gave, in place. Below a "session" key, the session filter applies
// too.
func (s *sanitizer) cleanTree(c category, v any) any {
	return s.cleanTreeAt(c, v, 0)
}

func (s *sanitizer) cleanTreeAt(c category, v any, depth int) any {
	switch x := v.(type) {
	case string:
		return s.text(x)
	case values.FieldAlias:
		if s.m.hides(c, x.GoName) {
			return s.m.with
		}
		return s.cleanTreeAt(c, x.V, depth)
	case json.RawMessage:
		var d any
		if err := json.Unmarshal(x, &d); err != nil {
			return values.Truncate(escapeInvalidUTF8(string(x)), s.max)
		}
		return s.cleanTreeAt(c, d, depth)
	case map[string]any:
		if depth >= MaxGroupDepth {
			return "…[" + strconv.Itoa(len(x)) + " more]"
		}
		boundKeys(x, s.max)
		for k, val := range x {
			if s.m.hides(c, k) {
				x[k] = s.m.with
			} else {
				x[k] = s.cleanTreeAt(subCategory(c, k), val, depth+1)
			}
		}
		s.maskNamedValue(c, x)
		if len(x) > values.MaxItems {
			n := 0
			for k := range x {
				if n++; n > values.MaxItems {
					delete(x, k)
				}
			}
			x["…"] = strconv.Itoa(n-values.MaxItems) + " more"
		}
	case []any:
		if depth >= MaxGroupDepth {
			return "…[" + strconv.Itoa(len(x)) + " more]"
		}
		if len(x) > values.MaxItems {
			x = append(x[:values.MaxItems:values.MaxItems], "…["+strconv.Itoa(len(x)-values.MaxItems)+" more]")
		}
		for i := range x {
			x[i] = s.cleanTreeAt(c, x[i], depth+1)
		}
		return x
	case map[string]string:
		boundKeys(x, s.max)
		for k, val := range x {
			if s.m.hides(c, k) {
				x[k] = s.m.with
			} else {
				x[k] = s.text(val)
			}
		}
	}
	return v
}

// text is a string value made safe: valid UTF-8, secrets of a known shape
// masked, the value after a masked key in free text ("login
// password=hunter2") masked as in a message or an error's text, at most
// max bytes. It returns str itself when nothing changes.
// maskMargin is how much of a long text past MaxValueBytes is masked with
// what is kept: a secret cut at the end is still masked whole enough.
const maskMargin = 1 << 10

// maskCapped is mask(text) bounded to MaxValueBytes, masking only what is
// kept and maskMargin: a 10 MB message was masked whole on the caller's
// goroutine (100 – 250 ms) to keep 64 KB of it.
func (s *sanitizer) maskCapped(text string, mask func(string) string) string {
	more := 0
	if s.max > 0 && len(text) > s.max+maskMargin {
		cut := values.RuneCut(text, s.max+maskMargin)
		text, more = text[:cut], len(text)-cut
	}
	return values.TruncateMore(mask(text), s.max, more)
}

func (s *sanitizer) text(str string) string {
	if (s.max <= 0 || len(str) <= s.max) && utf8.ValidString(str) && !s.m.mayHoldSecret(str) && !maybeJSON(str) && !s.m.namesSecret(str) {
		return str
	}
	if maybeJSON(str) && s.m.mentionsKey(str) {
		// JSON held as text or []byte: masked field by field, so that
		// {"name": "DB_PASSWORD", "value": "…"} hides its value.
		var d any
		if json.Unmarshal([]byte(str), &d) == nil {
			if b, err := json.Marshal(s.cleanTree(catNone, d)); err == nil {
				str = string(b)
			}
		}
	}
	return values.Truncate(s.m.scrubText(escapeInvalidUTF8(str)), s.max)
}

// maybeJSON reports whether s may be a JSON object or array.
func maybeJSON(s string) bool {
	return len(s) > 1 && (s[0] == '{' || s[0] == '[')
}

// nameKeys are the fields that name the value beside them in a name/value
// pair: {"name": "DB_PASSWORD", "value": "…"}, as environment lists,
// settings and Kubernetes manifests write them.
var nameKeys = [...]string{"name", "key", "Name", "Key"}

// maskNamedValue masks the "value" of a name/value pair whose name is a
// masked key.
func (s *sanitizer) maskNamedValue(c category, x map[string]any) {
	for _, vk := range [...]string{"value", "Value"} {
		if _, ok := x[vk]; !ok {
			continue
		}
		for _, nk := range nameKeys {
			if name, ok := x[nk].(string); ok && s.m.hides(c, name) {
				x[vk] = s.m.with
				return
			}
		}
	}
}

// boundKeys cuts the keys of m longer than max bytes, in place.
func boundKeys[V any](m map[string]V, max int) {
	if max <= 0 {
		return
	}
	var long []string
	for k := range m {
		if len(k) > max {
			long = append(long, k)
		}
	}
	for _, k := range long {
		v := m[k]
		delete(m, k)
		m[values.Truncate(escapeInvalidUTF8(k), max)] = v
	}
}

// subCategory is the category below key: the session's, under "session".
func subCategory(c category, key string) category {
	if c == catNone && key == "session" {
		return catSession
	}
	return c
}

// resolve is slog.Value.Resolve, except that a panicking LogValue method
// is shown with its panic value, which slog's own recovery leaves out.
func resolve(v slog.Value) (out slog.Value) {
	defer func() {
		if p := recover(); p != nil {
			out = slog.StringValue("!PANIC in LogValue: " + values.Text(p))
		}
	}()
	for i := 0; i < 100 && v.Kind() == slog.KindLogValuer; i++ {
		v = v.LogValuer().LogValue()
	}
	if v.Kind() == slog.KindLogValuer {
		return slog.StringValue("!ERROR: LogValue called LogValue 100 times")
	}
	return v
}

// escapeInvalidUTF8 writes each byte that is not valid UTF-8 as \xNN: the
// reader sees the actual bytes, and every sink gets valid text.
func escapeInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&0xf])
			i++
			continue
		}
		b = append(b, s[i:i+size]...)
		i += size
	}
	return string(b)
}

// errorText returns err.Error(), or false if it panics (or err is a nil
// pointer inside a non-nil interface, whose Error method usually panics).
func errorText(err error) (text string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return err.Error(), true
}

// treeValue is a value's tree as slog sees structure: an object (a
// struct, a map) a group of its fields in key order, so that the console
// and the file print it as slog prints a group (order.id=7
// order.items=[…]) and events keep it as an object; anything else as it
// is.
func treeValue(tree any) slog.Value {
	m, ok := tree.(map[string]any)
	if !ok {
		return slog.AnyValue(tree)
	}
	if len(m) == 0 {
		return slog.StringValue("{}") // slog drops an empty group
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	as := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		switch x := m[k].(type) {
		case string:
			as = append(as, slog.String(k, x))
		case map[string]any:
			as = append(as, slog.Attr{Key: k, Value: treeValue(x)})
		default:
			as = append(as, slog.Any(k, x))
		}
	}
	return slog.GroupValue(as...)
}
