package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/event"
)

// Version is errlog's version, sent to trackers as the SDK version.
const Version = "0.1.0"

// DefaultFormat is the template of the log file and of mail, Flask's
// recommended file format.
const DefaultFormat = "%(asctime)s %(levelname)s: %(message)s [in %(pathname)s:%(lineno)d]"

// Options configure New and NewHandler. The zero value is all defaults:
// coloured console on stderr at INFO, no file, no mail, no tracker.
// New never modifies the Options it is given.
type Options struct {
	// Level is the console's threshold. Default slog.LevelInfo.
	Level slog.Leveler
	// Console receives coloured text (github.com/lmittmann/tint). Default
	// os.Stderr; io.Discard turns the console off.
	Console io.Writer
	// NoColor turns colour off. Colour is also off when Console is not a
	// terminal or NO_COLOR is set.
	NoColor bool
	// ForceColor writes colour even when Console is not a terminal (for
	// `less -R`, or a CI log viewer that renders ANSI colour). NoColor and
	// NO_COLOR still win. Default false.
	ForceColor bool
	// ErrorLevel is the level at and above which records become events:
	// they get a stack trace, the request and the scope, and go to mail,
	// tracker and every EventSink. Default slog.LevelError. (A Leveler
	// rather than a Level, so that the zero value can mean the default;
	// ErrorLevel: slog.LevelWarn still reads as before.)
	ErrorLevel slog.Leveler
	// Format is the Python logging template of the file and of mail.
	// Default DefaultFormat.
	Format string
	// DateFormat is the strftime layout of %(asctime)s. Default Python's
	// "2003-07-08 16:49:45,896".
	DateFormat string

	// File, when set, adds a rotating log file.
	File *FileOptions
	// Mail, when set, adds error mail.
	Mail *MailOptions
	// Tracker, when set, adds a Sentry-protocol tracker.
	Tracker *TrackerOptions
	// Sinks receive every event, after mail and tracker: an in-app store,
	// or anything else that implements EventSink.
	Sinks []EventSink
	// Notifiers receive every event with the throttling of mail (a
	// Slack-style webhook, a pager).
	Notifiers []Notifier
	// Ticketers raise a ticket for the first event of each group.
	Ticketers []Ticketer

	// Mask says which values are hidden before any sink sees them.
	Mask MaskOptions

	// Debug is Flask's DEBUG: mail and tracker stay off unless
	// Tracker.DebugURL is set.
	Debug bool
	// Environment and Release tag every event ("production", "v1.4.2").
	Environment string
	Release     string
	// ServerName names this host in events. Default os.Hostname().
	ServerName string
	// Config is the application's configuration, shown with every event
	// (masked like everything else).
	Config map[string]any

	// MaxValueBytes caps one attribute value; a longer one is cut and
	// marked "…[truncated N bytes]". Default 64 KiB; negative: no limit.
	MaxValueBytes int
	// QueueSize bounds the events waiting for mail, tracker and sinks.
	// Past it, events are dropped, counted and reported. Default 1024.
	QueueSize int
	// SpoolDir keeps undelivered mail and tracker events on disk across
	// restarts. Default: no spool (memory only).
	SpoolDir string
	// OnDeliveryError receives every failure to write or deliver a record.
	// Default: one line on stderr, at most one a minute per sink.
	OnDeliveryError func(error)

	// TrackedStatus lists the HTTP statuses that Middleware reports.
	// Default 500-599.
	TrackedStatus []StatusRange
	// ContextBuilder, when set, adds to or replaces the request context
	// Middleware captures.
	ContextBuilder ContextBuilder
	// Repanic makes Middleware re-panic after reporting a panic instead of
	// answering 500.
	Repanic bool
	// MaxBodyBytes caps the request body Middleware keeps. Default 64 KiB.
	MaxBodyBytes int

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// StatusRange is an inclusive range of HTTP statuses.
type StatusRange struct{ From, To int }

// An EventSink receives every record at or above Options.ErrorLevel as a
// finished, masked event, from errlog's delivery goroutine (never from the
// caller's). Deliver must not block for long: a sink that talks to the
// network queues the event. Events are shared between sinks and must not
// be modified.
type EventSink interface {
	Deliver(ev *event.Event)
	// Flush returns when everything delivered so far has been sent,
	// retrying until ctx is done; then it returns an error that says
	// what is left (and whether it waits on disk).
	Flush(ctx context.Context) error
	// Close flushes, then stops every goroutine the sink started.
	// Closing twice is not an error.
	Close(ctx context.Context) error
}

// A Notifier is told of events, with the throttling of mail: the first of
// each group at once, then digests.
type Notifier interface {
	Notify(ctx context.Context, ev *event.Event) error
}

// A Ticketer raises a ticket (an issue tracker entry) for the first event
// of each group.
type Ticketer interface {
	RaiseTicket(ctx context.Context, ev *event.Event) error
}

// A ContextBuilder returns the context Middleware attaches to a request:
// its values join the event's "request context" and its "user" entry, if
// any, becomes the event's user.
type ContextBuilder interface {
	BuildContext(r *http.Request) map[string]any
}

// registry holds every Handler New built, for the package-level Flush.
var registry struct {
	sync.Mutex
	handlers []*Handler
}

func register(h *Handler) {
	registry.Lock()
	registry.handlers = append(registry.handlers, h)
	registry.Unlock()
}

func unregister(h *Handler) {
	registry.Lock()
	defer registry.Unlock()
	for i, x := range registry.handlers {
		if x.c == h.c {
			registry.handlers = append(registry.handlers[:i:i], registry.handlers[i+1:]...)
			return
		}
	}
}

// New returns a logger that writes through a new Handler, for
// slog.SetDefault.
func New(opts Options) *slog.Logger {
	return slog.New(NewHandler(opts))
}

// Flush delivers everything queued by every Handler that New or
// NewHandler built and that is not closed, or returns ctx's error.
//
// The handlers flush at once, under one deadline: ctx's, or
// DefaultFlushTimeout when it has none.
func Flush(ctx context.Context) error {
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	registry.Lock()
	hs := append([]*Handler(nil), registry.handlers...)
	registry.Unlock()
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func(i int, h *Handler) {
			defer wg.Done()
			errs[i] = h.Flush(ctx)
		}(i, h)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// guardedOnError calls f, but never from inside f: a hook that logs
// through errlog, into a sink that fails again, would otherwise call
// itself without end. A report that arrives while f runs (on any
// goroutine) is not lost: it is folded into one more call made as soon as
// f returns, or, if it arrives during that call too, into the next report.
func guardedOnError(f func(error)) func(error) {
	var (
		mu     sync.Mutex
		busy   bool
		folded []error
		more   int
	)
	take := func(err error) error {
		if len(folded) == 0 {
			return err
		}
		errs := folded
		if err != nil {
			errs = append([]error{err}, folded...)
		}
		fe := &foldedError{errs: errs, more: more}
		folded, more = nil, 0
		return fe
	}
	return func(err error) {
		mu.Lock()
		if busy {
			if len(folded) < maxFolded {
				folded = append(folded, err)
			} else {
				more++
			}
			mu.Unlock()
			return
		}
		busy = true
		err = take(err)
		mu.Unlock()
		defer func() {
			mu.Lock()
			busy = false
			mu.Unlock()
		}()
		f(err)
		mu.Lock()
		if len(folded) > 0 {
			// What arrived meanwhile, in one more call. What arrives
			// during that one waits for the next report.
			err = take(nil)
			mu.Unlock()
			f(err)
			return
		}
		mu.Unlock()
	}
}

// maxFolded bounds the reports kept while OnDeliveryError is busy; past
// it they are only counted.
const maxFolded = 64

// foldedError is several delivery errors reported in one call of
// OnDeliveryError. errors.Is and errors.As see each of them.
type foldedError struct {
	errs []error
	more int // reports beyond maxFolded, counted only
}

func (e *foldedError) Error() string {
	var b strings.Builder
	for i, err := range e.errs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(err.Error())
	}
	if e.more > 0 {
		b.WriteString("\nerrlog: and " + itoa(e.more) + " more delivery errors")
	}
	return b.String()
}

func (e *foldedError) Unwrap() []error { return e.errs }

// defaultOnError writes one line on stderr per failure source, at most one
// a minute each, so that a dead sink cannot flood the console.
func defaultOnError(now func() time.Time) func(error) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	suppressed := map[string]int{}
	return func(err error) {
		key := errorSource(err)
		t := now()
		mu.Lock()
		if prev, ok := last[key]; ok && t.Sub(prev) < time.Minute {
			suppressed[key]++
			mu.Unlock()
			return
		}
		n := suppressed[key]
		last[key], suppressed[key] = t, 0
		mu.Unlock()
		if n > 0 {
			io.WriteString(os.Stderr, err.Error()+" (and "+itoa(n)+" more like it)\n")
			return
		}
		io.WriteString(os.Stderr, err.Error()+"\n")
	}
}

// errorSource is the rate-limiting key of an error: its text up to the
// second colon ("errlog: smtp"), so that one sink's failures share a key.
func errorSource(err error) string {
	s := err.Error()
	colons := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			colons++
			if colons == 2 {
				return s[:i]
			}
		}
	}
	return s
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
