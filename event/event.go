// Package event is errlog's event model: one error occurrence as the Sentry
// protocol describes it (https://develop.sentry.dev/sdk/event-payloads/).
//
// The client builds these, the tracker sink sends them, errlogd decodes and
// stores them, and the mail and dashboard templates render them, so every
// part of errlog speaks one shape. Encoding follows the Sentry event schema,
// and UnmarshalJSON reads back exactly that. The lenient decoding of what
// other SDKs send (a flat exception list, numeric timestamps, cookies as
// one header string, headers as a list of pairs) is the server's, in
// wire/decode, so that programs using errlog do not
// compile it.
package event

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Level is a Sentry severity level.
type Level string

// The Sentry levels.
const (
	LevelDebug   Level = "debug"
	LevelInfo    Level = "info"
	LevelWarning Level = "warning"
	LevelError   Level = "error"
	LevelFatal   Level = "fatal"
)

// Event is one error or message, in the Sentry event schema. The JSON
// names are the schema's; the comments say what errlog puts there.
type Event struct {
	// EventID is 32 lower-case hex digits (NewID), unique per event.
	EventID string `json:"event_id"`
	// Timestamp is when the record was logged, sent in UTC.
	Timestamp time.Time `json:"timestamp"`
	// Level is the severity; errlog maps slog levels onto it.
	Level Level `json:"level,omitempty"`
	// Logger names the source of the event: "slog" for a logged record.
	Logger string `json:"logger,omitempty"`
	// Platform is the language of the sender, "go" for errlog.
	Platform string `json:"platform,omitempty"`
	// Logentry is the log message, when the event has one.
	Logentry *Logentry `json:"logentry,omitempty"`
	// Transaction names what was being done: the HTTP route
	// ("GET /users/{id}") for an event inside a request.
	Transaction string `json:"transaction,omitempty"`
	// Exception is the error chain, innermost cause first.
	Exception []Exception `json:"exception,omitempty"`
	// Stacktrace is where a message without an error was logged.
	Stacktrace *Stacktrace `json:"stacktrace,omitempty"`
	// Request is the HTTP request the event happened in, masked.
	Request *Request `json:"request,omitempty"`
	// Contexts are structured facts about the event, by name: errlog
	// sends "os", "runtime", "app" (the configuration), "environment"
	// (allow-listed variables) and "request context" (a ContextBuilder's).
	Contexts map[string]map[string]any `json:"contexts,omitempty"`
	// Tags are short indexed strings to search and group by.
	Tags map[string]string `json:"tags,omitempty"`
	// Extra holds everything else: the record's attributes and the scope's
	// extras, masked.
	Extra map[string]any `json:"extra,omitempty"`
	// User is who was affected, when known.
	User *User `json:"user,omitempty"`
	// Environment is the deployment ("production", "staging").
	Environment string `json:"environment,omitempty"`
	// Release is the version of the application that sent the event.
	Release string `json:"release,omitempty"`
	// ServerName is the host the event happened on.
	ServerName string `json:"server_name,omitempty"`
	// Modules maps each Go module of the program to its version.
	Modules map[string]string `json:"modules,omitempty"`
	// Fingerprint, when set, overrides grouping: events with equal
	// fingerprints are one group.
	Fingerprint []string `json:"fingerprint,omitempty"`
	// SDK names the client that sent the event.
	SDK *SDK `json:"sdk,omitempty"`
	// Breadcrumbs are the records logged before the event in its scope
	// (or process), oldest first; sent as {"values": […]}.
	Breadcrumbs []Breadcrumb `json:"-"`
	// ClientCulprit is where the event happened as its sender named it
	// (Sentry's deprecated "culprit": other SDKs send it, errlog does
	// not); Culprit prefers it.
	ClientCulprit string `json:"culprit,omitempty"`
	// Errors are the problems a server met reading the event: fields it
	// dropped or changed (Sentry's processing errors). errlog sends none.
	Errors []ProcessingError `json:"errors,omitempty"`
}

// ProcessingError is one problem met reading an event, as Sentry's
// event.errors: Type "invalid_data" for a value of the wrong type, dropped;
// "clock_drift", "past_timestamp" and "future_timestamp" for a corrected
// timestamp.
type ProcessingError struct {
	// Type is the kind of problem: "invalid_data", "clock_drift", ….
	Type string `json:"type"`
	// Name is the field's path ("user.id", "exception.values.0.type").
	Name string `json:"name,omitempty"`
	// Value is the value as sent (JSON text, cut to 200 bytes).
	Value string `json:"value,omitempty"`
	// Reason says what was wrong ("a list, want a string"), for display:
	// the schema's processing error has no such field, so it is not
	// encoded.
	Reason string `json:"-"`
}

// Logentry is the log message of an event.
type Logentry struct {
	// Message is the message as logged (the format, when Params are set).
	Message string `json:"message,omitempty"`
	// Formatted is the message with its parameters filled in.
	Formatted string `json:"formatted,omitempty"`
	// Params are the parameters of Message, when it is a format.
	Params []any `json:"params,omitempty"`
}

// Exception is one error of a chain. In Event.Exception the chain is
// ordered oldest (the innermost cause) first, as Sentry expects.
type Exception struct {
	// Type is the error's Go type, "*fs.PathError".
	Type string `json:"type,omitempty"`
	// Value is the error's text.
	Value string `json:"value,omitempty"`
	// Module is the package path of Type.
	Module string `json:"module,omitempty"`
	// Stacktrace is where the error was made or logged.
	Stacktrace *Stacktrace `json:"stacktrace,omitempty"`
	// Mechanism says how the error was caught.
	Mechanism *Mechanism `json:"mechanism,omitempty"`
}

// Mechanism says how an exception was caught.
type Mechanism struct {
	// Type is the catcher: "slog" for a logged error, "panic" for a
	// recovered panic.
	Type string `json:"type"`
	// Description is free text about the mechanism.
	Description string `json:"description,omitempty"`
	// Handled is false for a recovered panic, true for a logged error;
	// nil when unknown.
	Handled *bool `json:"handled,omitempty"`
	// Data holds mechanism-specific facts.
	Data map[string]any `json:"data,omitempty"`
	// Source says how the parent exception holds this one ("Unwrap()[1]").
	Source string `json:"source,omitempty"`
	// ExceptionID, ParentID and IsExceptionGroup make an exception list a
	// tree (errors.Join), as Sentry's exception groups have it: IDs count
	// from 0 for the last exception of the list.
	ExceptionID      *int `json:"exception_id,omitempty"`
	ParentID         *int `json:"parent_id,omitempty"`
	IsExceptionGroup bool `json:"is_exception_group,omitempty"`
}

// Stacktrace holds frames ordered caller to callee: the frame that raised
// the error is last.
type Stacktrace struct {
	// Frames are the stack's frames, outermost caller first.
	Frames []Frame `json:"frames"`
}

// Frame is one stack frame.
type Frame struct {
	// Function is the function's name without its package.
	Function string `json:"function,omitempty"`
	// Module is the function's package path.
	Module string `json:"module,omitempty"`
	// Filename is the file, shortened (module@version/file for a
	// dependency).
	Filename string `json:"filename,omitempty"`
	// AbsPath is the file's full path where the program was built.
	AbsPath string `json:"abs_path,omitempty"`
	// Lineno is the line in the file, from 1.
	Lineno int `json:"lineno,omitempty"`
	// Colno is the column in the line, from 1, when the platform knows
	// it (JavaScript); errlog leaves it 0.
	Colno int `json:"colno,omitempty"`
	// InApp is true for the application's own code, false for the
	// standard library, dependencies and errlog itself.
	InApp bool `json:"in_app"`
	// ContextLine is the source line at Lineno; PreContext and
	// PostContext the lines before and after it (Sentry's frame fields).
	ContextLine string   `json:"context_line,omitempty"`
	PreContext  []string `json:"pre_context,omitempty"`
	PostContext []string `json:"post_context,omitempty"`
}

// Request is the HTTP request an event happened in.
type Request struct {
	// URL is the request's absolute URL without its query string.
	URL string `json:"url,omitempty"`
	// Method is the HTTP method.
	Method string `json:"method,omitempty"`
	// QueryString is the URL's query, masked.
	QueryString string `json:"query_string,omitempty"`
	// Data is the body: form or JSON fields as a map, else text; masked
	// and cut at the body limit.
	Data any `json:"data,omitempty"`
	// Headers are the request headers, masked.
	Headers map[string]string `json:"headers,omitempty"`
	// Cookies are the request cookies, masked.
	Cookies map[string]string `json:"cookies,omitempty"`
	// Env holds server facts such as REMOTE_ADDR and SERVER_PROTOCOL.
	Env map[string]string `json:"env,omitempty"`
}

// User identifies who was affected.
type User struct {
	// ID is the application's user id.
	ID string `json:"id,omitempty"`
	// Email is the user's e-mail address.
	Email string `json:"email,omitempty"`
	// Username is the user's login name.
	Username string `json:"username,omitempty"`
	// IPAddress is the address the user connected from.
	IPAddress string `json:"ip_address,omitempty"`
	// Data holds any other facts about the user.
	Data map[string]any `json:"data,omitempty"`
}

// SDK names the client that sent an event.
type SDK struct {
	// Name is the client's name, "errlog.go" for errlog.
	Name string `json:"name"`
	// Version is the client's version, errlog.Version for errlog.
	Version string `json:"version"`
}

// NewID returns a new event id: 32 lower-case hex digits of a random UUIDv4.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// Message returns the event's message: the log message, else the last
// exception's value.
func (e *Event) Message() string {
	if e.Logentry != nil {
		if e.Logentry.Formatted != "" {
			return e.Logentry.Formatted
		}
		if e.Logentry.Message != "" {
			return e.Logentry.Message
		}
	}
	if n := len(e.Exception); n > 0 {
		return e.Exception[n-1].Value
	}
	return ""
}

// Frames returns the frames of the outermost exception that has a stack
// trace, else the event's own stack trace, or nil.
func (e *Event) Frames() []Frame {
	for i := len(e.Exception) - 1; i >= 0; i-- {
		if st := e.Exception[i].Stacktrace; st != nil && len(st.Frames) > 0 {
			return st.Frames
		}
	}
	if e.Stacktrace != nil {
		return e.Stacktrace.Frames
	}
	return nil
}

// CulpritFrame returns the frame the event is blamed on: the innermost
// in-app frame of Frames, else the innermost frame; false when there is
// no stack trace. Mail subjects, the culprit and the formatter's source
// fields all name this frame.
func (e *Event) CulpritFrame() (Frame, bool) {
	frames := e.Frames()
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i].InApp {
			return frames[i], true
		}
	}
	if len(frames) > 0 {
		return frames[len(frames)-1], true
	}
	return Frame{}, false
}

// Culprit returns where the event happened: the culprit its sender named
// (ClientCulprit), else "function (file:line)" of CulpritFrame without
// the parts the frame lacks, or "" when there is no stack trace.
func (e *Event) Culprit() string {
	if c := strings.TrimSpace(e.ClientCulprit); c != "" {
		return c
	}
	if f, ok := e.CulpritFrame(); ok {
		return frameLocation(f)
	}
	return ""
}

func frameLocation(f Frame) string {
	name := f.Function
	if f.Module != "" && f.Function != "" {
		name = f.Module + "." + f.Function
	} else if name == "" {
		name = f.Module
	}
	file := f.Filename
	if file == "" {
		file = f.AbsPath
	}
	// A browser's file is a URL: its query and fragment are noise.
	if i := strings.IndexAny(file, "?#"); i >= 0 {
		file = file[:i]
	}
	if file != "" && f.Lineno > 0 {
		file += ":" + strconv.Itoa(f.Lineno)
	}
	switch {
	case name == "":
		return file
	case file == "":
		return name
	}
	return name + " (" + file + ")"
}

// timeLayout is RFC 3339 in UTC with microseconds, as Sentry's SDKs send it.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// wire is Event as it travels: the exception list wrapped in "values" and
// the timestamp in UTC.
type wire struct {
	*alias
	Timestamp string         `json:"timestamp"`
	Exception *exceptionList `json:"exception,omitempty"`
	// Breadcrumbs likewise, in "values".
	Breadcrumbs *breadcrumbList `json:"breadcrumbs,omitempty"`
}

type alias Event

type exceptionList struct {
	Values []Exception `json:"values"`
}

// MarshalJSON encodes e in the Sentry event schema.
func (e Event) MarshalJSON() ([]byte, error) {
	w := wire{alias: (*alias)(&e), Timestamp: e.Timestamp.UTC().Format(timeLayout)}
	if len(e.Exception) > 0 {
		w.Exception = &exceptionList{Values: e.Exception}
	}
	if len(e.Breadcrumbs) > 0 {
		w.Breadcrumbs = &breadcrumbList{Values: e.Breadcrumbs}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encodes: the exception and
// breadcrumb lists wrapped in "values", the timestamp in RFC 3339. What
// other SDKs send (flat lists, numeric timestamps, header pairs) is read
// by the server's lenient decoder, wire/decode.
func (e *Event) UnmarshalJSON(b []byte) error {
	*e = Event{}
	w := wire{alias: (*alias)(e)}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	if w.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Timestamp)
		if err != nil {
			return fmt.Errorf("event: timestamp %q is not RFC 3339", w.Timestamp)
		}
		e.Timestamp = t.UTC()
	}
	if w.Exception != nil {
		e.Exception = w.Exception.Values
	}
	if w.Breadcrumbs != nil {
		e.Breadcrumbs = w.Breadcrumbs.Values
	}
	return nil
}
