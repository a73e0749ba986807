// Package errlog is error logging and error tracking for Go programs, built
// on [log/slog]: a coloured console, a rotating log file in Python logging's
// format templates, error mail, and a client for errlogd or any
// Sentry-compatible tracker, behind one [slog.Handler]. This package is
// the part an application imports; each sink is a package of its own
// (see Layout).
//
// # Setup
//
// One line wires it in, configured from ERRLOG_* environment variables
// (see [FromEnv]; with none set, only the console is on):
//
//	slog.SetDefault(errlog.New(errlog.FromEnv()))
//	defer errlog.Flush(context.Background())
//	http.ListenAndServe(":8080", errlog.Middleware(mux))
//
// From then on the application logs with slog as before. Configure in code
// with [Options], whose zero value is all defaults; [NewHandler] returns
// the same chain as a [*Handler] to compose with other handlers.
//
// # Data flow
//
// A record at or above Options.Level (INFO by default) goes to the
// console, and at or above the file's level (WARN by default) to the log
// file, both written on the caller's goroutine. A record
// at or above Options.ErrorLevel (ERROR by default) also becomes one
// [event.Event] in the Sentry schema: the caller captures the stack, the
// HTTP request that [Middleware] put in the context and the [Scope]'s
// extras, and hands the record over; errlog's own goroutine builds the
// event (exception chain, environment, Go modules), masks it, and gives it
// to error mail ([MailOptions]), the tracker (Options.Tracker) and every
// [EventSink]. Masking ([MaskOptions]) runs once, before any sink sees a
// record, so that the console and the file show the same masked values as
// the mail.
//
// Mail and the tracker send from bounded queues with retries and an
// optional disk spool, so that a dead mail server or tracker never blocks
// the application. [Flush] and [Handler.Close] deliver what is queued,
// bounded by their context or [DefaultFlushTimeout]. Every loss is counted
// ([Handler.Dropped]) and reported through Options.OnDeliveryError as a
// [*DeliveryError] naming the sink.
//
// Settings are resolved once: NewHandler turns Options into one value
// (every default set, the format compiled, the settings the sinks share)
// and builds every part from it; no sink defaults a setting again. A
// Handler that is dropped without Close is closed when it is collected,
// and nothing global keeps it: the package-level [Flush] and [SendEvent]
// reach the Handlers that are open. Crash reports (Options.CrashReports)
// are the only setting that reaches outside the Handler, because the
// runtime's crash output is one per process; Close gives it back.
//
// # Layout
//
// The folders follow the data flow:
//
//	errlog (this folder)  the Handler: console, masking, the event builder,
//	                      Middleware, Scope, Capture*, Recover, FromEnv;
//	                      error mail and notifiers (MailOptions, Notifier)
//	logfile/              the log file and the Python template language
//	                      (logfile.Options, logfile.New, logfile.Formatter)
//	tracker/              the Sentry-protocol client (tracker.Options,
//	                      tracker.New, tracker.Test)
//	event/                the event in the Sentry schema, and grouping
//	wire/                 the Sentry wire format: DSN, envelopes, auth and
//	                      rate-limit headers, shared with errlogd
//	internal/             plumbing the packages share: delivery (queues,
//	                      retries, the spool), rotate (file rotation),
//	                      settings (the shared settings and defaults),
//	                      stack, values, levels, record, trim, pyfmt,
//	                      strftime, clock, flock, version
//	cmd/errlog-test       sends a test event to a DSN
//	errlogd/              the server, a module of its own
//	examples/, bench/     a program that fails every way errlog reports,
//	                      and the benchmarks, modules of their own
//
// A sink's package depends on internal/, event/ and wire/ only, never on this
// package; this package depends on each sink's.
//
// # Requests, scopes and panics
//
// [Middleware] records each request, recovers its panics and reports the
// statuses listed in Options.TrackedStatus (500-599 by default);
// slog.ErrorContext(r.Context(), …) inside it carries the request. It finds
// errlog's settings behind a wrapper that is a [HandlerWrapper]; when
// errlog's Handler is composed with others (slog.NewMultiHandler), name
// it with [MiddlewareWith]. [WithScope]
// gives a piece of work its own [Scope] for [Scope.SetExtra],
// [Scope.SetTag], [Scope.SetUser] and [Scope.SetFingerprint].
// [CaptureError] and [CaptureMessage] report without a log message;
// [Recover], [RecoverSilently] and [Go] report a goroutine's panic as a
// [PanicError].
//
// # The parts on their own
//
// Each sink also works alone: [logfile.New] is a rotating file
// [slog.Handler], [logfile.NewFormatter] compiles a Python logging
// template (described in the logfile package), [NewMailHandler] sends
// error mail, [tracker.New] sends events to a Sentry-protocol tracker,
// and [tracker.Test] sends one test event to check a DSN. [Notifier],
// [Ticketer] and [ContextBuilder] are the hooks an application
// implements; a [Hook] adds what a record's context knows (the
// OpenTelemetry trace, with the module github.com/errlog/errlog/otel) to
// events and to the log file's template fields.
//
// # Examples
//
// Each entry point has a compiled example with checked output: [New],
// [NewHandler], [FromEnv], [Flush], [Middleware], [MiddlewareWith],
// [HandlerWrapper], [WithScope],
// [Scope.SetUser], [CaptureError], [Recover], [Go], [ParseLevel],
// [NewFormatter], [logfile.New], [MailOptions], [NewWebhookNotifier],
// [tracker.Options], [Tracker.Send] and [Test], each shown under its name
// and all listed in the package's [index of examples]. The program in
// examples/quickstart fails in every way errlog reports, and shows what
// each sink receives.
//
// # Versions
//
// [Version] is the release, also sent as the SDK version of every event
// and as the X-Mailer of every mail. Before v1 the API may change between
// minor versions, and every change is named in CHANGELOG.md. The module
// needs Go 1.21 or later.
//
// [index of examples]: https://pkg.go.dev/github.com/errlog/errlog#pkg-examples
package errlog
