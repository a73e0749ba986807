// Package record is what errlog's handler chain knows of a record beyond
// slog.Record, computed once and shared by the text sinks (the console
// and the log file): the request it was logged in, and its stack.
package record

import (
	"context"

	"github.com/errlog/errlog/event"
)

// Request is the request a record was logged in, as the text sinks show
// it (%(url)s, %(method)s, %(remote_addr)s).
type Request struct {
	// Method, URL (absolute: scheme and host included, secret query
	// parameters masked) and RemoteAddr are set before the application's
	// handler runs and never change.
	Method, URL, RemoteAddr string
}

// RequestLine returns r: a Request is a Requester, and so is a struct
// that embeds one.
func (r *Request) RequestLine() *Request { return r }

// A Requester is what errlog.Middleware puts in a request's context: the
// request as the event builder keeps it, which embeds a Request.
type Requester interface {
	RequestLine() *Request
}

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r Requester) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the Requester in ctx, or nil.
func RequestFrom(ctx context.Context) Requester {
	if ctx == nil {
		return nil
	}
	r, _ := ctx.Value(requestKey{}).(Requester)
	return r
}

// LineFrom returns the Request in ctx, or nil.
func LineFrom(ctx context.Context) *Request {
	if r := RequestFrom(ctx); r != nil {
		return r.RequestLine()
	}
	return nil
}

// Extras is what the handler chain knows of a record beyond slog.Record.
type Extras struct {
	// Req is the request the record was logged in, nil outside one.
	Req *Request
	// Stack is the stack trace, caller to callee; nil below ErrorLevel.
	Stack []event.Frame
	// Ctx and Fields fill the template fields that errlog's Hooks
	// provide (%(trace_id)s); Fields is nil when there are none.
	Ctx    context.Context
	Fields []FieldSource
}

// A FieldSource provides template fields from a record's context: an
// errlog.Hook.
type FieldSource interface {
	Field(ctx context.Context, name string) (value string, ok bool)
}

// Field asks the sources for the template field name of a record logged
// with ctx. A source that panics gives "!PANIC".
func Field(ctx context.Context, sources []FieldSource, name string) (v string, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = "!PANIC", true
		}
	}()
	for _, s := range sources {
		if v, ok := s.Field(ctx, name); ok {
			return v, true
		}
	}
	return "", false
}
