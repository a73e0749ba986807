package mail

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultSubjectPrefix starts the subject of every mail.
const DefaultSubjectPrefix = "[errlog] "

// DefaultTimeout bounds connecting to the mail server, and then each
// whole SMTP transaction.
const DefaultTimeout = 10 * time.Second

// DefaultIdleTimeout is how long an SMTP connection stays open after a
// mail, for the next one of a burst.
const DefaultIdleTimeout = 30 * time.Second

// Options are the mail settings: the server, the addresses, the subject
// and the transport. The zero value, with Addr (or Dir) and To set, is all
// defaults: STARTTLS when the server offers it, AUTH when Username is set.
// The client (errlog.MailOptions is this type, read from ERRLOG_SMTP_* and
// ERRLOG_MAIL_*) and errlogd (ERRLOGD_SMTP_*, ERRLOGD_MAIL_*) share it.
type Options struct {
	// Addr is the SMTP server, "host:port"; a missing port means 25.
	// Port 465 means TLS from the first byte (implicit TLS); any other
	// port upgrades with STARTTLS when the server offers it. Required
	// unless Dir is set.
	Addr string `json:"addr" yaml:"addr"`
	// Username and Password, when Username is set, authenticate with SMTP
	// AUTH (PLAIN, LOGIN or CRAM-MD5, as offered). The password is never
	// sent unencrypted except to localhost. Default: no AUTH.
	Username string `json:"username" yaml:"username"`
	Password string `json:"password" yaml:"password"`
	// From is the sender, an RFC 5322 address ("errlog <ops@example.com>").
	// Default "errlog@" and the host name (errlogd: "errlogd@" and the
	// host of its public URL).
	From string `json:"from" yaml:"from"`
	// To are the recipients. Required, except with Dir (default then
	// "errlog@localhost").
	To []string `json:"to" yaml:"to"`
	// SubjectPrefix starts every subject. Default DefaultSubjectPrefix;
	// a prefix of spaces only means none.
	SubjectPrefix string `json:"subject_prefix" yaml:"subject_prefix"`
	// Disabled turns mail off without removing its settings. Default
	// false (mail on).
	Disabled bool `json:"disabled" yaml:"disabled"`
	// Dir, when set, makes each mail an .eml file in this directory
	// instead of sending it: real mails, no server (development).
	Dir string `json:"dir" yaml:"dir"`

	// ImplicitTLS speaks TLS from the first byte. Default: only on port
	// 465.
	ImplicitTLS bool `json:"implicit_tls" yaml:"implicit_tls"`
	// RequireTLS refuses to send a mail in clear text when the server
	// does not offer STARTTLS (the send fails, permanently). Default
	// false: STARTTLS when offered, clear text otherwise.
	RequireTLS bool `json:"require_tls" yaml:"require_tls"`
	// NoTLS never upgrades to TLS, even when the server offers STARTTLS
	// (a local relay whose certificate cannot be checked). AUTH is then
	// refused except to localhost. Default false.
	NoTLS bool `json:"no_tls" yaml:"no_tls"`
	// TLSConfig configures TLS, for a private CA or, in tests, a
	// self-signed certificate. Default: the system's roots, ServerName
	// from Addr.
	TLSConfig *tls.Config `json:"-" yaml:"-"`
	// LocalName is the name sent with EHLO. Default the host name (the
	// server name errlog was given).
	LocalName string `json:"local_name" yaml:"local_name"`
	// Timeout bounds connecting (TCP, TLS, greeting, AUTH) and then each
	// whole mail transaction. Default DefaultTimeout.
	Timeout time.Duration `json:"timeout" yaml:"timeout"`
	// IdleTimeout is how long the SMTP connection stays open after a
	// mail, for the next one of a burst. Default DefaultIdleTimeout.
	IdleTimeout time.Duration `json:"idle_timeout" yaml:"idle_timeout"`
}

// TLS modes, as ERRLOG_SMTP_TLS and ERRLOGD_SMTP_TLS name them.
const (
	TLSStartTLS = "starttls" // upgrade when the server offers it (the default)
	TLSRequired = "required" // refuse to send without STARTTLS
	TLSImplicit = "implicit" // TLS from the first byte (port 465)
	TLSNone     = "none"     // never upgrade
)

// SetTLS sets ImplicitTLS, RequireTLS and NoTLS from a mode name:
// starttls (or ""), required, implicit (or tls) or none, in any case. It
// is the one parser of ERRLOG_SMTP_TLS and ERRLOGD_SMTP_TLS.
func (o *Options) SetTLS(mode string) error {
	m, ok := tlsModes[strings.ToLower(strings.TrimSpace(mode))]
	if !ok {
		return errTLSMode
	}
	o.ImplicitTLS, o.RequireTLS, o.NoTLS = m.implicit, m.required, m.none
	return nil
}

// tlsModes are SetTLS's names.
var tlsModes = map[string]struct{ implicit, required, none bool }{
	"": {}, TLSStartTLS: {}, TLSRequired: {required: true},
	TLSImplicit: {implicit: true}, "tls": {implicit: true}, TLSNone: {none: true},
}

// SetCAFile makes TLS trust the PEM certificates of file besides the
// system's roots (a private CA): ERRLOG_SMTP_CA_FILE and
// ERRLOGD_SMTP_CA_FILE.
func (o *Options) SetCAFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return errors.New("mail: no PEM certificate in it")
	}
	o.TLSConfig = &tls.Config{RootCAs: pool}
	return nil
}

// Recipients splits a comma-separated list (ERRLOG_MAIL_TO), dropping
// blanks.
func Recipients(list string) []string {
	// Split at the commas outside quotes and angle brackets: "Doe, Jane"
	// <jane@example.com> is one address, as RFC 5322 writes it.
	var to []string
	quoted, angle, start := false, false, 0
	for i := 0; i < len(list); i++ {
		switch c := list[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case c == ',' && !quoted && !angle:
			to = append(to, list[start:i])
			start = i + 1
		}
	}
	to = append(to, list[start:])
	for i := range to {
		to[i] = strings.TrimSpace(to[i])
	}
	return slices.DeleteFunc(to, func(a string) bool { return a == "" })
}

// errTLSMode is SetTLS's error: the variable's name and value are the
// caller's to say.
var errTLSMode = errors.New("mail: want starttls, required, implicit or none")

// config is Options checked and defaulted.
type config struct {
	dir         string
	addr, host  string
	implicitTLS bool
	requireTLS  bool
	noTLS       bool
	tlsConfig   *tls.Config
	localName   string
	username    string
	password    string
	timeout     time.Duration
	idleTimeout time.Duration
}

// transportConfig checks the transport's settings; localName is the
// default EHLO name.
func (o *Options) transportConfig(localName string) (*config, error) {
	c := &config{timeout: DefaultTimeout, idleTimeout: DefaultIdleTimeout, localName: o.LocalName}
	if o.Timeout > 0 {
		c.timeout = o.Timeout
	}
	if o.IdleTimeout > 0 {
		c.idleTimeout = o.IdleTimeout
	}
	if c.localName == "" {
		c.localName = HostPart(localName)
	}
	if o.Dir != "" {
		c.dir = o.Dir
		return c, nil
	}
	if o.Addr == "" {
		return nil, errors.New("mail: neither Addr nor Dir is set")
	}
	if i := strings.LastIndexByte(o.Addr, '@'); i >= 0 {
		// "user:password@host:587", "smtp://…": never repeat what is
		// before the @, a password most likely.
		return nil, fmt.Errorf("mail: server address %q: want host:port; credentials go in Username and Password", "…@"+o.Addr[i+1:])
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		host, port = o.Addr, "25"
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			return nil, fmt.Errorf("mail: server address %q: %w", o.Addr, err)
		}
		host = strings.Trim(host, "[]")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return nil, fmt.Errorf("mail: server address %q: bad port %q", o.Addr, port)
	}
	c.host, c.addr = host, net.JoinHostPort(host, port)
	c.implicitTLS = o.ImplicitTLS || port == "465" && !o.NoTLS
	c.requireTLS = o.RequireTLS
	c.noTLS = o.NoTLS && !c.implicitTLS
	if o.TLSConfig != nil {
		c.tlsConfig = o.TLSConfig.Clone()
	} else {
		c.tlsConfig = &tls.Config{}
	}
	if c.tlsConfig.ServerName == "" {
		c.tlsConfig.ServerName = host
	}
	c.username, c.password = o.Username, o.Password
	return c, nil
}

// Addresses are a mail's sender and recipients, checked: the header forms
// and the bare addresses of the SMTP envelope.
type Addresses struct {
	From    string   // header form
	To      []string // header form
	EnvFrom string   // bare address
	EnvTo   []string // bare addresses
}

// Addresses checks From and To. An empty From is defaultFrom; an empty To
// is "errlog@localhost" when Dir is set (files only: a placeholder will
// do) and an error otherwise.
func (o *Options) Addresses(defaultFrom string) (Addresses, error) {
	return ParseAddresses(o.From, o.To, defaultFrom, o.Dir != "")
}

// ParseAddresses checks a sender and recipients (as Options.Addresses
// does, for recipients given apart from Options: an alert rule's).
func ParseAddresses(from string, to []string, defaultFrom string, placeholderTo bool) (Addresses, error) {
	var a Addresses
	if len(to) == 0 {
		if !placeholderTo {
			return a, ErrNoRecipient
		}
		to = []string{"errlog@localhost"}
	}
	for _, s := range to {
		addr, err := mail.ParseAddress(s)
		if err != nil {
			return a, fmt.Errorf("mail: recipient %q: %w", s, err)
		}
		a.To = append(a.To, headerAddress(addr))
		a.EnvTo = append(a.EnvTo, addr.Address)
	}
	if from == "" {
		from = defaultFrom
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return a, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	a.From, a.EnvFrom = headerAddress(addr), addr.Address
	return a, nil
}

// headerAddress is a as a header shows it: the bare address when it has
// no name, else the name quoted and encoded as RFC 5322 wants.
func headerAddress(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

// HostPart returns name made safe for the right side of an address or a
// Message-ID, "localhost" if nothing is left.
func HostPart(name string) string {
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			b = append(b, c)
		}
	}
	s := strings.Trim(string(b), ".-")
	if s == "" {
		return "localhost"
	}
	return s
}
