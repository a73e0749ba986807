package decode

import (
	"errors"
	"net/http"
	"strings"
)

// Auth is what a client authenticates with: the fields of X-Sentry-Auth.
type Auth struct {
	Version string // sentry_version
	Client  string // sentry_client, "sentry.go/0.50.0"
	Key     string // sentry_key, the DSN's public key
	Secret  string // sentry_secret, deprecated; "" for most clients
	// Timestamp is sentry_timestamp, when the request was sent (Unix
	// seconds, or RFC 3339), which older clients send: the store
	// endpoint's sent_at.
	Timestamp string
}

// ErrNoAuth is returned when a request carries no sentry_key.
var ErrNoAuth = errors.New("wire: no sentry_key in X-Sentry-Auth, Authorization or the query")

// ParseAuth parses an X-Sentry-Auth header value,
// "Sentry sentry_version=7, sentry_client=x, sentry_key=y". The "Sentry "
// prefix and the "sentry_" prefixes of keys are optional, as Relay has it.
func ParseAuth(s string) (Auth, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "sentry ") {
		s = s[7:]
	}
	var a Auth
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		a.set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if a.Key == "" {
		return a, ErrNoAuth
	}
	return a, nil
}

func (a *Auth) set(k, v string) {
	switch strings.TrimPrefix(strings.ToLower(k), "sentry_") {
	case "version":
		a.Version = v
	case "client":
		a.Client = v
	case "key":
		a.Key = v
	case "secret":
		a.Secret = v
	case "timestamp":
		a.Timestamp = v
	}
}

// AuthFromRequest returns the authentication of an ingest request, from
// X-Sentry-Auth, else an "Authorization: Sentry …" header, else the
// sentry_key, sentry_version and sentry_client query parameters that
// browser SDKs use. (A self-authenticated envelope carries its DSN in its
// header instead: see wire.Header.DSN.)
func AuthFromRequest(r *http.Request) (Auth, error) {
	if h := r.Header.Get("X-Sentry-Auth"); h != "" {
		return ParseAuth(h)
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "sentry ") {
		return ParseAuth(h)
	}
	q := r.URL.Query()
	a := Auth{Version: q.Get("sentry_version"), Client: q.Get("sentry_client"), Key: q.Get("sentry_key"), Secret: q.Get("sentry_secret")}
	if a.Key == "" {
		return a, ErrNoAuth
	}
	return a, nil
}
