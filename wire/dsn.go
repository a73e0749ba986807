// Package wire is the Sentry wire format (https://develop.sentry.dev/sdk/)
// as errlog's client and errlogd both speak it: DSNs and the X-Sentry-Auth
// header a client sends, envelopes as it encodes them, gzip bodies, and
// the rate-limit headers of the answers. It is public so that errlogd, a
// module of its own, depends only on the client's documented API.
//
// The server's half — reading auth from a request, decompressing bodies,
// decoding envelopes, client reports and events leniently as the stock
// Sentry SDKs send them — is package decode below, which errlogd imports
// and the client's packages never do, so that library users do not
// compile it.
package wire

import (
	"errors"
	"net/url"
	"strings"
)

// Version is the protocol version errlog speaks, sentry_version in
// X-Sentry-Auth.
const Version = "7"

// DSN is a parsed Data Source Name,
// scheme://public_key[:secret_key]@host[:port][/path]/project_id.
type DSN struct {
	// Scheme is "http" or "https".
	Scheme string
	// PublicKey authenticates the client (sentry_key).
	PublicKey string
	// SecretKey is deprecated by Sentry; it is sent only when the DSN has
	// one, as older self-hosted servers require it.
	SecretKey string
	// Host is host[:port] as the DSN wrote it.
	Host string
	// Path is what comes between the host and the project id, without a
	// trailing slash: "" or "/sentry".
	Path string
	// ProjectID is the last path element.
	ProjectID string
}

// ParseDSN parses a DSN. Its errors never repeat the DSN, whose key is a
// credential.
func ParseDSN(s string) (*DSN, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty DSN")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, key included
		}
		return nil, errors.New("DSN is not a URL: " + err.Error())
	}
	d := &DSN{Scheme: u.Scheme, Host: u.Host}
	if d.Scheme != "http" && d.Scheme != "https" {
		// Not naming what it found: a DSN pasted without its scheme
		// ("KEY:SECRET@host/1") has its key there.
		return nil, errors.New("DSN must start with http:// or https:// (https://KEY@host/PROJECT)")
	}
	if u.User != nil {
		d.PublicKey = u.User.Username()
		d.SecretKey, _ = u.User.Password()
	}
	if d.PublicKey == "" {
		return nil, errors.New("DSN has no public key (scheme://KEY@host/project)")
	}
	if u.Hostname() == "" {
		return nil, errors.New("DSN has no host")
	}
	p := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 || i == len(p)-1 {
		return nil, errors.New("DSN has no project id (scheme://key@host/PROJECT)")
	}
	d.Path, d.ProjectID = p[:i], p[i+1:]
	return d, nil
}

// String returns the DSN in its canonical form.
func (d *DSN) String() string {
	u := url.URL{Scheme: d.Scheme, Host: d.Host, Path: d.Path + "/" + d.ProjectID}
	if d.SecretKey != "" {
		u.User = url.UserPassword(d.PublicKey, d.SecretKey)
	} else {
		u.User = url.User(d.PublicKey)
	}
	return u.String()
}

// Redacted returns the DSN without its keys, for messages and logs.
func (d *DSN) Redacted() string {
	return d.Scheme + "://" + d.Host + d.Path + "/" + d.ProjectID
}

// EnvelopeURL is where envelopes are posted:
// {scheme}://{host}{path}/api/{project}/envelope/.
func (d *DSN) EnvelopeURL() string { return d.apiURL("envelope") }

// StoreURL is the legacy endpoint for a bare event:
// {scheme}://{host}{path}/api/{project}/store/.
func (d *DSN) StoreURL() string { return d.apiURL("store") }

func (d *DSN) apiURL(endpoint string) string {
	return d.Scheme + "://" + d.Host + d.Path + "/api/" + url.PathEscape(d.ProjectID) + "/" + endpoint + "/"
}

// AuthHeader returns the X-Sentry-Auth header of a client named client
// ("errlog/0.1.0"):
// "Sentry sentry_version=7, sentry_client=errlog/0.1.0, sentry_key=KEY".
func (d *DSN) AuthHeader(client string) string {
	s := "Sentry sentry_version=" + Version + ", sentry_client=" + client + ", sentry_key=" + d.PublicKey
	if d.SecretKey != "" {
		s += ", sentry_secret=" + d.SecretKey
	}
	return s
}
