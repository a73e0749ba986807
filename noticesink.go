package errlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/trim"
	"github.com/errlog/errlog/mail"
)

// The mail sink: the throttled notice fan-out behind MailOptions,
// Notifiers and Ticketers (it runs notifiers and ticketers even when mail
// itself is off), and the delivery queues it feeds.

// noticeSink is the EventSink behind MailOptions, Notifiers and Ticketers:
// it throttles events into notices (mail.Throttle) and hands each,
// composed (mail.Composer), to the delivery queue of mail and of each
// notifier.
type noticeSink struct {
	env      sinkEnv
	throttle mail.ThrottleOptions // resolved
	name     string               // the mail queue's: "smtp", or "mail" for a directory

	composer  *mail.Composer  // nil when mail is off
	mailQ     *delivery.Queue // nil when mail is off
	transport mail.Transport  // nil when mail is off
	dropped   atomic.Int64    // mails refused by a full queue, not yet told
	late      atomic.Int64    // events delivered after Close, not mailed
	lost      atomic.Uint64   // mails that could not be composed

	// retryTo holds, by mail ID, the recipients a mail is still owed to
	// when the server took it for the others (mail.RetryRecipients).
	retryMu sync.Mutex
	retryTo map[string][]string

	notifiers []*notifyQueue
	ticketers []*notifyQueue

	mu       sync.Mutex
	th       *mail.Throttle
	timer    clock.Timer
	armed    time.Time // when timer fires; zero if stopped
	closed   bool
	inflight sync.WaitGroup // emits in progress (Deliver, tick)

	closeOnce sync.Once
	closeErr  error
	closeDone chan struct{}
}

var _ EventSink = (*noticeSink)(nil)

// newMailSink builds the mail sink; o is nil (or Disabled) when only
// notifiers or ticketers are configured. th paces mail and notifiers
// alike.
func newMailSink(o *MailOptions, th ThrottleOptions, env sinkEnv, notifiers []Notifier, ticketers []Ticketer) (*noticeSink, error) {
	env = env.withDefaults()
	th = th.WithDefaults()
	s := &noticeSink{
		env:       env,
		throttle:  th,
		name:      "smtp",
		th:        mail.NewThrottle(th),
		closeDone: make(chan struct{}),
	}
	var cleanup []*delivery.Queue
	fail := func(err error) (*noticeSink, error) {
		for _, q := range cleanup {
			q.Close(context.Background())
		}
		return nil, err
	}
	if o == nil || o.Disabled {
		s.name = "notify"
	} else {
		if o.Dir != "" {
			s.name = "mail"
		}
		if err := s.startMail(o); err != nil {
			// Package mail's errors start "mail: ", which the sink's
			// name already says.
			why := strings.TrimPrefix(err.Error(), "mail: ")
			if errors.Is(err, mail.ErrNoRecipient) {
				why += " (Options.Mail.To, or ERRLOG_MAIL_TO)"
			}
			return nil, &mailOffError{text: "errlog: " + s.name + ": " + why + "; " + mailOff, err: err}
		}
		cleanup = append(cleanup, s.mailQ)
	}
	for _, n := range notifiers {
		q, err := newNotifyQueue(n, nil, th, env)
		if err != nil {
			return fail(err)
		}
		cleanup = append(cleanup, q.q)
		s.notifiers = append(s.notifiers, q)
	}
	for _, t := range ticketers {
		q, err := newNotifyQueue(nil, t, th, env)
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

// startMail checks o and starts the composer, the transport and the mail
// queue.
func (s *noticeSink) startMail(o *MailOptions) error {
	env := s.env
	addrs, err := o.Addresses("errlog@" + mail.HostPart(env.ServerName))
	if err != nil {
		return err
	}
	s.transport, err = mail.NewTransport(*o, mail.Env{
		// "mail: smtp: <id> sent, but not to every recipient: …" is the
		// mail sink's report, as its other failures are.
		OnError: func(err error) {
			env.OnError(&DeliveryError{Sink: s.name, Err: prefixedError{text: strings.TrimPrefix(err.Error(), "mail: smtp: "), err: err}})
		},
		ServerName: env.ServerName,
		Now:        env.Clock.Now,
		AfterFunc: func(d time.Duration, f func()) func() bool {
			return env.Clock.AfterFunc(d, f).Stop
		},
	})
	if err != nil {
		return err
	}
	s.composer = &mail.Composer{
		Addresses:     addrs,
		SubjectPrefix: o.SubjectPrefix,
		ServerName:    env.ServerName,
		Environment:   env.Environment,
		Release:       env.Release,
		Mailer:        "errlog/" + Version,
		Throttle:      s.throttle,
		Line:          env.Formatter.EventLine,
		Now:           env.Clock.Now,
		OnError:       env.OnError,
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = mail.DefaultTimeout
	}
	spool := ""
	if env.SpoolDir != "" {
		// Owned by these recipients: another program given the same
		// directory must not mail this one's backlog to its own team;
		// a new mail server or sender still sends it.
		to := slices.Clone(addrs.EnvTo)
		slices.Sort(to)
		spool = delivery.OwnedDir(filepath.Join(env.SpoolDir, "mail"), strings.Join(to, "\n"))
	}
	s.mailQ, err = delivery.New(delivery.Options{
		Name:        s.name,
		Send:        s.sendMail,
		QueueSize:   env.QueueSize,
		SpoolDir:    spool,
		MinBackoff:  s.throttle.MinBackoff,
		MaxBackoff:  s.throttle.MaxBackoff,
		SendTimeout: 3*timeout + time.Second,
		OnError:     env.OnError,
		Clock:       env.Clock,
	})
	return err
}

// Deliver throttles ev and queues the mails and notifications it calls
// for. It never waits on the network.
func (s *noticeSink) Deliver(ev *event.Event) {
	if ev == nil {
		return
	}
	key := ev.GroupKey()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		// Lost, like an item enqueued on a closed queue: say so.
		n := s.late.Add(1)
		what := "not mailed: the mail sink is closed"
		if s.mailQ == nil {
			what = "not notified: the notifiers are closed"
		}
		s.env.OnError(fmt.Errorf("errlog: %s: event %s %s (%d events since Close)", s.name, ev.EventID, what, n))
		return
	}
	notes, firstSeen := s.th.Add(ev, key, s.env.Clock.Now())
	// Whatever Add did: a repeat the hourly cap held back opens a window
	// with nothing to send now, and its digest, and the hour's summary,
	// are due when it ends. (rearmLocked costs nothing when the timer is
	// already set earlier.)
	s.rearmLocked()
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
func (s *noticeSink) tick() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.armed = time.Time{}
	notes := s.th.Due(s.env.Clock.Now())
	s.rearmLocked()
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	s.emit(notes)
}

// rearmLocked makes the timer fire when the throttle next has work.
func (s *noticeSink) rearmLocked() {
	next := s.th.Next()
	if next.IsZero() || (!s.armed.IsZero() && !next.Before(s.armed)) {
		return
	}
	s.armed = next
	// A little late on purpose: windows that end close together are
	// then handled by one wake-up instead of one each.
	d := next.Sub(s.env.Clock.Now()) + s.throttle.Window/50
	if d < time.Millisecond {
		d = time.Millisecond
	}
	s.timer.Reset(d)
}

// emit composes and queues each notice for mail and every notifier.
func (s *noticeSink) emit(notes []Notice) {
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

func (s *noticeSink) queueMail(n *Notice) {
	dropped := s.dropped.Swap(0)
	n2 := *n
	n2.Dropped = int(dropped)
	m, err := s.composeFitting(&n2)
	if err != nil {
		s.dropped.Add(dropped + 1)
		s.lost.Add(1)
		s.env.OnError(fmt.Errorf("errlog: %s: composing a mail: %w", s.name, err))
		return
	}
	if !s.mailQ.Enqueue(delivery.Item{ID: m.ID, Body: m.Data}) {
		// The queue reports the drop; the next mail says so too.
		s.dropped.Add(dropped + 1)
	}
}

// MaxMailBytes is the largest mail composed (text and HTML parts
// together); a larger one is cut, with a note saying so.
const MaxMailBytes = 1 << 20

// composeFitting composes n's mail, cutting its event until the mail fits
// MaxMailBytes: a mail of many megabytes (a huge attribute key) would time
// out on every try and hold up the mails behind it.
func (s *noticeSink) composeFitting(n *Notice) (*mail.Message, error) {
	m, err := s.composer.Compose(n, mail.Extra{})
	if err != nil || len(m.Data) <= MaxMailBytes || n.Event == nil {
		return m, err
	}
	orig := len(m.Data)
	c := *n
	for _, lim := range trim.Steps {
		c.Event = trim.Event(n.Event, lim)
		trim.Note(c.Event, fmt.Sprintf("mail cut from %d bytes to fit %d: keys over %d bytes, values over %d bytes, more than %d entries and %d frames were cut",
			orig, MaxMailBytes, lim.Key, lim.Value, lim.Entries, lim.Frames))
		if m, err = s.composer.Compose(&c, mail.Extra{}); err != nil || len(m.Data) <= MaxMailBytes {
			return m, err
		}
	}
	c.Event = trim.Minimal(n.Event)
	trim.Note(c.Event, fmt.Sprintf("mail cut from %d bytes to fit %d: only the message and error types are left", orig, MaxMailBytes))
	return s.composer.Compose(&c, mail.Extra{})
}

// sendMail is the mail queue's SendFunc. Temporary failures are retried by
// the queue without a word, so the first of each mail's failures is
// reported here; permanent ones the queue reports itself.
func (s *noticeSink) sendMail(ctx context.Context, it delivery.Item) error {
	a := s.composer.Addresses
	to := a.EnvTo
	s.retryMu.Lock()
	if owed, ok := s.retryTo[it.ID]; ok {
		to = owed
	}
	s.retryMu.Unlock()
	err := s.transport.Send(ctx, &mail.Message{ID: it.ID, From: a.EnvFrom, To: to, Data: it.Body})
	var later *mail.RetryRecipients
	s.retryMu.Lock()
	switch {
	case errors.As(err, &later):
		if s.retryTo == nil {
			s.retryTo = map[string][]string{}
		}
		s.retryTo[it.ID] = later.To
	case err == nil || delivery.IsPermanent(err):
		delete(s.retryTo, it.ID)
	}
	s.retryMu.Unlock()
	if err != nil && !delivery.IsPermanent(err) && ctx.Err() == nil && it.Attempt%10 == 0 {
		what := "not sent"
		if later != nil {
			what = "sent, but not yet to every recipient"
		}
		s.env.OnError(fmt.Errorf("errlog: %s: mail %s %s (attempt %d, will retry): %w", s.name, it.ID, what, it.Attempt+1, err))
	}
	return err
}

// Flush sends every pending digest now, and the summary of what the hourly
// cap held back if the cap allows one more mail (else it goes out when the
// hour ends, or at Close), then waits until every mail and notification
// queued so far is delivered, retrying until ctx is done, and closes the
// idle SMTP connection.
func (s *noticeSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	notes := s.th.Flush(s.env.Clock.Now(), false)
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
func (s *noticeSink) waitQueues(ctx context.Context, f func(*delivery.Queue, context.Context) error) error {
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
		s.transport.Close() // at once: QUIT is said in the background
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close sends every pending digest and summary, flushes the queues within
// ctx, and stops every goroutine the sink started. Mail that could not be
// sent stays in the spool, if there is one, and is reported lost
// otherwise. Later calls wait for the first to finish.
func (s *noticeSink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.timer.Stop()
		notes := s.th.Flush(s.env.Clock.Now(), true)
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
		return fmt.Errorf("errlog: %s: close: %w", s.name, ctx.Err())
	}
}

// mailOff ends the report of a setting without which no mail can be
// sent (FromEnv's too).
const mailOff = "error mail is off"

// mailOffError is the mail sink's error when mail cannot start: its text
// names the sink once and says that mail is off; it wraps the cause.
type mailOffError struct {
	text string
	err  error
}

func (e *mailOffError) Error() string { return e.text }
func (e *mailOffError) Unwrap() error { return e.err }
