// Package errlog is error logging and error tracking for Go programs, built
// on [log/slog]: a coloured console, a rotating log file in Python logging's
// format templates, error mail, and a client for errlogd or any
// Sentry-compatible tracker, behind one [slog.Handler].
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
// console, and at or above FileOptions.Level (WARN by default) to the log
// file, both written on the caller's goroutine. A record
// at or above Options.ErrorLevel (ERROR by default) also becomes one
// [event.Event] in the Sentry schema: the caller captures the stack, the
// HTTP request that [Middleware] put in the context and the [Scope]'s
// extras, and hands the record over; errlog's own goroutine builds the
// event (exception chain, environment, Go modules), masks it, and gives it
// to error mail ([MailOptions]), the tracker ([TrackerOptions]) and every
// [EventSink]. Masking ([MaskOptions]) runs once, before any sink sees a
// record, so the console and the file show the same masked values as the
// mail.
//
// Mail and the tracker send from bounded queues with retries and an
// optional disk spool, so that a dead mail server or tracker never blocks
// the application. [Flush] and [Handler.Close] deliver what is queued,
// bounded by their context or [DefaultFlushTimeout]. Every loss is counted
// ([Handler.Dropped]) and reported through Options.OnDeliveryError as a
// [*DeliveryError] naming the sink.
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
// Each sink also works alone: [NewFileHandler] is a rotating file
// [slog.Handler], [NewFormatter] compiles a Python logging template,
// [NewMailHandler] sends error mail, [NewTracker] sends events to a
// Sentry-protocol tracker, and [Test] sends one test event to check a DSN.
// [Notifier], [Ticketer] and [ContextBuilder] are the hooks an application
// implements.
//
// # Examples
//
// Each entry point has a compiled example with checked output: [New],
// [NewHandler], [FromEnv], [Flush], [Middleware], [MiddlewareWith],
// [HandlerWrapper], [WithScope],
// [Scope.SetUser], [CaptureError], [Recover], [Go], [ParseLevel],
// [NewFormatter], [NewFileHandler], [MailOptions], [NewWebhookNotifier],
// [TrackerOptions], [Tracker.Send] and [Test], each shown under its name
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
