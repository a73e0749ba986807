package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/internal/delivery"
)

// The SMTP transport: one connection kept across a burst, every step
// under a deadline, AUTH and STARTTLS as Options say.

// smtpTransport sends mail over one SMTP connection, kept open across a
// burst and closed after IdleTimeout. Every network step runs under a
// deadline (net/smtp has none, nor has gomail's Dialer), and the queue's
// context, cancelled by Close, cuts the connection short.
type smtpTransport struct {
	cfg *config
	env Env // its AfterFunc runs the idle timer; connection deadlines are real time

	mu        sync.Mutex
	client    *smtp.Client
	conn      net.Conn // the TCP connection under client, for deadlines
	gen       int      // counts connections, so a stale idle timer is a no-op
	stopTimer func() bool
}

// aLongTimeAgo is a deadline in the past: setting it fails pending I/O at
// once.
var aLongTimeAgo = time.Unix(1, 0)

func (t *smtpTransport) Send(ctx context.Context, m *Message) error {
	if len(m.To) == 0 {
		return delivery.Permanent(ErrNoRecipient)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopTimer != nil {
		t.stopTimer()
	}
	reused := t.client != nil
	err := t.transaction(ctx, m)
	var later *RetryRecipients
	if errors.As(err, &later) {
		// The connection is sound; the mail is tried again later, for
		// these recipients alone.
		gen := t.gen
		t.stopTimer = t.env.AfterFunc(t.cfg.idleTimeout, func() { t.closeIdle(gen) })
		return err
	}
	if err != nil && reused && (!isSMTPReply(err) || isClosing(err)) && ctx.Err() == nil {
		// The server may have closed the connection while it was idle,
		// saying 421 first or not: one more try on a new one.
		t.dropLocked()
		err = t.transaction(ctx, m)
	}
	if err != nil {
		t.dropLocked()
		if ctx.Err() != nil && !isSMTPReply(err) {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return classifySMTP(err)
	}
	gen := t.gen
	t.stopTimer = t.env.AfterFunc(t.cfg.idleTimeout, func() { t.closeIdle(gen) })
	return nil
}

// transaction sends one message, connecting first if needed.
func (t *smtpTransport) transaction(ctx context.Context, m *Message) error {
	if t.client == nil {
		if err := t.dialLocked(ctx); err != nil {
			return err
		}
	}
	conn, c := t.conn, t.client
	if err := conn.SetDeadline(time.Now().Add(t.cfg.timeout)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	defer stop()
	if err := c.Mail(m.From); err != nil {
		return fmt.Errorf("MAIL FROM:<%s>: %w", m.From, err)
	}
	var accepted int
	var rejected, refused []error // all refusals; those for good (5xx)
	var later []string            // refused for now (4xx)
	for _, rcpt := range m.To {
		if err := c.Rcpt(rcpt); err != nil {
			var te *textproto.Error
			if !errors.As(err, &te) || te.Code == 421 {
				// No reply, or the server is closing: the whole mail
				// is tried again.
				return fmt.Errorf("RCPT TO:<%s>: %w", rcpt, err)
			}
			err = fmt.Errorf("RCPT TO:<%s>: %w", rcpt, err)
			rejected = append(rejected, err)
			if te.Code < 500 {
				later = append(later, rcpt)
			} else {
				refused = append(refused, err)
			}
			continue
		}
		accepted++
	}
	if accepted == 0 {
		c.Reset()
		if len(later) > 0 && len(later) < len(m.To) {
			return &RetryRecipients{To: later, Err: errors.Join(rejected...)}
		}
		return errors.Join(rejected...)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(m.Data); err != nil {
		w.Close()
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	conn.SetDeadline(time.Time{})
	if len(refused) > 0 {
		t.env.OnError(fmt.Errorf("mail: smtp: %s sent, but not to every recipient: %w", m.ID, errors.Join(refused...)))
	}
	if len(later) > 0 {
		return &RetryRecipients{To: later, Err: errors.Join(rejected...)}
	}
	return nil
}

// dialLocked connects, upgrades to TLS as configured and authenticates,
// all within the timeout.
func (t *smtpTransport) dialLocked(ctx context.Context) (err error) {
	cfg := t.cfg
	d := net.Dialer{Timeout: cfg.timeout}
	raw, err := d.DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()
	raw.SetDeadline(time.Now().Add(cfg.timeout))
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(aLongTimeAgo) })
	defer stop()

	var conn net.Conn = raw
	if cfg.implicitTLS {
		tc := tls.Client(raw, cfg.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, cfg.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if err := c.Hello(cfg.localName); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if !cfg.implicitTLS && !cfg.noTLS {
		if has, _ := c.Extension("STARTTLS"); has {
			if err := c.StartTLS(cfg.tlsConfig); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		} else if cfg.requireTLS {
			return delivery.Permanent(fmt.Errorf("%s does not offer STARTTLS and RequireTLS is set", cfg.addr))
		}
	}
	if cfg.username != "" {
		has, mechs := c.Extension("AUTH")
		if !has {
			return delivery.Permanent(fmt.Errorf("%s offers no AUTH, but a Username is set", cfg.addr))
		}
		if _, isTLS := c.TLSConnectionState(); !isTLS && !isLocalhost(cfg.host) {
			return delivery.Permanent(fmt.Errorf("%s offers no TLS: refusing to send the password in clear text", cfg.addr))
		}
		if err := c.Auth(pickAuth(mechs, cfg)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	ok = true
	t.client, t.conn = c, raw
	t.gen++
	return nil
}

func isLocalhost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pickAuth chooses among the mechanisms the server offers: PLAIN first
// (the connection is encrypted or local), then LOGIN, then CRAM-MD5.
func pickAuth(mechs string, cfg *config) smtp.Auth {
	offered := map[string]bool{}
	for _, m := range strings.Fields(strings.ToUpper(mechs)) {
		offered[m] = true
	}
	switch {
	case offered["PLAIN"]:
		return &plainAuth{cfg.username, cfg.password}
	case offered["LOGIN"]:
		return &loginAuth{cfg.username, cfg.password}
	case offered["CRAM-MD5"]:
		return smtp.CRAMMD5Auth(cfg.username, cfg.password)
	}
	return &plainAuth{cfg.username, cfg.password}
}

// plainAuth is AUTH PLAIN without net/smtp's host check: dialLocked has
// already refused clear text to anything but localhost, and net/smtp's
// check fails behind an implicit-TLS connection to an IP address.
type plainAuth struct{ username, password string }

func (a *plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// loginAuth is the non-standard AUTH LOGIN many servers still insist on.
type loginAuth struct{ username, password string }

func (a *loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(challenge))) {
	case "username:":
		return []byte(a.username), nil
	case "password:":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN challenge %q", challenge)
}

// Close closes the connection now (the burst is over). If a send holds
// the connection (a Flush that gave up at its deadline while the queue
// still sends), it is left to the idle timer: waiting for that send would
// make the caller outlast its deadline.
func (t *smtpTransport) Close() error {
	if !t.mu.TryLock() {
		return nil
	}
	defer t.mu.Unlock()
	if t.stopTimer != nil {
		t.stopTimer()
	}
	t.quitLocked()
	return nil
}

func (t *smtpTransport) closeIdle(gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen == gen {
		t.quitLocked()
	}
}

// quitLocked lets the connection go: the next Send opens a new one at
// once, and QUIT is said politely on this one in the background, within a
// short deadline (a second at most), before it is closed. A server that
// never answers QUIT held the transport, and the next mail, for that
// second, and the caller of Close with it.
func (t *smtpTransport) quitLocked() {
	if t.client == nil {
		return
	}
	c, conn := t.client, t.conn
	t.client, t.conn = nil, nil
	t.gen++
	conn.SetDeadline(time.Now().Add(min(t.cfg.timeout, time.Second)))
	go func() {
		c.Quit()
		c.Close()
	}()
}

func (t *smtpTransport) dropLocked() {
	if t.client != nil {
		t.client.Close()
		t.client, t.conn = nil, nil
		t.gen++
	}
}

func isSMTPReply(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te)
}

// isClosing reports a 421 reply: the server is closing the connection
// (its idle timeout on a kept connection: "421 4.4.2 Idle timeout").
func isClosing(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code == 421
}

// classifySMTP marks the failures that retrying cannot fix: a 5xx reply.
// A 4xx reply, a refused connection or a timeout stay temporary.
func classifySMTP(err error) error {
	var later *RetryRecipients
	if err == nil || delivery.IsPermanent(err) || errors.As(err, &later) {
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return delivery.Permanent(err)
	}
	return err
}
