package errlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// DefaultMaskWith replaces a masked value.
const DefaultMaskWith = "**************"

// DefaultMaskKeys returns the key parts masked when MaskOptions.Keys is
// nil: the two of Flask-Exceptional and error-tracker, and the names
// credentials usually go by. It returns a new slice each time, so that no
// package can weaken masking for the whole process.
func DefaultMaskKeys() []string {
	return []string{
		"password", "passwd", "secret", "token", "api_key", "access_key", "private_key", "credential",
		"authorization", "bearer", "cookie", "session_id",
		// Whole words (four letters or fewer): "pass" masks db_pass and
		// dbPass, not passenger; "auth" masks X-Auth, not author.
		"pwd", "pass", "auth", "jwt", "sid",
	}
}

// DefaultHeaderFilter returns the request headers masked whatever their
// value: the ones that carry credentials by definition, and any whose
// name contains auth, key, token, secret, session, cookie or csrf
// ("Api-Key", "X-Auth", "X-Access-Key").
func DefaultHeaderFilter() []string {
	return []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "/auth|key|token|secret|session|cookie|csrf/"}
}

// DefaultCookieFilter returns the cookie filter that masks every cookie's
// value and keeps its name: a session cookie is a credential whatever it
// is called ("sessionid", "jwt", "_app_session"). Set MaskOptions.Cookies
// to a list of names to show the other cookies.
func DefaultCookieFilter() []string { return []string{"/.*/"} }

// DefaultEnvironmentFilter returns the environment variables and Config
// keys masked whatever their name says (Flask's SECRET_KEY is already
// caught by "secret"). A URL with a password in any variable or Config
// value has the password masked too. Only allow-listed variables are sent
// at all (see Options.EnvKeys).
func DefaultEnvironmentFilter() []string {
	return []string{"SECRET_KEY", "DATABASE_URL", "AWS_ACCESS_KEY_ID", "/dsn/", "/_url$/"}
}

// MaskOptions say which values never leave the process. A value is masked
// when its key matches one of Keys, or a filter of its category. Masking
// happens once, before any sink sees the record: console, file, mail and
// tracker all show the same mask.
type MaskOptions struct {
	// Keys are the parts of keys whose values are masked, at any group
	// depth, in attrs, query parameters, form and JSON fields, headers,
	// cookies, user data, scope extras and the environment. Keys are
	// compared normalised: case is ignored and "-", "_", "." and " " are
	// alike, so "api_key" masks api-key, API.KEY and apiKey. An entry of
	// four letters or fewer is matched as a whole word of the key ("pass"
	// masks db_pass and dbPass, not passenger); a longer one anywhere in
	// it. Default DefaultMaskKeys(); an empty non-nil slice masks by key
	// nowhere.
	Keys []string `json:"keys" yaml:"keys"`
	// With replaces masked values. Default DefaultMaskWith.
	With string `json:"with" yaml:"with"`

	// Per-category filters, as Flask-Exceptional has them. Each entry is a
	// key matched whole (normalised as Keys are), or a regular expression
	// written between slashes ("/^x-internal-/"), matched against the
	// lower-cased key. A bad expression is reported and skipped; the
	// category's defaults then apply as well, so that a typo never shows
	// what it meant to hide.
	Params      []string `json:"params" yaml:"params"`           // query, form and JSON body fields, url.Values
	Headers     []string `json:"headers" yaml:"headers"`         // request headers, http.Header; default DefaultHeaderFilter()
	Cookies     []string `json:"cookies" yaml:"cookies"`         // request cookies; default DefaultCookieFilter() (every value)
	Session     []string `json:"session" yaml:"session"`         // the "session" group of attrs and request context
	Environment []string `json:"environment" yaml:"environment"` // os.* variables and Config; default DefaultEnvironmentFilter()
}

// masker is MaskOptions compiled.
type masker struct {
	subs    [][]byte // normalised keys matched anywhere
	words   []string // normalised keys matched as whole words
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
	exact []string // normalised
	re    []*regexp.Regexp
}

func (f *filter) empty() bool { return len(f.exact) == 0 && len(f.re) == 0 }

func (f *filter) match(key string) bool {
	if len(f.exact) > 0 {
		var buf [64]byte
		n := normalizeKey(buf[:0], key)
		for _, e := range f.exact {
			if e == string(n) {
				return true
			}
		}
	}
	if len(f.re) > 0 {
		lower := strings.ToLower(key)
		for _, re := range f.re {
			if re.MatchString(lower) {
				return true
			}
		}
	}
	return false
}

// compileFilter compiles every entry it can. A bad one is reported and
// skipped: the others still apply.
func compileFilter(category string, entries []string) (filter, error) {
	var f filter
	var errs []error
	for _, e := range entries {
		if len(e) >= 2 && e[0] == '/' && e[len(e)-1] == '/' {
			re, err := regexp.Compile(e[1 : len(e)-1])
			if err != nil {
				errs = append(errs, fmt.Errorf("errlog: mask: %s filter %q skipped: %w", category, e, err))
				continue
			}
			f.re = append(f.re, re)
			continue
		}
		f.exact = append(f.exact, string(normalizeKey(nil, e)))
	}
	return f, errors.Join(errs...)
}

// normalizeKey appends key lower-cased, without "-", "_", "." and " ".
func normalizeKey(dst []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// maxWordKey is the longest Keys entry matched as a whole word.
const maxWordKey = 4

func newMasker(o MaskOptions) (*masker, error) {
	m := &masker{with: o.With}
	if m.with == "" {
		m.with = DefaultMaskWith
	}
	m.withVal = slog.StringValue(m.with)
	keys := o.Keys
	if keys == nil {
		keys = DefaultMaskKeys()
	}
	for _, k := range keys {
		n := normalizeKey(nil, strings.TrimSpace(k))
		switch {
		case len(n) == 0:
		case len(n) <= maxWordKey:
			m.words = append(m.words, string(n))
		default:
			m.subs = append(m.subs, n)
		}
	}
	var errs []error
	for _, c := range []struct {
		name     string
		entries  []string
		defaults []string
		dst      *filter
	}{
		{"params", o.Params, nil, &m.params},
		{"headers", o.Headers, DefaultHeaderFilter(), &m.headers},
		{"cookies", o.Cookies, DefaultCookieFilter(), &m.cookies},
		{"session", o.Session, nil, &m.session},
		{"environment", o.Environment, DefaultEnvironmentFilter(), &m.env},
	} {
		entries := c.entries
		if entries == nil {
			entries = c.defaults
		}
		f, err := compileFilter(c.name, entries)
		if err != nil {
			// Fail closed: what the bad entry meant to hide is unknown,
			// so the category's defaults apply besides the good entries.
			errs = append(errs, err)
			if c.entries != nil && c.defaults != nil {
				d, _ := compileFilter(c.name, c.defaults)
				f.exact = append(f.exact, d.exact...)
				f.re = append(f.re, d.re...)
			}
		}
		*c.dst = f
	}
	return m, errors.Join(errs...)
}

// secretKey reports whether key matches one of the mask keys. It runs for
// every attr of every record, and attr keys are nearly always the same few
// constant strings: the answer is cached by the string's address, so that
// a known key costs a load and a compare instead of a search per mask key.
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
	secret := m.matchKey(key)
	// The entry holds the key, so its memory cannot be reused by another
	// string while cached; e.key == key also checks the content.
	slot.Store(&keyVerdict{key: key, secret: secret})
	return secret
}

// matchKey is secretKey without the cache.
func (m *masker) matchKey(key string) bool {
	if len(m.subs) > 0 {
		var buf [64]byte
		n := normalizeKey(buf[:0], key)
		for _, sub := range m.subs {
			if bytes.Contains(n, sub) {
				return true
			}
		}
	}
	if len(m.words) > 0 {
		return m.hasWord(key)
	}
	return false
}

// hasWord reports whether one of s's words is a word key. Words are split
// at anything but letters and digits, between a lower-case and an
// upper-case letter (dbPass), before the last capital of a run followed by
// a lower-case letter (XAuth) and between letters and digits (pwd2).
func (m *masker) hasWord(s string) bool {
	start := -1
	for i := 0; i <= len(s); i++ {
		boundary := i == len(s)
		if !boundary {
			c := s[i]
			switch {
			case !isWordByte(c):
				boundary = true
			case start >= 0 && i > start:
				p := s[i-1]
				boundary = isUpper(c) && isLower(p) ||
					isUpper(c) && isUpper(p) && i+1 < len(s) && isLower(s[i+1]) ||
					isDigit(c) != isDigit(p)
			}
		}
		if boundary && start >= 0 {
			w := s[start:i]
			for _, k := range m.words {
				if len(w) == len(k) && strings.EqualFold(w, k) {
					return true
				}
			}
			start = -1
		}
		if i < len(s) && isWordByte(s[i]) && start < 0 {
			start = i
		}
	}
	return false
}

func isWordByte(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) || c >= 0x80 }
func isLower(c byte) bool    { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool    { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }

// mentionsKey reports whether a text (a body that could not be split into
// fields) mentions a mask key anywhere.
func (m *masker) mentionsKey(text string) bool {
	if len(m.subs) > 0 {
		n := normalizeKey(make([]byte, 0, len(text)), text)
		for _, sub := range m.subs {
			if bytes.Contains(n, sub) {
				return true
			}
		}
	}
	return len(m.words) > 0 && m.hasWord(text)
}

const keyCacheBits = 9

type keyVerdict struct {
	key    string
	secret bool
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
	return f != nil && !f.empty() && f.match(key)
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
			parts[i] = k + "=" + queryMask(m.with)
			changed = true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// queryMask escapes the mask for a query string, keeping the asterisks
// that are valid there: "**************", not "%2A%2A…".
func queryMask(with string) string {
	return strings.ReplaceAll(url.QueryEscape(with), "%2A", "*")
}

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
		if s.max > 0 && len(str) > s.max || !utf8.ValidString(str) {
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
		a.Key = truncateString(escapeInvalidUTF8(a.Key), s.max)
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
		if s.max > 0 && len(str) > s.max {
			return slog.String(a.Key, truncateString(str, s.max)), true
		}
		if !utf8.ValidString(str) {
			return slog.String(a.Key, escapeInvalidUTF8(str)), true
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
		// sink the same way. Headers and form values logged as attrs are
		// masked as the request's are.
		switch v.(type) {
		case http.Header:
			c = catHeaders
		case url.Values:
			c = catParams
		}
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
	return s.cleanTreeAt(c, v, 0)
}

func (s *sanitizer) cleanTreeAt(c category, v any, depth int) any {
	switch x := v.(type) {
	case string:
		return truncateString(escapeInvalidUTF8(x), s.max)
	case json.RawMessage:
		var d any
		if err := json.Unmarshal(x, &d); err != nil {
			return truncateString(escapeInvalidUTF8(string(x)), s.max)
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
		if len(x) > maxItems {
			n := 0
			for k := range x {
				if n++; n > maxItems {
					delete(x, k)
				}
			}
			x["…"] = strconv.Itoa(n-maxItems) + " more"
		}
	case []any:
		if depth >= MaxGroupDepth {
			return "…[" + strconv.Itoa(len(x)) + " more]"
		}
		if len(x) > maxItems {
			x = append(x[:maxItems:maxItems], "…["+strconv.Itoa(len(x)-maxItems)+" more]")
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
				x[k] = truncateString(escapeInvalidUTF8(val), s.max)
			}
		}
	}
	return v
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
		m[truncateString(escapeInvalidUTF8(k), max)] = v
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
