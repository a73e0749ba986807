package errlog

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Error mail, as Python's SMTPHandler sends it but without its two
// failures: one mail per record (a weekend's storm is 100,000 mails) and a
// caller that waits on the mail server. Events are throttled (throttle.go)
// into first occurrences, digests and summaries; each becomes one RFC 5322
// message, composed by gomail (mailview.go) and handed to
// a delivery.Queue whose one worker keeps an SMTP connection open across a
// burst.

// DefaultSubjectPrefix starts the subject of every error mail.
const DefaultSubjectPrefix = "[errlog] "

// DefaultMailTimeout bounds connecting to the mail server, and then each
// whole SMTP transaction.
const DefaultMailTimeout = 10 * time.Second

// MailOptions configure error mail. The zero value, with Addr (or Dir) and
// To set, is all defaults: STARTTLS when the server offers it, the first
// occurrence of each error mailed at once, its repeats counted into a
// digest every 10 minutes, at most 20 mails an hour. A storm of 10,000
// identical errors gives two mails: the first, and a digest that says
// "… and 9999 more times".
//
// errlog.NewHandler(errlog.Options{Console: io.Discard, Mail: &m}) is error
// mail on its own, as a slog.Handler: NewMailHandler.
type MailOptions struct {
	// Addr is the SMTP server, "host:port"; a missing port means 25.
	// Port 465 means TLS from the first byte (implicit TLS); any other
	// port upgrades with STARTTLS when the server offers it. Required
	// unless Dir is set. ERRLOG_SMTP_ADDR.
	Addr string `json:"addr" yaml:"addr"`
	// Username and Password, when Username is set, authenticate with SMTP
	// AUTH (PLAIN, LOGIN or CRAM-MD5, as offered). errlog refuses to send
	// them unencrypted except to localhost. Default: no AUTH.
	// ERRLOG_SMTP_USER, ERRLOG_SMTP_PASSWORD.
	Username string `json:"username" yaml:"username"`
	Password string `json:"password" yaml:"password"`
	// From is the sender, an RFC 5322 address ("errlog <ops@example.com>").
	// Default "errlog@" and the server name. ERRLOG_MAIL_FROM.
	From string `json:"from" yaml:"from"`
	// To are the recipients. Required, except with Dir (default then
	// "errlog@localhost"). ERRLOG_MAIL_TO (comma-separated).
	To []string `json:"to" yaml:"to"`
	// SubjectPrefix starts every subject. Default DefaultSubjectPrefix;
	// a prefix of spaces only means none. ERRLOG_MAIL_SUBJECT_PREFIX.
	SubjectPrefix string `json:"subject_prefix" yaml:"subject_prefix"`
	// Disabled turns mail off without removing its settings; Notifiers
	// and Ticketers still work. Default false (mail on).
	// ERRLOG_MAIL_ENABLED=false sets it.
	Disabled bool `json:"disabled" yaml:"disabled"`
	// Dir, when set, makes each mail a .eml file in this directory
	// instead of sending it: real mails, no server (development).
	// ERRLOG_MAIL_DIR.
	Dir string `json:"dir" yaml:"dir"`

	// ImplicitTLS speaks TLS from the first byte. Default: only on port
	// 465.
	ImplicitTLS bool `json:"implicit_tls" yaml:"implicit_tls"`
	// RequireTLS refuses to send a mail in clear text when the server
	// does not offer STARTTLS (the mail is dropped and reported). Default
	// false: STARTTLS when offered, clear text otherwise.
	RequireTLS bool `json:"require_tls" yaml:"require_tls"`
	// NoTLS never upgrades to TLS, even when the server offers STARTTLS
	// (a local relay whose certificate cannot be checked). AUTH is then
	// refused except to localhost. Default false. ERRLOG_SMTP_TLS=none.
	NoTLS bool `json:"no_tls" yaml:"no_tls"`
	// TLSConfig configures TLS, for a private CA or, in tests, a
	// self-signed certificate. Default: the system's roots, ServerName
	// from Addr.
	TLSConfig *tls.Config `json:"-" yaml:"-"`
	// LocalName is the name sent with EHLO. Default the server name
	// (Options.ServerName, else the host name).
	LocalName string `json:"local_name" yaml:"local_name"`
	// Timeout bounds connecting (TCP, TLS, greeting, AUTH) and then each
	// whole mail transaction; past it the attempt fails and is retried
	// with backoff. Default DefaultMailTimeout.
	Timeout time.Duration `json:"timeout" yaml:"timeout"`
	// IdleTimeout is how long the SMTP connection stays open after a
	// mail, for the next one of a burst. Default 30s.
	IdleTimeout time.Duration `json:"idle_timeout" yaml:"idle_timeout"`

	// Window is the digest window: after a group (errors with one
	// fingerprint) is mailed, its repeats are counted for Window and then
	// mailed as one digest, and so on while they go on. Default
	// DefaultMailWindow (10 minutes).
	Window time.Duration `json:"window" yaml:"window"`
	// MaxPerHour caps the mails of any hour, digests included; the errors
	// held back are counted into one "N more errors not mailed" summary
	// at the end of the hour, or at Close (Flush sends it only if the cap
	// allows one more mail). Default DefaultMaxMailsPerHour (20);
	// negative: no cap.
	MaxPerHour int `json:"max_per_hour" yaml:"max_per_hour"`
}

// NewMailHandler returns a Handler that does error mail and nothing else,
// as Python's SMTPHandler: no console, no file; records at ERROR and above
// are mailed, throttled. It is NewHandler(Options{Console: io.Discard,
// Mail: &opts}): use NewHandler for other levels or more sinks. Close it
// (or call Flush) before the program exits, so that pending digests go
// out.
func NewMailHandler(opts MailOptions) *Handler {
	return NewHandler(Options{Console: io.Discard, Mail: &opts})
}

// mailConfig is MailOptions checked and defaulted, plus what tests tune.
type mailConfig struct {
	on          bool // mail is sent (or written); false: notifiers only
	dir         string
	addr, host  string
	implicitTLS bool
	requireTLS  bool
	noTLS       bool
	tlsConfig   *tls.Config
	localName   string
	username    string
	password    string
	from        string   // header form
	envFrom     string   // bare address
	to          []string // header form
	envTo       []string // bare addresses
	prefix      string
	timeout     time.Duration
	idleTimeout time.Duration
	window      time.Duration
	maxPerHour  int

	// For tests: the queue's backoff, and its size (0: env.QueueSize).
	minBackoff, maxBackoff time.Duration
	queueSize              int
	notifyAttempts         int
}

func newMailConfig(o *MailOptions, env sinkEnv) (*mailConfig, error) {
	c := &mailConfig{
		timeout:        DefaultMailTimeout,
		idleTimeout:    defaultIdleTimeout,
		window:         DefaultMailWindow,
		maxPerHour:     DefaultMaxMailsPerHour,
		prefix:         DefaultSubjectPrefix,
		notifyAttempts: 5,
	}
	if o == nil {
		return c, nil
	}
	if o.Window > 0 {
		c.window = o.Window
	}
	if o.MaxPerHour != 0 {
		c.maxPerHour = o.MaxPerHour
	}
	if o.Disabled {
		return c, nil
	}
	c.on = true
	if o.SubjectPrefix != "" {
		c.prefix = o.SubjectPrefix
		if strings.TrimSpace(c.prefix) == "" {
			c.prefix = ""
		}
	}
	if o.Timeout > 0 {
		c.timeout = o.Timeout
	}
	if o.IdleTimeout > 0 {
		c.idleTimeout = o.IdleTimeout
	}
	to := o.To
	if len(to) == 0 {
		if o.Dir == "" {
			return nil, errors.New("errlog: smtp: MailOptions.To lists no recipient")
		}
		to = []string{"errlog@localhost"} // files only: a placeholder will do
	}
	for _, s := range to {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("errlog: smtp: recipient %q: %w", s, err)
		}
		c.to = append(c.to, a.String())
		c.envTo = append(c.envTo, a.Address)
	}
	from := o.From
	if from == "" {
		from = "errlog@" + hostPart(env.ServerName)
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("errlog: smtp: sender %q: %w", from, err)
	}
	c.from, c.envFrom = a.String(), a.Address
	if o.Dir != "" {
		c.dir = o.Dir
		return c, nil
	}
	if o.Addr == "" {
		return nil, errors.New("errlog: smtp: MailOptions has neither Addr nor Dir")
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		host, port = o.Addr, "25"
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			return nil, fmt.Errorf("errlog: smtp: Addr %q: %w", o.Addr, err)
		}
		host = strings.Trim(host, "[]")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return nil, fmt.Errorf("errlog: smtp: Addr %q: bad port %q", o.Addr, port)
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
	c.localName = o.LocalName
	if c.localName == "" {
		c.localName = hostPart(env.ServerName)
	}
	c.username, c.password = o.Username, o.Password
	return c, nil
}

// hostPart returns name made safe for the right side of an address or a
// Message-ID, "localhost" if nothing is left.
func hostPart(name string) string {
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
