// Package values is errlog's value walker, shared by the handler chain
// and the sinks.
package values

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This is the value walker: any Go value as text (Text, the
// text sinks) or as a JSON tree (JSON, events), one walker in two
// modes with the same bounds (maxDepth, MaxItems), cycle cuts, method
// handling and panic recovery.

// maxDepth bounds how deep Text walks nested values: deep enough for
// any real structure, shallow enough that a cyclic one ends.
const maxDepth = 8

// Mask replaces a masked value: errlog.DefaultMaskWith is this constant.
const Mask = "**************"

// MaxItems bounds the elements kept of one slice or map, in text and in
// JSON: the rest are summarised as "…[N more]".
const MaxItems = 1000

// Text returns v as text, the way fmt's %+v would, except that it can
// neither panic (a panicking String or Error method is shown as such) nor
// recurse forever (a map or slice that contains itself is cut at the
// cycle), which fmt would do and crash the program.
func Text(v any) string {
	return string(AppendText(nil, v))
}

// AppendText appends Text(v) to dst.
func AppendText(dst []byte, v any) (out []byte) {
	start := len(dst)
	defer func() {
		if p := recover(); p != nil {
			out = append(dst[:start], "!PANIC: "...)
			out = append(out, panicText(p)...)
		}
	}()
	return (&walker{}).text(dst, reflect.ValueOf(v), 0)
}

// walker walks a Go value in one of two modes: text (walker.text, for
// Text: fmt's %+v without its crashes) or a JSON tree (walker.tree,
// for JSON). Both modes share the cycle path, the bounds (maxDepth,
// MaxItems), the order in which a value's methods are trusted
// (methodText) and the summary of what was cut (moreText).
type walker struct{ path cyclePath }

// methodText is the text a value gives of itself through Error, String,
// MarshalText, or as []byte; ok is false for a value with none of these.
// A nil pointer with such a method is "" and nil, true: its method would
// usually panic.
func methodText(v reflect.Value) (text string, isNil, ok bool) {
	if !v.CanInterface() {
		return "", false, false
	}
	switch x := v.Interface().(type) {
	case *url.Userinfo:
		// Its String method shows the password.
		if x == nil {
			return "", true, true
		}
		if _, has := x.Password(); has {
			return x.Username() + ":" + Mask, false, true
		}
		return x.Username(), false, true
	case *url.URL:
		// Its String method shows the password; a url.URL (not a
		// Stringer: String has a pointer receiver) is the same URL, not
		// a struct of its parts.
		if x == nil {
			return "", true, true
		}
		return urlText(*x), false, true
	case url.URL:
		return urlText(x), false, true
	case error:
		if IsNilPointer(v) {
			return "", true, true
		}
		return x.Error(), false, true
	case fmt.Stringer:
		if IsNilPointer(v) {
			return "", true, true
		}
		return x.String(), false, true
	case encoding.TextMarshaler:
		if IsNilPointer(v) {
			return "", true, true
		}
		b, err := x.MarshalText()
		if err != nil {
			return "!ERROR: " + err.Error(), false, true
		}
		return string(b), false, true
	case []byte:
		return string(x), false, true
	}
	return "", false, false
}

// urlText is u.String() with its password masked, as Mask and not
// escaped (%2A%2A…).
func urlText(u url.URL) string {
	if u.User == nil {
		return u.String()
	}
	if _, has := u.User.Password(); !has {
		return u.String()
	}
	user := url.User(u.User.Username()).String()
	u.User = nil
	s := u.String()
	if p := u.Scheme + "://"; u.Scheme != "" && strings.HasPrefix(s, p) {
		return p + user + ":" + Mask + "@" + s[len(p):]
	}
	return s
}

func asMarshaler(v reflect.Value) (json.Marshaler, bool) {
	if !v.CanInterface() {
		return nil, false
	}
	m, ok := v.Interface().(json.Marshaler)
	return m, ok
}

// moreText summarises n elements cut at MaxItems.
func moreText(n int) string { return "…[" + strconv.Itoa(n) + " more]" }

// cyclePath holds the maps, slices and pointers being walked, outermost
// first: a value met again on its own path is a cycle.
type cyclePath []uintptr

// enter adds p to the path, or reports false if p is already on it.
func (c *cyclePath) enter(p uintptr) bool {
	for _, q := range *c {
		if q == p && p != 0 {
			return false
		}
	}
	*c = append(*c, p)
	return true
}

// leave removes the innermost entry.
func (c *cyclePath) leave() { *c = (*c)[:len(*c)-1] }

// text appends v as text.
func (w *walker) text(dst []byte, v reflect.Value, depth int) []byte {
	if !v.IsValid() {
		return append(dst, "<nil>"...)
	}
	if s, isNil, ok := methodText(v); ok {
		if isNil {
			return append(dst, "<nil>"...)
		}
		return append(dst, s...)
	}
	switch v.Kind() {
	case reflect.String:
		return append(dst, v.String()...)
	case reflect.Bool:
		return strconv.AppendBool(dst, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, v.Uint(), 10)
	case reflect.Float32:
		return strconv.AppendFloat(dst, v.Float(), 'g', -1, 32)
	case reflect.Float64:
		return strconv.AppendFloat(dst, v.Float(), 'g', -1, 64)
	case reflect.Complex64, reflect.Complex128:
		return append(dst, fmt.Sprint(v.Complex())...)
	case reflect.Interface:
		if v.IsNil() {
			return append(dst, "<nil>"...)
		}
		return w.text(dst, v.Elem(), depth)
	case reflect.Pointer:
		if v.IsNil() {
			return append(dst, "<nil>"...)
		}
		// As fmt does: the top-level pointer is followed, nested ones are
		// addresses, so pointer cycles cannot loop.
		if depth == 0 {
			return w.text(append(dst, '&'), v.Elem(), depth+1)
		}
		return append(dst, fmt.Sprintf("%#x", v.Pointer())...)
	}
	if depth >= maxDepth {
		return append(dst, "…"...)
	}
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return append(dst, "map[]"...)
		}
		if !w.path.enter(v.Pointer()) {
			return append(dst, "<cycle>"...)
		}
		dst = append(dst, "map["...)
		iter := v.MapRange()
		for i := 0; iter.Next(); i++ {
			if i > 0 {
				dst = append(dst, ' ')
			}
			if i == MaxItems {
				dst = append(dst, moreText(v.Len()-MaxItems)...)
				break
			}
			dst = w.text(dst, iter.Key(), depth+1)
			dst = append(dst, ':')
			dst = w.text(dst, iter.Value(), depth+1)
		}
		w.path.leave()
		return append(dst, ']')
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice {
			if v.IsNil() {
				return append(dst, "[]"...)
			}
			if !w.path.enter(v.Pointer()) {
				return append(dst, "<cycle>"...)
			}
			defer w.path.leave()
		}
		dst = append(dst, '[')
		n := min(v.Len(), MaxItems)
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = w.text(dst, v.Index(i), depth+1)
		}
		if v.Len() > n {
			dst = append(dst, ' ')
			dst = append(dst, moreText(v.Len()-n)...)
		}
		return append(dst, ']')
	case reflect.Struct:
		dst = append(dst, '{')
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = append(dst, t.Field(i).Name...)
			dst = append(dst, ':')
			dst = w.text(dst, v.Field(i), depth+1)
		}
		return append(dst, '}')
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		if v.IsNil() {
			return append(dst, "<nil>"...)
		}
		return append(dst, fmt.Sprintf("%#x", v.Pointer())...)
	}
	return append(dst, v.Type().String()...)
}

func IsNilPointer(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// Truncate cuts s to at most max bytes at a rune boundary and marks
// the cut; max <= 0 means no limit. Invalid UTF-8 is kept as it is: the
// encoders of each sink escape it.
func Truncate(s string, max int) string {
	return TruncateMore(s, max, 0)
}

// TruncateMore is Truncate of s, the head of a value whose more bytes
// after it were cut already: it says they are gone too.
func TruncateMore(s string, max, more int) string {
	if max <= 0 || len(s) <= max && more == 0 {
		return s
	}
	cut := RuneCut(s, max)
	return s[:cut] + "…[truncated " + strconv.Itoa(len(s)-cut+more) + " bytes]"
}

// RuneCut is the length of s cut to at most n bytes at a rune's start
// (of a valid s).
func RuneCut(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}

// FieldAlias is a struct field whose json tag renames it, in a JSON tree:
// the sanitizer masks it by either name (a field Password tagged
// `json:"p"` is still a password), and JSON shows only its value.
type FieldAlias struct {
	GoName string
	V      any
}

// MarshalJSON writes the field's value.
func (f FieldAlias) MarshalJSON() ([]byte, error) { return json.Marshal(f.V) }

// JSON returns v as a tree of JSON values (map[string]any, []any,
// strings, numbers, booleans, nil) for events: structure kept, exported
// struct fields under their json names, errors and Stringers as their text,
// and cycles, depth and panics cut the way Text cuts them.
func JSON(v any) (out any) {
	defer func() {
		if p := recover(); p != nil {
			out = "!PANIC: " + panicText(p)
		}
	}()
	return (&walker{}).tree(reflect.ValueOf(v), 0)
}

// panicText is the text of p, a recovered panic's value, whose own
// methods may panic as the value's did (an Error that panics with its
// receiver): then its type only. fmt.Sprint's recover turned that second
// panic into a third, which nothing caught.
func panicText(p any) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("(%T: its method panicked)", p)
		}
	}()
	return fmt.Sprint(p)
}

// tree returns v as a JSON tree. A MarshalJSON method comes first, its
// output kept raw; then the methods of methodText.
func (w *walker) tree(v reflect.Value, depth int) any {
	if !v.IsValid() {
		return nil
	}
	if v.CanInterface() {
		// A tree walked again (scope extras and user data are made trees
		// when set, and again when the event is built) keeps a renamed
		// field's Go name for masking: its MarshalJSON would drop it.
		if fa, ok := v.Interface().(FieldAlias); ok {
			return FieldAlias{GoName: fa.GoName, V: w.tree(reflect.ValueOf(fa.V), depth)}
		}
	}
	if m, ok := asMarshaler(v); ok {
		if IsNilPointer(v) {
			return nil
		}
		if b, err := m.MarshalJSON(); err == nil && json.Valid(b) {
			return json.RawMessage(b)
		}
	}
	if s, isNil, ok := methodText(v); ok {
		if isNil {
			return nil
		}
		return s
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64) // JSON has no NaN
		}
		return f
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return w.tree(v.Elem(), depth)
	}
	if depth >= maxDepth {
		return "…"
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		if !w.path.enter(v.Pointer()) {
			return "<cycle>"
		}
		defer w.path.leave()
		return w.tree(v.Elem(), depth+1)
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		if !w.path.enter(v.Pointer()) {
			return "<cycle>"
		}
		defer w.path.leave()
		m := make(map[string]any, min(v.Len(), MaxItems))
		iter := v.MapRange()
		for iter.Next() {
			if len(m) == MaxItems {
				m["…"] = strconv.Itoa(v.Len()-MaxItems) + " more" // a key, not an element: "…": "N more"
				break
			}
			m[Text(iter.Key().Interface())] = w.tree(iter.Value(), depth+1)
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice {
			if v.IsNil() {
				return nil
			}
			if !w.path.enter(v.Pointer()) {
				return "<cycle>"
			}
			defer w.path.leave()
		}
		n := min(v.Len(), MaxItems)
		s := make([]any, n, n+1)
		for i := range s {
			s[i] = w.tree(v.Index(i), depth+1)
		}
		if v.Len() > n {
			s = append(s, moreText(v.Len()-n))
		}
		return s
	case reflect.Struct:
		t := v.Type()
		m := make(map[string]any, t.NumField())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup("json"); ok {
				n, _, _ := strings.Cut(tag, ",")
				if n == "-" {
					continue
				}
				if n != "" {
					name = n
				}
			}
			if name != f.Name {
				// Masking sees both names: a field Password tagged
				// `json:"p"` is still a password.
				m[name] = FieldAlias{GoName: f.Name, V: w.tree(v.Field(i), depth+1)}
				continue
			}
			m[name] = w.tree(v.Field(i), depth+1)
		}
		return m
	}
	return Text(v.Interface())
}
