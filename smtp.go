package errlog

import (
	"bytes"
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"gopkg.in/gomail.v2"
)

// Error mail, as Python's SMTPHandler sends it but without its two
// failures: one mail per record (a weekend's storm is 100,000 mails) and a
// caller that waits on the mail server. Events are throttled (throttle.go)
// into first occurrences, digests and summaries; each becomes one RFC 5322
// message, composed by gomail (the second half of this file) and handed to
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

// mailSink is the EventSink behind MailOptions, Notifiers and Ticketers:
// it throttles events into notices and hands each, composed, to the
// delivery queue of mail and of each notifier.
type mailSink struct {
	cfg *mailConfig
	env sinkEnv

	mailQ     *delivery.Queue // nil when mail is off
	transport mailTransport   // nil when mail is off
	dropped   atomic.Int64    // mails refused by a full queue, not yet told
	late      atomic.Int64    // events delivered after Close, not mailed
	lost      atomic.Uint64   // mails that could not be composed

	notifiers []*notifyQueue
	ticketers []*notifyQueue

	mu       sync.Mutex
	th       *throttle
	timer    clock.Timer
	armed    time.Time // when timer fires; zero if stopped
	closed   bool
	inflight sync.WaitGroup // emits in progress (Deliver, tick)

	closeOnce sync.Once
	closeErr  error
	closeDone chan struct{}

	subjects subjectMemo // each group's first subject
}

var _ EventSink = (*mailSink)(nil)

// A mailTransport sends one finished message: over SMTP or into a
// directory.
type mailTransport interface {
	send(ctx context.Context, it delivery.Item) error
	// idle releases what the transport holds between bursts.
	idle()
}

// newMailSink builds the mail sink; o is nil when only notifiers or
// ticketers are configured.
func newMailSink(o *MailOptions, env sinkEnv, notifiers []Notifier, ticketers []Ticketer) (EventSink, error) {
	s, err := buildMailSink(o, env, notifiers, ticketers, nil)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// buildMailSink is newMailSink, with tune (if not nil) adjusting the
// configuration for tests.
func buildMailSink(o *MailOptions, env sinkEnv, notifiers []Notifier, ticketers []Ticketer, tune func(*mailConfig)) (*mailSink, error) {
	env = env.withDefaults()
	cfg, err := newMailConfig(o, env)
	if err != nil {
		return nil, err
	}
	if tune != nil {
		tune(cfg)
	}
	s := &mailSink{
		cfg:       cfg,
		env:       env,
		th:        newThrottle(cfg.window, cfg.maxPerHour),
		closeDone: make(chan struct{}),
	}
	queueSize := cfg.queueSize
	if queueSize == 0 {
		queueSize = env.QueueSize
	}
	var cleanup []*delivery.Queue
	fail := func(err error) (*mailSink, error) {
		for _, q := range cleanup {
			q.Close(context.Background())
		}
		return nil, err
	}
	if cfg.on {
		name := "smtp"
		if cfg.dir != "" {
			name = "mail"
			if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
				return nil, fmt.Errorf("errlog: mail: %w", err)
			}
			s.transport = &dirTransport{dir: cfg.dir, now: env.Clock.Now}
		} else {
			s.transport = &smtpTransport{cfg: cfg, onError: env.OnError, clock: env.Clock}
		}
		spool := ""
		if env.SpoolDir != "" {
			spool = filepath.Join(env.SpoolDir, "mail")
		}
		s.mailQ, err = delivery.New(delivery.Options{
			Name:        name,
			Send:        s.sendMail,
			QueueSize:   queueSize,
			SpoolDir:    spool,
			MinBackoff:  cfg.minBackoff,
			MaxBackoff:  cfg.maxBackoff,
			SendTimeout: 3*cfg.timeout + time.Second,
			OnError:     env.OnError,
			Clock:       env.Clock,
		})
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, s.mailQ)
	}
	for _, n := range notifiers {
		q, err := newNotifyQueue(n, nil, cfg, env, queueSize)
		if err != nil {
			return fail(err)
		}
		cleanup = append(cleanup, q.q)
		s.notifiers = append(s.notifiers, q)
	}
	for _, t := range ticketers {
		q, err := newNotifyQueue(nil, t, cfg, env, queueSize)
		if err != nil {
			return fail(err)
		}
		cleanup = append(cleanup, q.q)
		s.ticketers = append(s.ticketers, q)
	}
	s.timer = env.Clock.AfterFunc(time.Hour, s.tick)
	s.timer.Stop()
	return s, nil
}

// Deliver throttles ev and queues the mails and notifications it calls
// for. It never waits on the network.
func (s *mailSink) Deliver(ev *event.Event) {
	if ev == nil {
		return
	}
	key := ev.GroupKey()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		// Lost, like an item enqueued on a closed queue: say so.
		n := s.late.Add(1)
		s.env.OnError(fmt.Errorf("errlog: smtp: event %s not mailed: the mail sink is closed (%d events since Close)", ev.EventID, n))
		return
	}
	notes, firstSeen := s.th.add(ev, key, s.env.Clock.Now())
	if len(notes) > 0 || firstSeen {
		s.rearmLocked()
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()

	if firstSeen {
		for _, t := range s.ticketers {
			t.enqueue(&Notice{Kind: NoticeFirst, GroupKey: key, Event: ev, Count: 1, Since: ev.Timestamp, Last: ev.Timestamp, Total: 1})
		}
	}
	s.emit(notes)
}

// tick runs when the throttle's next window ends.
func (s *mailSink) tick() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.armed = time.Time{}
	notes := s.th.due(s.env.Clock.Now())
	s.rearmLocked()
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	s.emit(notes)
}

// rearmLocked makes the timer fire when the throttle next has work.
func (s *mailSink) rearmLocked() {
	next := s.th.next()
	if next.IsZero() || (!s.armed.IsZero() && !next.Before(s.armed)) {
		return
	}
	s.armed = next
	// A little late on purpose: windows that end close together are
	// then handled by one wake-up instead of one each.
	d := next.Sub(s.env.Clock.Now()) + s.cfg.window/50
	if d < time.Millisecond {
		d = time.Millisecond
	}
	s.timer.Reset(d)
}

// emit composes and queues each notice for mail and every notifier.
func (s *mailSink) emit(notes []Notice) {
	for i := range notes {
		n := &notes[i]
		if s.mailQ != nil {
			s.queueMail(n)
		}
		for _, q := range s.notifiers {
			q.enqueue(n)
		}
	}
}

func (s *mailSink) queueMail(n *Notice) {
	dropped := s.dropped.Swap(0)
	n2 := *n
	n2.Dropped = int(dropped)
	id, msg, err := s.composeFitting(&n2)
	if err != nil {
		s.dropped.Add(dropped + 1)
		s.lost.Add(1)
		s.env.OnError(fmt.Errorf("errlog: smtp: composing a mail: %w", err))
		return
	}
	if !s.mailQ.Enqueue(delivery.Item{ID: id, Body: msg}) {
		// The queue reports the drop; the next mail says so too.
		s.dropped.Add(dropped + 1)
	}
}

// composeFitting composes n's mail, cutting its event until the mail fits
// MaxMailBytes: a mail of many megabytes (a huge attribute key) would time
// out on every try and hold up the mails behind it.
func (s *mailSink) composeFitting(n *Notice) (id string, msg []byte, err error) {
	id, msg, err = s.compose(n)
	if err != nil || len(msg) <= MaxMailBytes || n.Event == nil {
		return id, msg, err
	}
	orig := len(msg)
	c := *n
	for _, lim := range trimSteps {
		c.Event = trimEvent(n.Event, lim)
		noteTrim(c.Event, fmt.Sprintf("mail cut from %d bytes to fit %d: keys over %d bytes, values over %d bytes, more than %d entries and %d frames were cut",
			orig, MaxMailBytes, lim.key, lim.value, lim.entries, lim.frames))
		if id, msg, err = s.compose(&c); err != nil || len(msg) <= MaxMailBytes {
			return id, msg, err
		}
	}
	c.Event = minimalEvent(n.Event)
	noteTrim(c.Event, fmt.Sprintf("mail cut from %d bytes to fit %d: only the message and error types are left", orig, MaxMailBytes))
	return s.compose(&c)
}

// sendMail is the mail queue's SendFunc. Temporary failures are retried by
// the queue without a word, so the first of each mail's failures is
// reported here; permanent ones the queue reports itself.
func (s *mailSink) sendMail(ctx context.Context, it delivery.Item) error {
	err := s.transport.send(ctx, it)
	if err != nil && !delivery.IsPermanent(err) && ctx.Err() == nil && it.Attempt%10 == 0 {
		s.env.OnError(fmt.Errorf("errlog: smtp: mail %s not sent (attempt %d, will retry): %w", it.ID, it.Attempt+1, err))
	}
	return err
}

// Flush sends every pending digest now, and the summary of what the hourly
// cap held back if the cap allows one more mail (else it goes out when the
// hour ends, or at Close), then waits until every mail and notification
// queued so far is delivered, retrying until ctx is done, and closes the
// idle SMTP connection.
func (s *mailSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	notes := s.th.flush(s.env.Clock.Now(), false)
	s.rearmLocked()
	s.inflight.Add(1)
	s.mu.Unlock()
	s.emit(notes)
	s.inflight.Done()
	return s.waitQueues(ctx, (*delivery.Queue).Flush)
}

// waitQueues runs f (Flush or Close) on every queue at once, so that a
// slow mail server does not eat the time a webhook needs, and closes the
// SMTP connection once mail is done.
func (s *mailSink) waitQueues(ctx context.Context, f func(*delivery.Queue, context.Context) error) error {
	var queues []*delivery.Queue
	for _, q := range s.notifiers {
		queues = append(queues, q.q)
	}
	for _, q := range s.ticketers {
		queues = append(queues, q.q)
	}
	errs := make([]error, len(queues)+1)
	var wg sync.WaitGroup
	for i, q := range queues {
		wg.Add(1)
		go func(i int, q *delivery.Queue) {
			defer wg.Done()
			errs[i] = f(q, ctx)
		}(i, q)
	}
	if s.mailQ != nil {
		errs[len(queues)] = f(s.mailQ, ctx)
		s.transport.idle()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close sends every pending digest and summary, flushes the queues within
// ctx, and stops every goroutine the sink started. Mail that could not be
// sent stays in the spool, if there is one, and is reported lost
// otherwise. Later calls wait for the first to finish.
func (s *mailSink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.timer.Stop()
		notes := s.th.flush(s.env.Clock.Now(), true)
		s.mu.Unlock()
		s.inflight.Wait()
		s.emit(notes)
		s.closeErr = s.waitQueues(ctx, (*delivery.Queue).Close)
		close(s.closeDone)
	})
	select {
	case <-s.closeDone:
		return s.closeErr
	case <-ctx.Done():
	}
	// The queues return within their grace after ctx; their error says
	// what was left where, which is worth the wait.
	t := time.NewTimer(150 * time.Millisecond)
	defer t.Stop()
	select {
	case <-s.closeDone:
		return s.closeErr
	case <-t.C:
		return fmt.Errorf("errlog: smtp: close: %w", ctx.Err())
	}
}

// smtpTransport sends mail over one SMTP connection, kept open across a
// burst and closed after IdleTimeout. Every network step runs under a
// deadline (net/smtp has none, nor has gomail's Dialer), and the queue's
// context, cancelled by Close, cuts the connection short.
type smtpTransport struct {
	cfg     *mailConfig
	onError func(error)
	clock   clock.Clock // the idle timer's; connection deadlines are real time

	mu     sync.Mutex
	client *smtp.Client
	conn   net.Conn // the TCP connection under client, for deadlines
	gen    int      // counts connections, so a stale idle timer is a no-op
	timer  clock.Timer
}

// aLongTimeAgo is a deadline in the past: setting it fails pending I/O at
// once.
var aLongTimeAgo = time.Unix(1, 0)

func (t *smtpTransport) send(ctx context.Context, it delivery.Item) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
	}
	reused := t.client != nil
	err := t.transaction(ctx, it.Body)
	if err != nil && reused && !isSMTPReply(err) && ctx.Err() == nil {
		// The server may have closed the connection while it was idle:
		// one more try on a new one.
		t.dropLocked()
		err = t.transaction(ctx, it.Body)
	}
	if err != nil {
		t.dropLocked()
		if ctx.Err() != nil && !isSMTPReply(err) {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return classifySMTP(err)
	}
	gen := t.gen
	t.timer = t.clock.AfterFunc(t.cfg.idleTimeout, func() { t.closeIdle(gen) })
	return nil
}

// transaction sends one message, connecting first if needed.
func (t *smtpTransport) transaction(ctx context.Context, msg []byte) error {
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
	if err := c.Mail(t.cfg.envFrom); err != nil {
		return fmt.Errorf("MAIL FROM:<%s>: %w", t.cfg.envFrom, err)
	}
	var accepted int
	var rejected []error
	for _, rcpt := range t.cfg.envTo {
		if err := c.Rcpt(rcpt); err != nil {
			if !isSMTPReply(err) {
				return fmt.Errorf("RCPT TO:<%s>: %w", rcpt, err)
			}
			rejected = append(rejected, fmt.Errorf("RCPT TO:<%s>: %w", rcpt, err))
			continue
		}
		accepted++
	}
	if accepted == 0 {
		c.Reset()
		return errors.Join(rejected...)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	conn.SetDeadline(time.Time{})
	if len(rejected) > 0 {
		t.onError(fmt.Errorf("errlog: smtp: mail sent, but not to every recipient: %w", errors.Join(rejected...)))
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
func pickAuth(mechs string, cfg *mailConfig) smtp.Auth {
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

// idle closes the connection now (Flush: the burst is over). If a send
// holds the connection (a Flush that gave up at its deadline while the
// queue still sends), it is left to the idle timer: waiting for that send
// would make Flush outlast its deadline.
func (t *smtpTransport) idle() {
	if !t.mu.TryLock() {
		return
	}
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.quitLocked()
}

func (t *smtpTransport) closeIdle(gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen == gen {
		t.quitLocked()
	}
}

// quitLocked says QUIT politely, within a short deadline, and closes.
func (t *smtpTransport) quitLocked() {
	if t.client == nil {
		return
	}
	t.conn.SetDeadline(time.Now().Add(min(t.cfg.timeout, time.Second)))
	t.client.Quit()
	t.dropLocked()
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

// classifySMTP marks the failures that retrying cannot fix: a 5xx reply.
// A 4xx reply, a refused connection or a timeout stay temporary.
func classifySMTP(err error) error {
	if err == nil || delivery.IsPermanent(err) {
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return delivery.Permanent(err)
	}
	return err
}

// dirTransport writes each mail as an .eml file (temp file, rename), which
// any mail client opens.
type dirTransport struct {
	dir string
	now func() time.Time
}

func (d *dirTransport) send(_ context.Context, it delivery.Item) error {
	name := d.now().UTC().Format("20060102T150405.000000000Z") + "-" + emlName(it.ID) + ".eml"
	f, err := os.CreateTemp(d.dir, ".eml-*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(it.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func (d *dirTransport) idle() {}

// emlName is the left part of a Message-ID, safe as a file name.
func emlName(id string) string {
	id = strings.Trim(id, "<>")
	if i := strings.IndexByte(id, '@'); i >= 0 {
		id = id[:i]
	}
	b := make([]byte, 0, len(id))
	for i := 0; i < len(id) && len(b) < 64; i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "mail"
	}
	return string(b)
}

// The mail itself: a subject an on-call engineer can triage from, a plain
// text body that reads well in any client (and in a terminal), and the
// same as HTML.

//go:embed mailtemplates/mail.html
var mailHTMLSource string

var mailHTML = template.Must(template.New("mail.html").Funcs(template.FuncMap{
	"text": mailText,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).Parse(mailHTMLSource + mailCrumbsHTMLSource))

// maxSubjectMessage bounds the message part of a subject, in runes: mail
// clients show about this much, and long subjects get folded badly.
const maxSubjectMessage = 100

// maxMailValue bounds one value shown in a mail; the tracker keeps it all.
const maxMailValue = 8 << 10

// mailView is one notice prepared for both bodies.
type mailView struct {
	Subject     string
	Line        string   // the log line, in Options.Format
	Headline    string   // what this mail is, and how often it happened
	Notes       []string // problems of errlog itself worth knowing
	Level       string
	Title       string
	Chain       []mailException // oldest first
	Stack       []mailFrame     // most recent call first
	Request     *mailRequest
	Sections    []mailSection
	EventID     string
	GroupKey    string
	Summary     []NoticeGroup
	SummaryMore string
	Breadcrumbs []mailCrumb // oldest first
}

type mailException struct{ Type, Value string }

type mailFrame struct {
	Function, File string
	Line           int
	InApp          bool
	Code           string // the source line of an in-app frame, trimmed
}

type mailRequest struct {
	Method, URL, Query, Body string
	Headers, Cookies, Data   []mailKV
	Env                      []mailKV
}

type mailSection struct {
	Name string
	Rows []mailKV
}

type mailKV struct{ Key, Value string }

// compose renders n as an RFC 5322 message and returns its Message-ID.
func (s *mailSink) compose(n *Notice) (id string, msg []byte, err error) {
	now := s.env.Clock.Now()
	v := s.view(n, now)
	text := v.text()
	var html bytes.Buffer
	htmlErr := mailHTML.Execute(&html, v)

	id = "<" + event.NewID() + "@" + hostPart(s.env.ServerName) + ">"
	root := "<errlog-summary@errlog>"
	if n.GroupKey != "" {
		root = "<group-" + n.GroupKey + "@errlog>"
	}
	m := gomail.NewMessage()
	m.SetHeader("From", s.cfg.from)
	m.SetHeader("To", s.cfg.to...)
	m.SetHeader("Subject", v.Subject)
	m.SetDateHeader("Date", now)
	m.SetHeader("Message-ID", id)
	m.SetHeader("In-Reply-To", root)
	m.SetHeader("References", root)
	m.SetHeader("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	m.SetHeader("X-Mailer", "errlog/"+Version)
	m.SetHeader("X-Errlog-Kind", string(n.Kind))
	m.SetHeader("X-Errlog-Count", strconv.Itoa(n.Count))
	if n.GroupKey != "" {
		m.SetHeader("X-Errlog-Group", n.GroupKey)
	}
	if n.Event != nil && n.Event.EventID != "" {
		m.SetHeader("X-Errlog-Event-Id", n.Event.EventID)
	}
	m.SetBody("text/plain", text)
	if htmlErr == nil {
		m.AddAlternative("text/html", html.String())
	} else {
		s.env.OnError(fmt.Errorf("errlog: smtp: HTML part left out: %w", htmlErr))
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return "", nil, err
	}
	return id, buf.Bytes(), nil
}

// view prepares n for the templates.
func (s *mailSink) view(n *Notice, now time.Time) *mailView {
	v := &mailView{GroupKey: n.GroupKey}
	if n.Dropped > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d earlier error mails were dropped: the mail queue was full.", n.Dropped))
	}
	if n.Kind == NoticeSummary {
		v.Level = mailLabel(event.LevelWarning)
		v.Title = fmt.Sprintf("%d more errors not mailed since %s", n.Count, wallClock(n.Since, now))
		v.Subject = headerText(s.cfg.prefix + "WARNING: " + v.Title)
		v.Headline = fmt.Sprintf("%s, last at %s: errlog sends at most %d mails an hour.", v.Title, wallClock(n.Last, now), s.cfg.maxPerHour)
		v.Summary = n.Groups
		if n.OtherGroups > 0 {
			v.SummaryMore = fmt.Sprintf("and %d times more in other groups", n.OtherCount)
		}
		v.Sections = append(v.Sections, mailSection{Name: "Environment", Rows: s.envRows(nil)})
		return v
	}
	ev := n.Event
	v.EventID = ev.EventID
	v.Level = mailLabel(ev.Level)
	if v.Level == "" {
		v.Level = "ERROR"
	}
	v.Title = ev.Title()
	v.Subject = s.subjects.first(n.GroupKey, s.subject(ev, v.Level))
	v.Line = s.formatLine(ev)
	switch n.Kind {
	case NoticeDigest:
		v.Subject = "Re: " + v.Subject
		v.Headline = fmt.Sprintf("… and %d more %s since %s, last at %s.", n.Count, times(n.Count), wallClock(n.Since, now), wallClock(n.Last, now))
		if n.Total > n.Count+1 {
			v.Headline += fmt.Sprintf(" %d %s in all since this process first saw it.", n.Total, times(n.Total))
		}
		v.Headline += " The details below are of the last one."
	default:
		if n.Total > 1 {
			v.Headline = fmt.Sprintf("This error is back: %d %s in all since this process first saw it.", n.Total, times(n.Total))
		} else {
			v.Headline = "First occurrence of this error."
		}
		v.Headline += fmt.Sprintf(" Repeats in the next %s are counted into one digest.", humanDuration(s.cfg.window))
	}
	for _, ex := range ev.Exception {
		v.Chain = append(v.Chain, mailException{Type: ex.Type, Value: ex.Value})
	}
	frames := ev.Frames()
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		fn := f.Function
		if f.Module != "" {
			fn = f.Module + "." + f.Function
		}
		file := f.AbsPath
		if file == "" {
			file = f.Filename
		}
		mf := mailFrame{Function: fn, File: file, Line: f.Lineno, InApp: f.InApp}
		if f.InApp {
			mf.Code = strings.TrimSpace(f.ContextLine)
		}
		v.Stack = append(v.Stack, mf)
	}
	if r := ev.Request; r != nil {
		mr := &mailRequest{Method: r.Method, URL: r.URL, Query: r.QueryString}
		if mr.Query != "" && !strings.Contains(mr.URL, "?") {
			// Sentry keeps them apart; a reader wants the URL as it was.
			mr.URL, mr.Query = mr.URL+"?"+mr.Query, ""
		}
		mr.Headers = stringRows(r.Headers)
		mr.Cookies = stringRows(r.Cookies)
		mr.Env = stringRows(r.Env)
		switch d := r.Data.(type) {
		case nil:
		case string:
			mr.Body = truncateString(d, maxMailValue)
		case map[string]any:
			mr.Data = anyRows(d)
		case map[string]string:
			mr.Data = stringRows(d)
		case map[string][]string:
			for _, k := range sortedKeys(d) {
				mr.Data = append(mr.Data, mailKV{k, valueText(strings.Join(d[k], ", "))})
			}
		default:
			mr.Body = valueText(d)
		}
		v.Request = mr
	}
	if u := ev.User; u != nil {
		var rows []mailKV
		for _, kv := range []mailKV{{"id", u.ID}, {"email", u.Email}, {"username", u.Username}, {"ip_address", u.IPAddress}} {
			if kv.Value != "" {
				rows = append(rows, kv)
			}
		}
		rows = append(rows, anyRows(u.Data)...)
		v.addSection("User", rows)
	}
	v.Breadcrumbs = mailCrumbs(ev)
	v.addSection("Extra", anyRows(ev.Extra))
	v.addSection("Tags", stringRows(ev.Tags))
	for _, name := range sortedKeys(ev.Contexts) {
		v.addSection("Context ("+name+")", anyRows(ev.Contexts[name]))
	}
	v.addSection("Environment", s.envRows(ev))
	return v
}

func (v *mailView) addSection(name string, rows []mailKV) {
	if len(rows) > 0 {
		v.Sections = append(v.Sections, mailSection{Name: name, Rows: rows})
	}
}

// envRows describes where the event happened: the event's own fields,
// else this process's.
func (s *mailSink) envRows(ev *event.Event) []mailKV {
	envName, release, server := s.env.Environment, s.env.Release, s.env.ServerName
	var rows []mailKV
	if ev != nil {
		if ev.Environment != "" {
			envName = ev.Environment
		}
		if ev.Release != "" {
			release = ev.Release
		}
		if ev.ServerName != "" {
			server = ev.ServerName
		}
	}
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, mailKV{k, v})
		}
	}
	add("environment", envName)
	add("release", release)
	add("server", server)
	if ev != nil {
		add("logger", ev.Logger)
		add("transaction", ev.Transaction)
		if !ev.Timestamp.IsZero() {
			add("time", ev.Timestamp.UTC().Format("2006-01-02 15:04:05.000 UTC"))
		}
		if ev.SDK != nil {
			add("sdk", ev.SDK.Name+" "+ev.SDK.Version)
		}
	}
	return rows
}

// subject is "<prefix><LEVEL>: <message> (<file>:<line>)", the message cut
// to maxSubjectMessage runes.
func (s *mailSink) subject(ev *event.Event, level string) string {
	msg := ev.Message()
	if n := len(ev.Exception); n > 0 {
		if val := ev.Exception[n-1].Value; val != "" && !strings.Contains(msg, val) {
			if msg == "" {
				msg = val
			} else {
				msg += ": " + val
			}
		}
	}
	msg = headerText(msg) // no CR, LF, NUL or other control character in a header
	if r := []rune(msg); len(r) > maxSubjectMessage {
		msg = string(r[:maxSubjectMessage-1]) + "…"
	}
	subj := s.cfg.prefix + level + ": " + msg
	if loc := location(ev); loc != "" {
		subj += " (" + loc + ")"
	}
	return headerText(subj)
}

// location is "file.go:42" of ev's culprit frame.
func location(ev *event.Event) string {
	f, ok := ev.CulpritFrame()
	if !ok {
		return ""
	}
	file := f.Filename
	if file == "" {
		file = f.AbsPath
	}
	return path.Base(file) + ":" + strconv.Itoa(f.Lineno)
}

// formatLine renders ev with the Options' template, as the log file has
// it.
func (s *mailSink) formatLine(ev *event.Event) string {
	return s.env.Formatter.eventLine(ev)
}

// text renders the plain-text body.
func (v *mailView) text() string {
	var b strings.Builder
	if v.Line != "" {
		b.WriteString(v.Line)
		b.WriteString("\n\n")
	}
	b.WriteString(v.Headline)
	b.WriteByte('\n')
	for _, n := range v.Notes {
		b.WriteString("Note: " + n + "\n")
	}
	if len(v.Summary) > 0 {
		b.WriteString("\nHeld back, by group:\n")
		for _, g := range v.Summary {
			fmt.Fprintf(&b, "  %6d × %s\n", g.Count, g.Title)
		}
		if v.SummaryMore != "" {
			b.WriteString("  " + v.SummaryMore + "\n")
		}
	}
	if len(v.Chain) > 0 {
		b.WriteString("\nError chain (oldest first):\n")
		for i, ex := range v.Chain {
			fmt.Fprintf(&b, "  %d. ", i+1)
			if ex.Type != "" {
				b.WriteString(ex.Type + ": ")
			}
			writeIndented(&b, ex.Value, "     ")
		}
	}
	if len(v.Stack) > 0 {
		b.WriteString("\nStack trace (most recent call first):\n")
		for _, f := range v.Stack {
			fmt.Fprintf(&b, "  %s\n      %s:%d\n", f.Function, f.File, f.Line)
			if f.Code != "" {
				b.WriteString("        " + f.Code + "\n")
			}
		}
	}
	if r := v.Request; r != nil {
		b.WriteString("\nRequest:\n  " + r.Method + " " + r.URL + "\n")
		if r.Query != "" {
			b.WriteString("  Query: " + r.Query + "\n")
		}
		writeRows(&b, "  Headers:\n", r.Headers)
		writeRows(&b, "  Cookies:\n", r.Cookies)
		writeRows(&b, "  Form:\n", r.Data)
		if r.Body != "" {
			b.WriteString("  Body:\n    ")
			writeIndented(&b, r.Body, "    ")
		}
		writeRows(&b, "  Environment:\n", r.Env)
	}
	writeCrumbs(&b, v.Breadcrumbs)
	for _, sec := range v.Sections {
		writeRows(&b, "\n"+sec.Name+":\n", sec.Rows)
	}
	if v.EventID != "" {
		b.WriteString("\nEvent ID: " + v.EventID + "\n")
	}
	if v.GroupKey != "" {
		b.WriteString("Group: " + v.GroupKey + "\n")
	}
	b.WriteString("\n-- \nerrlog " + Version + "\n")
	return b.String()
}

func writeRows(b *strings.Builder, title string, rows []mailKV) {
	if len(rows) == 0 {
		return
	}
	b.WriteString(title)
	indent := "    "
	if !strings.HasPrefix(title, "  ") {
		indent = "  "
	}
	for _, kv := range rows {
		b.WriteString(indent + kv.Key + ": ")
		writeIndented(b, kv.Value, indent+"  ")
	}
}

// writeIndented writes s and a newline, indenting every line after the
// first.
func writeIndented(b *strings.Builder, s, indent string) {
	s = strings.TrimRight(s, "\n")
	b.WriteString(strings.ReplaceAll(s, "\n", "\n"+indent))
	b.WriteByte('\n')
}

func stringRows(m map[string]string) []mailKV {
	rows := make([]mailKV, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, mailKV{k, truncateString(m[k], maxMailValue)})
	}
	return rows
}

func anyRows(m map[string]any) []mailKV {
	rows := make([]mailKV, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, mailKV{k, valueText(m[k])})
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// valueText shows a value of an event: strings as they are, structures as
// JSON (sorted keys), anything JSON cannot encode as Go would print it.
func valueText(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case nil:
		s = "null"
	case fmt.Stringer, error:
		s = safeText(x)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err == nil {
			s = strings.TrimSuffix(buf.String(), "\n")
		} else {
			s = safeText(v)
		}
	}
	return truncateString(s, maxMailValue)
}

// wallClock shows t as a mail reader wants it: "14:02" on the day of ref,
// with the date otherwise.
func wallClock(t, ref time.Time) string {
	t, ref = t.In(time.Local), ref.In(time.Local)
	if y1, m1, d1 := t.Date(); true {
		if y2, m2, d2 := ref.Date(); y1 == y2 && m1 == m2 && d1 == d2 {
			return t.Format("15:04")
		}
	}
	return t.Format("2006-01-02 15:04")
}

func times(n int) string {
	if n == 1 {
		return "time"
	}
	return "times"
}

// humanDuration shows d as "10 minutes", "1 hour", "90 seconds".
func humanDuration(d time.Duration) string {
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return strconv.FormatInt(n, 10) + " " + name + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	case d >= time.Second && d%time.Second == 0:
		return unit(int64(d/time.Second), "second")
	}
	return d.String()
}
