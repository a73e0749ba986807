package errlog

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/internal/values"
	"github.com/errlog/errlog/internal/version"
	"github.com/errlog/errlog/logfile"
	"github.com/errlog/errlog/tracker"
)

// Version is errlog's version: the sdk.version of every event, the
// X-Mailer of error mail and the User-Agent of the tracker and webhook.
// It equals the newest release in CHANGELOG.md (a test checks).
const Version = version.Version

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
	// terminal or NO_COLOR is set to a non-empty value.
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
	// logfile.Options.ReplaceAttr instead when that is set.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr
	// ErrorLevel is the level at and above which records become events:
	// they get a stack trace, the request and the scope, and go to mail,
	// tracker and every EventSink. Default slog.LevelError. (A Leveler
	// rather than a Level, so that the zero value can mean the default;
	// ErrorLevel: slog.LevelWarn still reads as before.)
	ErrorLevel slog.Leveler
	// Format is the Python logging template of the file and of mail.
	// Default logfile.DefaultFormat.
	Format string
	// DateFormat is the strftime layout of %(asctime)s. Default Python's
	// "2003-07-08 16:49:45,896".
	DateFormat string

	// File, when set, adds a rotating log file. Its Format, DateFormat,
	// ErrorLevel, ReplaceAttr and Now default to these Options' values.
	File *logfile.Options
	// Mail, when set, adds error mail.
	Mail *MailOptions
	// Tracker, when set, adds a Sentry-protocol tracker. Its
	// Environment, Release, ServerName, SpoolDir (under a "tracker"
	// folder), QueueSize and OnError default to these Options' values.
	Tracker *tracker.Options
	// Sinks receive every event, after mail and tracker: an in-app store,
	// or anything else that implements EventSink. The Handler closes them
	// when it is closed, and when it is dropped without Close and
	// collected: keep it (slog.SetDefault, or Close it yourself) for as
	// long as the application uses a sink.
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
	// tracker.Options.BeforeSend and SampleRate apply after these, to the
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
	// Hooks add what a record's context knows (the trace it was logged
	// in) to its event and to the log file's template fields, and are
	// told of every record at or above ErrorLevel: see Hook. Default:
	// none.
	Hooks []Hook
	// Notifiers receive every event with the throttling of mail (a
	// Slack-style webhook, a pager).
	Notifiers []Notifier
	// Ticketers raise a ticket for the first event of each group, every
	// group: the hourly cap does not hold one back (a group without its
	// ticket is a bug nobody tracks), and a ticket system files one per
	// issue.
	Ticketers []Ticketer
	// Throttle paces error mail and Notifiers: the digest window (default
	// DefaultMailWindow), the hourly cap (default DefaultMaxMailsPerHour)
	// and the backoff of retries, which Ticketers' retries have too. The
	// zero value is all defaults; it applies whether mail is on or not.
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
	// ("APP_*"; a bare "*" names none). They are masked like everything
	// else. Every other variable stays in the process. (Environment, above, is the event's
	// deployment environment.)
	EnvKeys []string

	// MaxValueBytes caps one attribute value; a longer one is cut and
	// marked "…[truncated N bytes]". Default 64 KiB; negative: no limit.
	MaxValueBytes int
	// QueueSize bounds the events waiting for mail, tracker and sinks.
	// Past it, events are dropped, counted and reported. Default 1024.
	// Its room is allocated at New, so that logging need not allocate:
	// with a tracker, about 1 KB a slot (1.3 MB at 1024, 101 MB at
	// 100,000).
	QueueSize int
	// SpoolDir keeps undelivered mail and tracker events on disk across
	// restarts. Default: no spool (memory only). A directory that cannot
	// be used is reported through OnDeliveryError, and mail and the
	// tracker go on in memory.
	SpoolDir string
	// CrashReports reports crashes: an unrecovered panic or a fatal
	// runtime error ("concurrent map writes") ends the process before any
	// handler sees it, so (Go 1.23 and later, with SpoolDir and a sink
	// set) the runtime's text of a crash goes to a file under SpoolDir
	// through runtime/debug.SetCrashOutput, and the next NewHandler with
	// CrashReports and that SpoolDir reports it as a fatal event. The
	// runtime has one crash output per process: the Handler built last
	// has it, and its Close (or its collection, when it is dropped
	// without Close) gives it back to the one before, or to none. Default
	// false: the runtime's crash output is left alone; FromEnv turns it
	// on.
	CrashReports bool
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
	// answering 500 (or, once the response has begun, aborting it).
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

// Options' defaults that have a name of their own; those that other
// packages read too are in internal/settings (ErrorLevel, IdleTimeout,
// FlushTimeout) and the sinks' packages (logfile.DefaultFormat). Each is
// written once, a test checks.
const (
	// DefaultMaxValueBytes is Options.MaxValueBytes's default.
	DefaultMaxValueBytes = 64 << 10
	// defaultMaxBodyBytes is Options.MaxBodyBytes's default.
	defaultMaxBodyBytes = 64 << 10
)

// defaultTrackedStatus is Options.TrackedStatus's default, a new slice
// each time: callers may keep it.
func defaultTrackedStatus() []StatusRange { return []StatusRange{{500, 599}} }

// resolved is Options resolved, once, by resolveOptions: the one value every
// part of a Handler is built from. No constructor it is given to sets a
// default again.
type resolved struct {
	// Options has every field that has a default set to it.
	Options
	// shared is what every sink shares: the reporter, the clock, the
	// queue size, the spool, the event tags.
	shared settings.Shared
	// format is Format and DateFormat compiled, for the file and mail.
	format *logfile.Formatter
	// file is Options.File with the values it shares with Options filled
	// in; nil without a file.
	file *logfile.Options
	// errs are what resolving found wrong, to report once there is a
	// reporter; the defaults stand in for what was wrong.
	errs []error
}

// resolveOptions returns o's settings: Options' defaults (withDefaults), the
// sinks' shared settings (settings.Shared.Resolve) and the file's, each
// set here once. It never writes the caller's Options.
func resolveOptions(o Options) resolved {
	r := resolved{Options: o.withDefaults()}
	o = r.Options
	r.shared = settings.Shared{
		OnError:     guardedOnError(typedReports(o.OnDeliveryError)),
		Clock:       o.clock,
		QueueSize:   o.QueueSize,
		SpoolDir:    o.SpoolDir,
		Debug:       o.Debug,
		Environment: o.Environment,
		Release:     o.Release,
		ServerName:  o.ServerName,
	}.Resolve()
	r.QueueSize = r.shared.QueueSize
	var err error
	format := o.Format // what the file inherits: "" (the default) when it is bad
	if r.format, err = logfile.NewFormatter(o.Format, o.DateFormat); err != nil {
		r.errs = append(r.errs, err)
		r.format, _ = logfile.NewFormatter("", "")
		format = ""
	}
	if o.File != nil {
		// The file's fields left zero take Options' values.
		fo := *o.File
		if fo.ErrorLevel == nil {
			fo.ErrorLevel = o.ErrorLevel
		}
		switch {
		case fo.Format == "" && fo.DateFormat == "":
			fo.Formatter = r.format // the same lines as mail, compiled once
		case fo.Format == "":
			fo.Format = format
		case fo.DateFormat == "":
			fo.DateFormat = o.DateFormat
		}
		if fo.Now == nil {
			fo.Now = o.Now
		}
		if fo.ReplaceAttr == nil {
			fo.ReplaceAttr = o.ReplaceAttr
		}
		r.file = &fo
	}
	return r
}

// withDefaults returns o with every zero field that has a default set to
// it, the clock resolved from Now, and a default OnDeliveryError. It is a
// copy: the caller's Options are never written. Every default of Options
// that is Options' alone is applied here and nowhere else; resolveOptions adds
// the sinks'.
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
		o.ErrorLevel = settings.ErrorLevel
	}
	if o.Console == nil {
		o.Console = os.Stderr
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
	if o.Breadcrumbs == 0 {
		o.Breadcrumbs = DefaultBreadcrumbs
	}
	if o.BreadcrumbLevel == nil {
		o.BreadcrumbLevel = o.Level
	}
	if o.ServerName == "" {
		o.ServerName, _ = os.Hostname()
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

// A Tracker of its own is an EventSink too (Options.Sinks).
var _ EventSink = (*tracker.Tracker)(nil)

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

// open holds the core of every Handler that is neither closed nor
// collected, for the package-level Flush and SendEvent. An entry never
// outlives its handler: Close removes it, and so does the finalizer that
// runs when the application has dropped every Handler derived from one
// NewHandler call without closing them (see lifetime).
var open struct {
	sync.Mutex
	cores map[*core]struct{}
}

func register(c *core) {
	open.Lock()
	if open.cores == nil {
		open.cores = map[*core]struct{}{}
	}
	open.cores[c] = struct{}{}
	open.Unlock()
}

func unregister(c *core) {
	open.Lock()
	delete(open.cores, c)
	open.Unlock()
}

// openCores returns the cores of the open Handlers.
func openCores() []*core {
	open.Lock()
	defer open.Unlock()
	cs := make([]*core, 0, len(open.cores))
	for c := range open.cores {
		cs = append(cs, c)
	}
	return cs
}

// New returns a logger that writes through a new Handler, for
// slog.SetDefault.
func New(opts Options) *slog.Logger {
	return slog.New(NewHandler(opts))
}

// Flush delivers everything queued by every Handler that New or
// NewHandler built and that is not closed (nor dropped and collected), or
// returns ctx's error.
//
// The handlers flush at once, under one deadline: ctx's, or
// DefaultFlushTimeout when it has none.
func Flush(ctx context.Context) error {
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	cs := openCores()
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func(i int, c *core) {
			defer wg.Done()
			errs[i] = c.flush(ctx)
		}(i, c)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SendEvent sends a prepared event to the tracker of every open Handler
// (Options.Tracker of those New and NewHandler built and that are not
// closed), as Flask-Exceptional's publish() does, and returns its event
// id, or "" if no tracker queued it. Missing fields are filled in as
// Tracker.Send does; ev is not modified. It does not go to mail, the log
// file or other sinks. A Tracker built on its own (tracker.New) is not
// reached: call its Send.
func SendEvent(ev *event.Event) string {
	if ev == nil {
		return ""
	}
	var list []*tracker.Tracker
	for _, c := range openCores() {
		for _, s := range c.sinks {
			if t, ok := s.(*tracker.Tracker); ok {
				list = append(list, t)
			}
		}
	}
	if len(list) == 0 {
		return ""
	}
	if ev.EventID == "" {
		// One id for every tracker, so that the copies are one event.
		c := *ev
		c.EventID = event.NewID()
		ev = &c
	}
	id := ""
	for _, t := range list {
		if t.Send(ev) != "" {
			id = ev.EventID
		}
	}
	return id
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
	f = recoveredHook(f)
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

// recoveredHook calls f, and says on stderr, rather than crashing the
// program from errlog's goroutine, that f panicked: OnDeliveryError is
// the application's code, called from every sink's goroutine.
func recoveredHook(f func(error)) func(error) {
	return func(err error) {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "errlog: Options.OnDeliveryError panicked: %s (reporting: %s)\n", values.Text(p), values.Text(err))
			}
		}()
		f(err)
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
