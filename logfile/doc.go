// Package logfile is errlog's log file: a rotating file [slog.Handler]
// whose lines are Python logging templates ("%"-style), so that the
// format string of a Python project's log file works unchanged, and the
// template language itself ([Formatter]), which error mail uses too.
//
// errlog.Options.File adds the file to errlog's Handler, which masks and
// bounds every record before the file sees it and passes the stack and
// the request it captured once for all its sinks; [New] builds a file
// handler on its own, and [NewFormatter] compiles a template.
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
package logfile
