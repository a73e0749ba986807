package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
)

// Version is errlog's version: the sdk.version of every event, the
// X-Mailer of error mail and the User-Agent of the tracker and webhook.
// It equals the newest release in CHANGELOG.md (a test checks).
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
	// TimeFormat is the Go time layout of the console's time, as tint's
	// and slog's TimeFormat. Default "15:04:05.000". (The file's is
	// DateFormat, a strftime layout, as in Python.)
	TimeFormat string
	// AddSource writes the file and line of the logging call on each
	// console line, as slog's and tint's AddSource. Default false. The
	// file shows them through Format (%(pathname)s, %(filename)s,
	// %(lineno)d; the default has them).
	AddSource bool
	// ReplaceAttr rewrites or drops (by returning an empty Attr) each
	// attribute before the console and the file write it, as
	// slog.HandlerOptions.ReplaceAttr: groups names the groups the
	// attribute is in; it is not called for the groups themselves. On the
	// console it also sees the built-in time, level, message and source
	// attributes (tint's behaviour); the file's other fields come from
	// Format. Values are already masked. Mail, the tracker and sinks get
	// the attributes as logged (see BeforeSend). It is called once per
	// attribute by each of console and file, from the logging goroutine,
	// and must be safe for concurrent use. Default: none. The file uses
	// FileOptions.ReplaceAttr instead when that is set.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr
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
	// SampleRate is the fraction of events kept, in (0, 1], decided at
	// random for each event before it is built: 0.25 keeps about one in
	// four. Zero means 1, every event; a value outside [0, 1] is reported
	// through OnDeliveryError and taken as 1. It applies to mail, tracker,
	// notifiers, ticketers and every EventSink alike, not to the console
	// and the file. Events left out are counted by Handler.Discarded,
	// apart from losses.
	SampleRate float64
	// BeforeSend, when set, sees every event that SampleRate kept, once,
	// before mail, tracker, notifiers, ticketers and sinks do, on
	// errlog's delivery goroutine. It returns the event to deliver (ev
	// itself, changed or not, or another) or nil to drop it, counted by
	// Handler.Discarded. A BeforeSend that panics drops the event (it may
	// have been meant to remove something) and the panic is reported.
	// TrackerOptions.BeforeSend and SampleRate apply after these, to the
	// tracker only. Default: deliver every event as built.
	BeforeSend func(ev *event.Event) *event.Event
	// Breadcrumbs is how many of the records logged before an event, below
	// ErrorLevel and at or above BreadcrumbLevel, the event carries as
	// Sentry breadcrumbs (shown in mail too), oldest first: those logged
	// with the event's Scope (WithScope, or Middleware's per request),
	// else those logged without a scope through this Handler. They are
	// masked like everything else. Default DefaultBreadcrumbs (50);
	// negative: none. Without mail, tracker or sinks none are kept.
	Breadcrumbs int
	// BreadcrumbLevel is the lowest level kept as a breadcrumb. Default
	// Level, the console's. A level below the console's makes those
	// records cost their handling even when nothing else shows them.
	BreadcrumbLevel slog.Leveler
	// Notifiers receive every event with the throttling of mail (a
	// Slack-style webhook, a pager).
	Notifiers []Notifier
	// Ticketers raise a ticket for the first event of each group.
	Ticketers []Ticketer
	// Throttle paces error mail, Notifiers and Ticketers: the digest
	// window (default DefaultMailWindow), the hourly cap (default
	// DefaultMaxMailsPerHour) and the backoff of retries. The zero value
	// is all defaults; it applies whether mail is on or not.
	Throttle ThrottleOptions

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
	// EnvKeys names the process environment variables events carry
	// besides DefaultEnvKeys(): names, or prefixes ending in "*"
	// ("APP_*"). They are masked like everything else. Every other
	// variable stays in the process. (Environment, above, is the event's
	// deployment environment.)
	EnvKeys []string

	// MaxValueBytes caps one attribute value; a longer one is cut and
	// marked "…[truncated N bytes]". Default 64 KiB; negative: no limit.
	MaxValueBytes int
	// QueueSize bounds the events waiting for mail, tracker and sinks.
	// Past it, events are dropped, counted and reported. Default 1024.
	QueueSize int
	// SpoolDir keeps undelivered mail and tracker events on disk across
	// restarts. Default: no spool (memory only).
	SpoolDir string
	// NoCrashReports leaves runtime/debug.SetCrashOutput alone. By
	// default (Go 1.23 and later, with SpoolDir and a sink set), the
	// runtime's text of a crash (an unrecovered panic, a fatal error such
	// as "concurrent map writes") goes to a file under SpoolDir, and the
	// next NewHandler with that SpoolDir reports it as a fatal event.
	NoCrashReports bool
	// OnDeliveryError receives every failure to write or deliver a record,
	// as a *DeliveryError naming the sink. Default: one line on stderr, at
	// most one a minute per sink.
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

	// SourceContext says where the source line under each stack frame is
	// shown, as Python tracebacks show it. Default (SourceDefault): in
	// events (Sentry's context_line, pre_context, post_context), mail and
	// the log file, and on the console when it is a terminal. SourceOff
	// reads no source file.
	SourceContext SourceMode

	// SendDefaultPII sets the event's user.ip_address to the client's
	// address when nothing else set it, as sentry-go's option of the same
	// name does. Default false: the address is personal data.
	SendDefaultPII bool

	// Now is the time of day of every record, event, mail and spool
	// file, and of the throttle's windows, the tracker's rate limits and
	// Retry-After. Default time.Now. The waits computed from it (digest
	// windows, backoff, holds, idle connections) are timed by real
	// timers; network deadlines are always real time.
	Now func() time.Time

	// clock, set by tests, replaces Now and the real timers with one
	// clock (internal/clock.Fake), so that hour-long windows take no
	// time. withDefaults sets it from Now.
	clock clock.Clock
}

// Defaults that more than one layer needs, written once. Options'
// comments give them; withDefaults, the sinks' constructors and the
// standalone constructors (NewFileHandler, NewTracker) read them here.
const (
	// defaultQueueSize is Options.QueueSize's default, the delivery
	// queue's own.
	defaultQueueSize = delivery.DefaultQueueSize
	// defaultMaxBodyBytes is Options.MaxBodyBytes's default.
	defaultMaxBodyBytes = 64 << 10
	// defaultFileLevel is FileOptions.Level's default, Flask's.
	defaultFileLevel = slog.LevelWarn
	// defaultErrorLevel is Options.ErrorLevel's default.
	defaultErrorLevel = slog.LevelError
	// defaultIdleTimeout is how long an idle connection is kept for the
	// next burst: MailOptions.IdleTimeout's default, and the tracker's
	// and webhook's HTTP keep-alive.
	defaultIdleTimeout = 30 * time.Second
)

// defaultTrackedStatus is Options.TrackedStatus's default, a new slice
// each time: callers may keep it.
func defaultTrackedStatus() []StatusRange { return []StatusRange{{500, 599}} }

// withDefaults returns o with every zero field that has a default set to
// it, the clock resolved from Now, and a default OnDeliveryError. It is a
// copy: the caller's Options are never written. Every default of Options
// is applied here and nowhere else.
func (o Options) withDefaults() Options {
	if o.clock == nil {
		o.clock = clock.WithNow(o.Now)
	}
	o.Now = o.clock.Now
	if o.OnDeliveryError == nil {
		o.OnDeliveryError = defaultOnError(o.Now)
	}
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	if o.ErrorLevel == nil {
		o.ErrorLevel = defaultErrorLevel
	}
	if o.Console == nil {
		o.Console = os.Stderr
	}
	if o.QueueSize <= 0 {
		o.QueueSize = defaultQueueSize
	}
	if o.MaxValueBytes == 0 {
		o.MaxValueBytes = DefaultMaxValueBytes
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = defaultMaxBodyBytes
	}
	if o.TrackedStatus == nil {
		o.TrackedStatus = defaultTrackedStatus()
	}
	if o.Format == "" {
		o.Format = DefaultFormat
	}
	if o.Breadcrumbs == 0 {
		o.Breadcrumbs = DefaultBreadcrumbs
	}
	if o.BreadcrumbLevel == nil {
		o.BreadcrumbLevel = o.Level
	}
	return o
}

// StatusRange is an inclusive range of HTTP statuses.
type StatusRange struct {
	// From and To are the first and the last status of the range;
	// StatusRange{404, 404} is 404 alone.
	From, To int
}

// An EventSink receives every record at or above Options.ErrorLevel as a
// finished, masked event, from errlog's delivery goroutine (never from the
// caller's). Deliver must not block for long: a sink that talks to the
// network queues the event. Events are shared between sinks and must not
// be modified.
type EventSink interface {
	// Deliver hands over one event.
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
	// Notify tells of ev. ctx carries the Notice (NoticeFromContext, or
	// implement NoticeNotifier to be given it) and the delivery deadline;
	// an error is retried with backoff, five attempts in all, unless it
	// is Permanent (no retry) or RetryAfter (the next attempt after a
	// given delay).
	Notify(ctx context.Context, ev *event.Event) error
}

// A Ticketer raises a ticket (an issue tracker entry) for the first event
// of each group.
type Ticketer interface {
	// RaiseTicket opens a ticket for ev's group; an error is retried
	// with backoff, five attempts in all, unless it is Permanent or
	// RetryAfter, as Notify's.
	RaiseTicket(ctx context.Context, ev *event.Event) error
}

// A ContextBuilder returns the context Middleware attaches to a request:
// its values join the event's "request context" and its "user" entry, if
// any, becomes the event's user.
type ContextBuilder interface {
	// BuildContext is called at most once per request, when its first
	// event is built, with the request as the application's handler saw
	// it. A panic in it is recovered and reported in the context.
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
		b.WriteString("\nerrlog: and " + strconv.Itoa(e.more) + " more delivery errors")
	}
	return b.String()
}

func (e *foldedError) Unwrap() []error { return e.errs }

// defaultOnError writes one line on stderr per sink, at most one a minute
// each, so that a dead sink cannot flood the console.
func defaultOnError(now func() time.Time) func(error) {
	return rateLimitedReporter(os.Stderr, now)
}
