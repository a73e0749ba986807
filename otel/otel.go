// Package errlogotel joins errlog's events and OpenTelemetry's traces: an
// event logged inside a span carries the trace (Sentry's contexts.trace),
// the log file's template can print %(trace_id)s and %(span_id)s, and the
// span records the error as OpenTelemetry's semantic conventions for
// exceptions have it (an "exception" event, status Error), with the
// errlog event's ID.
//
// It is a module of its own (github.com/errlog/errlog/otel), so that the
// users of errlog who do not trace never download OpenTelemetry. Three
// lines wire it in:
//
//	opts := errlog.FromEnv()
//	opts.Hooks = append(opts.Hooks, errlogotel.New(errlogotel.Options{}))
//	slog.SetDefault(errlog.New(opts))
//
// and the request's span must be in the context errlog sees, so the
// tracing middleware goes outside errlog's:
//
//	http.ListenAndServe(addr, otelhttp.NewHandler(errlog.Middleware(mux), "server"))
//
// Records are then logged with the request's context
// (slog.ErrorContext(r.Context(), …)); a record logged without a context
// has no span and no trace.
package errlogotel

import (
	"context"

	"github.com/errlog/errlog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Options configure New. The zero value is all defaults.
type Options struct {
	// NoSpanErrors leaves spans alone: records at or above ErrorLevel
	// record no exception event on their span and do not set its
	// status. Default false: a recording span gets the exception event
	// and status Error.
	NoSpanErrors bool
}

// Attribute keys of the exception event, OpenTelemetry's semantic
// conventions for exceptions, and errlog's own.
const (
	KeyExceptionType       = "exception.type"
	KeyExceptionMessage    = "exception.message"
	KeyExceptionStacktrace = "exception.stacktrace"
	// KeyEventID is the errlog event's ID (its Sentry event_id), to find
	// it in errlogd or any Sentry-compatible tracker from the trace.
	KeyEventID = "errlog.event_id"
)

// Template fields the hook provides to the log file's Format: the hex
// IDs of the record's trace and span, "" outside a span.
const (
	FieldTraceID = "trace_id"
	FieldSpanID  = "span_id"
)

// Hook is errlog's OpenTelemetry hook: put it in errlog.Options.Hooks.
type Hook struct {
	spanErrors bool
}

var _ errlog.Hook = (*Hook)(nil)

// New returns the hook Options describe.
func New(opts Options) *Hook {
	return &Hook{spanErrors: !opts.NoSpanErrors}
}

// Field returns the record's trace_id or span_id, "" when ctx holds no
// valid span; ok is false for any other name.
func (h *Hook) Field(ctx context.Context, name string) (string, bool) {
	switch name {
	case FieldTraceID:
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			return sc.TraceID().String(), true
		}
		return "", true
	case FieldSpanID:
		if sc := trace.SpanContextFromContext(ctx); sc.HasSpanID() {
			return sc.SpanID().String(), true
		}
		return "", true
	}
	return "", false
}

// parented is what OpenTelemetry's SDK spans (sdk/trace.ReadOnlySpan)
// tell of their parent; the API's Span does not.
type parented interface{ Parent() trace.SpanContext }

// Event adds contexts.trace to the event of a record logged inside a
// valid span and, unless Options.NoSpanErrors, records the error on the
// span when it is recording.
func (h *Hook) Event(ctx context.Context, e errlog.HookEvent) map[string]map[string]any {
	if ctx == nil {
		return nil
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	span := trace.SpanFromContext(ctx)
	tc := map[string]any{
		"trace_id": sc.TraceID().String(),
		"span_id":  sc.SpanID().String(),
		"sampled":  sc.IsSampled(),
	}
	if p, ok := span.(parented); ok {
		if ps := p.Parent(); ps.HasSpanID() {
			tc["parent_span_id"] = ps.SpanID().String()
		}
	}
	if h.spanErrors && span.IsRecording() {
		recordException(span, &e)
	}
	return map[string]map[string]any{"trace": tc}
}

// recordException adds the exception event to span and sets its status,
// as span.RecordError does, but with errlog's type, text and stack: the
// error's own stack when it carries one, not the logging call's.
func recordException(span trace.Span, e *errlog.HookEvent) {
	typ, msg := e.Exception()
	attrs := make([]attribute.KeyValue, 0, 4)
	if typ != "" {
		attrs = append(attrs, attribute.String(KeyExceptionType, typ))
	}
	attrs = append(attrs, attribute.String(KeyExceptionMessage, msg))
	if st := e.Stacktrace(); st != "" {
		attrs = append(attrs, attribute.String(KeyExceptionStacktrace, st))
	}
	if e.ID != "" {
		attrs = append(attrs, attribute.String(KeyEventID, e.ID))
	}
	opts := []trace.EventOption{trace.WithAttributes(attrs...)}
	if !e.Record.Time.IsZero() {
		opts = append(opts, trace.WithTimestamp(e.Record.Time))
	}
	span.AddEvent("exception", opts...)
	span.SetStatus(codes.Error, msg)
}
