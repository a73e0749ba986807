package store

import (
	"net/url"
	"strings"

	"github.com/errlog/errlog/event"
)

// Traces: events from errlog's OpenTelemetry hook, sentry-go and the JS
// SDKs carry contexts.trace; errlogd keeps its trace_id on the event's
// row (Incoming.TraceID, EventRow.TraceID, GroupQuery.TraceID).

// TraceID returns ev's trace ID (contexts.trace.trace_id), lower case,
// or "" when ev has none that is 32 hex digits, not all zero.
func TraceID(ev *event.Event) string {
	s, _ := ev.Contexts["trace"]["trace_id"].(string)
	return NormalizeTraceID(s)
}

// NormalizeTraceID returns s as a stored trace ID (32 lowercase hex
// digits, dashes removed as a UUID-style ID has them), or "" when it is
// not one.
func NormalizeTraceID(s string) string {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if !isEventID(s) || s == strings.Repeat("0", 32) {
		return ""
	}
	return s
}

// TraceLink returns the address of a trace in a tracing UI: tmpl (errlogd's
// ERRLOGD_TRACE_URL) with "{trace_id}" and "{span_id}" replaced; "" when
// tmpl is "" or traceID is not a trace ID.
func TraceLink(tmpl, traceID, spanID string) string {
	traceID = NormalizeTraceID(traceID)
	if tmpl == "" || traceID == "" {
		return ""
	}
	return strings.NewReplacer("{trace_id}", url.QueryEscape(traceID), "{span_id}", url.QueryEscape(spanID)).Replace(tmpl)
}
