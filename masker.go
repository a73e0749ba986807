package errlog

// Masker masks keys and text as a Handler with the same MaskOptions
// does, for data errlog did not log itself: errlogd scrubs the events of
// stock Sentry SDKs with it, and a program may mask what it prints or
// passes on elsewhere.
type Masker struct{ m *masker }

// NewMasker compiles o. A bad filter entry is reported in the error and
// skipped, its category's defaults applying besides the good entries (as
// New does): the Masker returned is usable whatever the error.
func NewMasker(o MaskOptions) (*Masker, error) {
	m, err := newMasker(o)
	return &Masker{m: m}, err
}

// Key reports whether the value under key is masked whole by
// MaskOptions.Keys, as an attr's or a field's of that name is.
func (k *Masker) Key(key string) bool { return k.m.matchKey(key) }

// Header reports whether a request header's value is masked whole: by
// MaskOptions.Keys or by the headers filter ("Authorization",
// "X-Csrf-Token", any name with session in it by default).
func (k *Masker) Header(name string) bool {
	f := &k.m.headers
	return k.m.matchKey(name) || !f.empty() && f.match(name)
}

// Text returns s with every secret errlog recognises in free text masked:
// by shape (URL passwords, secret query parameters, JWTs, bearer and
// basic credentials, cloud and service tokens, PEM keys, card numbers)
// and after a mask key ("password=…", "token: …"). It returns s itself,
// without allocating, when there is none.
func (k *Masker) Text(s string) string { return k.m.scrubText(s) }

// With is what replaces a masked value.
func (k *Masker) With() string { return k.m.with }
