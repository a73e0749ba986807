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
// console, and at or above logfile.Options.Level (WARN by default) to the log
// file, both written on the caller's goroutine. A record
// at or above Options.ErrorLevel (ERROR by default) also becomes one
// [event.Event] in the Sentry schema: the caller captures the stack, the
// HTTP request that [Middleware] put in the context and the [Scope]'s
// extras, and hands the record over; errlog's own goroutine builds the
// event (exception chain, environment, Go modules), masks it, and gives it
// to error mail ([MailOptions]), the tracker ([tracker.Options]) and every
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
// Each sink also works alone: [logfile.New] is a rotating file
// [slog.Handler], [NewFormatter] compiles a Python logging template,
// [NewMailHandler] sends error mail, [NewTracker] sends events to a
// Sentry-protocol tracker, and [Test] sends one test event to check a DSN.
// [Notifier], [Ticketer] and [ContextBuilder] are the hooks an application
// implements.
//
// # Format templates
//
// [NewFormatter] and the log file's [logfile.Options].Format take Python's
// logging.Formatter templates ("%"-style), so that the format string of a
// Python project's log file works unchanged. A template is compiled once;
// formatting then allocates nothing, and never fails on a record.
//
// A field is %(key)s with, as in Python, optional flags (# 0 - + space),
// width and precision: %(levelname)-8s, %(lineno)05d, %(message).200s.
// %% is a literal %. The conversions are Python's: s, r and a; d, i and u;
// x, X and o; e, E, f, F, g and G; c.
//
//	asctime          the record's time in local time: dateFormat, or
//	                 Python's default "2003-07-08 16:49:45,896"
//	created          seconds since the Unix epoch, a float
//	msecs            the millisecond part of created, a float
//	relativeCreated  milliseconds since the program started, a float
//	levelname        DEBUG, INFO, WARNING, ERROR, CRITICAL (slog's ERROR+4
//	                 and above), or "Level N" for the levels in between, as
//	                 Python names a level it does not know
//	levelno          Python's number, 20 + 2.5 × the slog level rounded
//	                 down: DEBUG 10, INFO 20, WARN 30, ERROR 40, ERROR+4 50
//	pathname         the full path of the source file of the logging call
//	filename         its base name
//	module           its base name without ".go"
//	funcName         the function's bare name: "loginHandler", not
//	                 "main.loginHandler"; "M" for a method (*T).M; a
//	                 closure keeps the name of the function it is in,
//	                 "loginHandler.func1", since "func1" alone says nothing
//	lineno           the line of the logging call
//	message, msg     the record's message
//	name             the value of a "logger" attribute, else "root", as
//	                 Python calls its root logger
//	process          the process id
//	processName      the program's name (Python says "MainProcess")
//	thread,          "-": Go has no cheap goroutine id and a goroutine no
//	threadName       name, so these print as a field Python did not collect
//	url, method,     the request the record was logged in (Middleware);
//	remote_addr      outside a request, an attribute of that key
//
// Any other key names a record attribute, attributes in groups by their
// dotted path: %(user_id)s, %(req.id)d. An attribute a template names is
// not repeated at the end of the line; the others follow the formatted
// line as " key=value", quoted where slog's TextHandler would quote them.
//
// # Format templates: where errlog differs from Python
//
// Python raises an error for a record that does not fit the template;
// errlog never fails on a record, because logging must not take an
// application down:
//
//   - A missing field (an attribute the record does not have, asctime of a
//     record with no time) prints "-", as in access logs.
//   - A conversion that does not suit the value (%(message)d, %(x)x of a
//     float) formats the value as %s would, with the width.
//   - A source location that is unknown prints as Python prints it:
//     "(unknown file)", line 0, "(unknown function)".
//
// Attribute values are Go values and print as Go prints them: true rather
// than True. %r is Python's repr for strings, quoted and escaped as
// Python quotes them ('a\tb', "it's"), and the same as %s for other
// values; %a is ascii(), repr with non-ASCII characters escaped.
//
// A record's text ends in exactly one newline, which Python leaves to the
// handler: newlines at the end of a message are dropped, so that a
// message ending in one leaves no blank line in the file.
//
// The date format (NewFormatter's dateFormat, [logfile.Options].DateFormat)
// takes the C library's strftime directives, as Python's
// time.strftime does, in the C locale: %Y %m %d %H %M %S %y %b %B %a %A
// %p %I %j %z %Z %e %T %F %D %c %x %X %s %u %w %U %W %G %V %g %C %k %l %R
// %r %P %h %n %t %%. An unknown directive is printed as it is, as glibc
// does. One addition: %f is the microseconds (Python's time.strftime,
// which logging uses, prints "%f" literally; datetime.strftime has it).
// As in Python, the ",msecs" suffix is only added to the default format.
//
// # Format templates: stack traces
//
// The file sink passes the stack of records at or above its ErrorLevel;
// Formatter appends it after the line, as Python appends the traceback,
// under the header "Stack (most recent call first):" (Python's
// stack_info header says "last": Go prints the innermost call first).
// Format, which has no stack, appends none.
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
