package errlog

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/errlog/errlog/internal/values"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"unsafe"
)

// This file is the masking policy: which keys, headers, cookies, query
// parameters and environment variables are secret (MaskOptions, its
// defaults, the compiled masker). sanitize.go applies it to every record;
// values.go turns any Go value into bounded text or JSON.

// DefaultMaskWith replaces a masked value.
const DefaultMaskWith = values.Mask

// DefaultMaskKeys returns the key parts masked when MaskOptions.Keys is
// nil: the two of Flask-Exceptional and error-tracker, and the names
// credentials usually go by. It returns a new slice each time, so that no
// package can weaken masking for the whole process.
func DefaultMaskKeys() []string {
	return []string{
		"password", "passwd", "passphrase", "secret", "token", "api_key", "access_key", "private_key", "credential",
		"authorization", "bearer", "cookie", "session_id",
		// Whole words (four letters or fewer): "pass" masks db_pass and
		// dbPass, not passenger; "auth" masks X-Auth, not author.
		"pwd", "pass", "auth", "jwt", "sid", "cvv", "cvc",
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
	// depth, in attrs, query parameters (of the request and of any URL
	// logged), form and JSON fields, headers, cookies, user data, scope
	// extras and the environment, and after "key=" or "key:" in the
	// message, errors' texts and string values. Keys are
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
	Params      []string `json:"params" yaml:"params"`           // query (of any URL), form and JSON body fields, url.Values
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
	withQ   string // with as a query string has it (queryMask)
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
	m.withQ = queryMask(m.with)
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
	i := h >> (64 - keyCacheBits)
	// Two keys whose addresses hash alike would evict each other on every
	// record, costing an allocation each time: a key may sit in any of
	// keyCacheWays slots after its own.
	var free *atomic.Pointer[keyVerdict]
	for w := uint64(0); w < keyCacheWays; w++ {
		slot := &m.cache[(i+w)&(1<<keyCacheBits-1)]
		e := slot.Load()
		if e == nil {
			if free == nil {
				free = slot
			}
			continue
		}
		if e.key == key {
			return e.secret
		}
	}
	if free == nil {
		free = &m.cache[i]
	}
	secret := m.matchKey(key)
	// The entry holds the key, so its memory cannot be reused by another
	// string while cached; e.key == key also checks the content.
	free.Store(&keyVerdict{key: key, secret: secret})
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
		var buf [256]byte // most texts: no allocation
		n := normalizeKey(buf[:0], text)
		for _, sub := range m.subs {
			if bytes.Contains(n, sub) {
				return true
			}
		}
	}
	return len(m.words) > 0 && m.hasWord(text)
}

const (
	keyCacheBits = 9
	keyCacheWays = 4
)

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

// scrubHeader is scrub for a header's value, and maskQuery for the query
// of one that is a URL (Referer, Location, X-Original-URL): the previous
// page's password=… is masked as the request's own query is.
func (m *masker) scrubHeader(v string) string {
	i := strings.IndexByte(v, '?')
	if i < 0 || !(strings.HasPrefix(v, "/") || strings.Contains(v[:i], "://")) {
		return m.scrub(v)
	}
	q, frag, hasFrag := strings.Cut(v[i+1:], "#")
	// The parameters by their names, then every value by its shape (a
	// valueless "&AKIA…" is no parameter maskQuery would mask).
	out := m.scrub(v[:i]) + "?" + m.scrub(m.maskQuery(q))
	if hasFrag {
		out += "#" + m.scrub(m.maskQuery(frag))
	}
	return out
}

// maskQuery masks the values of secret parameters in a raw query string,
// keeping its order and encoding. It returns raw itself, without
// allocating, when no parameter needs masking.
func (m *masker) maskQuery(raw string) string {
	var b strings.Builder // the output, once a parameter changes
	changed := false
	for rest := raw; rest != ""; {
		p, next, more := strings.Cut(rest, "&")
		if q := m.maskParam(p); changed {
			b.WriteByte('&')
			b.WriteString(q)
		} else if q != p {
			changed = true
			b.Grow(len(raw) + len(m.with))
			b.WriteString(raw[:len(raw)-len(rest)])
			b.WriteString(q)
		}
		if !more {
			break
		}
		if rest = next; rest == "" && changed {
			b.WriteByte('&') // a trailing '&' is kept
		}
	}
	if !changed {
		return raw
	}
	return b.String()
}

// maskParam is maskQuery for one key=value parameter.
func (m *masker) maskParam(p string) string {
	k, raw, hasValue := strings.Cut(p, "=")
	if !hasValue {
		// No value to mask; and adding "=…" would hide what follows
		// from the passes after ("?Bearer abc…", "?password: x").
		return p
	}
	key, err := url.QueryUnescape(k)
	if err != nil {
		key = k
	}
	if m.hides(catParams, key) {
		if raw == m.withQ {
			return p // masked already
		}
		return k + "=" + m.withQ
	}
	if raw != "" {
		// The value, decoded, is text as any other
		// ("next=%2Fcb%3Faccess_token%3D…"), but for the queries of the
		// URLs in it, which would recurse once per nested URL.
		if v, err := url.QueryUnescape(raw); err == nil {
			if t := m.scrubValue(v); t != v {
				return k + "=" + strings.ReplaceAll(url.QueryEscape(t), "%2A", "*")
			}
		}
	}
	return p
}

// queryMask escapes the mask for a query string, keeping the asterisks
// that are valid there: "**************", not "%2A%2A…".
func queryMask(with string) string {
	return strings.ReplaceAll(url.QueryEscape(with), "%2A", "*")
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
