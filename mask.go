package errlog

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// DefaultMaskWith replaces a masked value.
const DefaultMaskWith = "**************"

// DefaultMaskKeys are the key substrings masked when MaskOptions.Keys is
// nil: the two of Flask-Exceptional and error-tracker, and the names
// credentials usually go by.
var DefaultMaskKeys = []string{"password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "credential"}

// DefaultHeaderFilter are the headers masked whatever their value: they
// carry credentials by definition.
var DefaultHeaderFilter = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "X-Csrf-Token"}

// DefaultCookieFilter masks every cookie's value and keeps its name: a
// session cookie is a credential whatever it is called ("sessionid",
// "jwt", "_app_session"). Set MaskOptions.Cookies to a list of names to
// show the other cookies.
var DefaultCookieFilter = []string{"/.*/"}

// DefaultEnvironmentFilter are the environment variables masked whatever
// their name says (Flask's SECRET_KEY is already caught by "secret"). A
// URL with a password in any variable or Config value has the password
// masked too.
var DefaultEnvironmentFilter = []string{"SECRET_KEY", "DATABASE_URL", "AWS_ACCESS_KEY_ID", "/dsn/", "/_url$/"}

// MaskOptions say which values never leave the process. A value is masked
// when its key, lower-cased, contains one of Keys, or when the key matches
// a filter of its category. Masking happens once, before any sink sees the
// record: console, file, mail and tracker all show the same mask.
type MaskOptions struct {
	// Keys are case-insensitive substrings of keys whose values are
	// masked, at any group depth, in attrs, query parameters, form and
	// JSON fields, headers, cookies, scope extras and the environment.
	// Default DefaultMaskKeys; an empty non-nil slice masks by key nowhere.
	Keys []string `json:"keys" yaml:"keys"`
	// With replaces masked values. Default DefaultMaskWith.
	With string `json:"with" yaml:"with"`

	// Per-category filters, as Flask-Exceptional has them. Each entry is a
	// key matched whole and case-insensitively, or a regular expression
	// written between slashes ("/^x-internal-/"), matched against the
	// lower-cased key.
	Params      []string `json:"params" yaml:"params"`           // query, form and JSON body fields
	Headers     []string `json:"headers" yaml:"headers"`         // request headers; default DefaultHeaderFilter
	Cookies     []string `json:"cookies" yaml:"cookies"`         // request cookies; default DefaultCookieFilter (every value)
	Session     []string `json:"session" yaml:"session"`         // the "session" group of attrs and request context
	Environment []string `json:"environment" yaml:"environment"` // os.* variables and Config; default DefaultEnvironmentFilter
}

// masker is MaskOptions compiled.
type masker struct {
	keys    []string // lower-cased
	with    string
	withVal slog.Value
	params  filter
	headers filter
	cookies filter
	session filter
	env     filter
	cache   [1 << keyCacheBits]atomic.Pointer[keyVerdict]
}

// filter matches keys of one category.
type filter struct {
	exact []string // lower-cased
	re    []*regexp.Regexp
}

func (f filter) match(lowerKey string) bool {
	for _, e := range f.exact {
		if e == lowerKey {
			return true
		}
	}
	for _, re := range f.re {
		if re.MatchString(lowerKey) {
			return true
		}
	}
	return false
}

func compileFilter(category string, entries []string) (filter, error) {
	var f filter
	for _, e := range entries {
		if len(e) >= 2 && e[0] == '/' && e[len(e)-1] == '/' {
			re, err := regexp.Compile(e[1 : len(e)-1])
			if err != nil {
				return f, fmt.Errorf("errlog: mask: %s filter %q: %w", category, e, err)
			}
			f.re = append(f.re, re)
			continue
		}
		f.exact = append(f.exact, strings.ToLower(e))
	}
	return f, nil
}

func newMasker(o MaskOptions) (*masker, error) {
	m := &masker{with: o.With}
	if m.with == "" {
		m.with = DefaultMaskWith
	}
	m.withVal = slog.StringValue(m.with)
	keys := o.Keys
	if keys == nil {
		keys = DefaultMaskKeys
	}
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" {
			m.keys = append(m.keys, strings.ToLower(k))
		}
	}
	headers, env, cookies := o.Headers, o.Environment, o.Cookies
	if headers == nil {
		headers = DefaultHeaderFilter
	}
	if cookies == nil {
		cookies = DefaultCookieFilter
	}
	if env == nil {
		env = DefaultEnvironmentFilter
	}
	var err error
	var errs []error
	for _, c := range []struct {
		name    string
		entries []string
		dst     *filter
	}{
		{"params", o.Params, &m.params},
		{"headers", headers, &m.headers},
		{"cookies", cookies, &m.cookies},
		{"session", o.Session, &m.session},
		{"environment", env, &m.env},
	} {
		if *c.dst, err = compileFilter(c.name, c.entries); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return m, errs[0]
	}
	return m, nil
}

// secretKey reports whether key contains one of the mask substrings,
// ignoring ASCII case. It runs for every attr of every record, and attr
// keys are nearly always the same few constant strings: the answer is
// cached by the string's address, so that a known key costs a load and a
// compare instead of a substring search per mask key.
func (m *masker) secretKey(key string) bool {
	if len(key) == 0 {
		return false
	}
	// Constant strings sit side by side in the binary: address plus
	// length would collide ("status" and the "ok" after it), so the two
	// are mixed separately.
	h := uint64(uintptr(unsafe.Pointer(unsafe.StringData(key))))*0x9E3779B97F4A7C15 ^ uint64(len(key))*0xC2B2AE3D27D4EB4F
	slot := &m.cache[h>>(64-keyCacheBits)]
	if e := slot.Load(); e != nil && e.key == key {
		return e.secret
	}
	secret := false
	for _, sub := range m.keys {
		if containsFold(key, sub) {
			secret = true
			break
		}
	}
	// The entry holds the key, so its memory cannot be reused by another
	// string while cached; e.key == key also checks the content.
	slot.Store(&keyVerdict{key: key, secret: secret})
	return secret
}

const keyCacheBits = 9

type keyVerdict struct {
	key    string
	secret bool
}

// containsFold reports whether s contains lower (already lower-case
// ASCII... or not: non-ASCII bytes compare exactly), ignoring ASCII case.
func containsFold(s, lower string) bool {
	n := len(lower)
	if n == 0 {
		return false
	}
	first := lower[0]
	for i := 0; i+n <= len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != first {
			continue
		}
		j := 1
		for ; j < n; j++ {
			d := s[i+j]
			if 'A' <= d && d <= 'Z' {
				d += 'a' - 'A'
			}
			if d != lower[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// category says which per-category filter applies below a key.
type category uint8

const (
	catNone category = iota
	catParams
	catHeaders
	catCookies
	catSession
	catEnv
)

func (m *masker) filterOf(c category) *filter {
	switch c {
	case catParams:
		return &m.params
	case catHeaders:
		return &m.headers
	case catCookies:
		return &m.cookies
	case catSession:
		return &m.session
	case catEnv:
		return &m.env
	}
	return nil
}

// hides reports whether the value under key must be masked in category c.
func (m *masker) hides(c category, key string) bool {
	if m.secretKey(key) {
		return true
	}
	f := m.filterOf(c)
	return f != nil && (len(f.exact) > 0 || len(f.re) > 0) && f.match(strings.ToLower(key))
}

// maskString masks a string map in place.
func (m *masker) maskStrings(c category, kv map[string]string) {
	for k := range kv {
		if m.hides(c, k) {
			kv[k] = m.with
		}
	}
}

// maskQuery masks the values of secret parameters in a raw query string,
// keeping its order and encoding.
func (m *masker) maskQuery(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		if m.hides(catParams, key) {
			parts[i] = k + "=" + url.QueryEscape(m.with)
			changed = true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// sanitizer is the one pass every record goes through before any sink sees
// it: secrets masked, long values truncated, values that could crash or
// hang a formatter (a panicking LogValuer, a cyclic map) made into text.
type sanitizer struct {
	m   *masker
	max int // MaxValueBytes; <= 0: no limit
}

// attrs returns as, sanitized; it allocates only when something changes.
func (s *sanitizer) attrs(as []slog.Attr, c category) []slog.Attr {
	var out []slog.Attr
	for i, a := range as {
		b, changed := s.attr(a, c)
		if changed && out == nil {
			out = make([]slog.Attr, i, len(as))
			copy(out, as[:i])
		}
		if out != nil {
			out = append(out, b)
		}
	}
	if out == nil {
		return as
	}
	return out
}

// clean reports whether a needs no sanitizing, cheaply, for the kinds
// most attrs are: a number, a flag, a time or a short valid string under a
// key that is not secret. sanitizeRecord asks it first.
func (s *sanitizer) clean(a slog.Attr) bool {
	switch a.Value.Kind() {
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
	case slog.KindString:
		str := a.Value.String()
		if s.max > 0 && len(str) > s.max || !utf8.ValidString(str) {
			return false
		}
	default:
		return false
	}
	return !s.m.secretKey(a.Key)
}

// attr sanitizes one attr; changed reports whether it differs from a.
func (s *sanitizer) attr(a slog.Attr, c category) (slog.Attr, bool) {
	if c == catNone && a.Key == "session" {
		c = catSession
	}
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = resolve(a.Value)
		b, _ := s.attr(a, c)
		return b, true
	}
	if a.Key != "" && s.m.hides(c, a.Key) {
		return slog.Attr{Key: a.Key, Value: s.m.withVal}, true
	}
	switch a.Value.Kind() {
	case slog.KindString:
		str := a.Value.String()
		if s.max > 0 && len(str) > s.max {
			return slog.String(a.Key, truncateString(str, s.max)), true
		}
		if !utf8.ValidString(str) {
			return slog.String(a.Key, escapeInvalidUTF8(str)), true
		}
	case slog.KindGroup:
		g := a.Value.Group()
		ng := s.attrs(g, c)
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
			// Errors stay errors, so that the event keeps its chain and
			// stack. Most errors' text is fine as it is and costs nothing
			// more; one whose Error method panics, or whose text is too
			// long or not UTF-8, is given a safe text for the text sinks.
			if text, ok := errorText(err); ok && (s.max <= 0 || len(text) <= s.max) && utf8.ValidString(text) {
				return a, false
			}
			return slog.Any(a.Key, safeError{err: err, text: truncateString(escapeInvalidUTF8(safeText(err)), s.max)}), true
		}
		// Anything else becomes a tree of plain values: bounded, free of
		// cycles, with secret keys masked inside it, and printed by every
		// sink the same way.
		tree := s.cleanTree(c, jsonValue(v))
		if str, ok := tree.(string); ok {
			return slog.String(a.Key, str), true
		}
		return slog.Any(a.Key, tree), true
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
	switch x := v.(type) {
	case string:
		return truncateString(escapeInvalidUTF8(x), s.max)
	case json.RawMessage:
		var d any
		if err := json.Unmarshal(x, &d); err != nil {
			return truncateString(escapeInvalidUTF8(string(x)), s.max)
		}
		return s.cleanTree(c, d)
	case map[string]any:
		for k, val := range x {
			if s.m.hides(c, k) {
				x[k] = s.m.with
			} else {
				x[k] = s.cleanTree(subCategory(c, k), val)
			}
		}
	case []any:
		for i := range x {
			x[i] = s.cleanTree(c, x[i])
		}
	case map[string]string:
		for k, val := range x {
			if s.m.hides(c, k) {
				x[k] = s.m.with
			} else {
				x[k] = truncateString(escapeInvalidUTF8(val), s.max)
			}
		}
	}
	return v
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
			out = slog.StringValue("!PANIC in LogValue: " + safeText(p))
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

// maskURLPassword masks the password of a URL in s ("postgres://u:pw@h/db",
// "http://u:pw@proxy:3128"), which environment variables and settings
// carry whatever their name.
func (m *masker) maskURLPassword(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), m.with)
	return u.String()
}
