package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
)

// Traces: an event's contexts.trace (sent by errlog's OpenTelemetry hook,
// sentry-go and the JS SDKs) shown with links to the tracing UI
// (Options.TraceURL) and to the issues of the same trace.

// traceView is one event's trace.
type traceView struct {
	TraceID, SpanID, ParentSpanID string
	Sampled                       string // "yes", "no" or "" (not sent)
	URL                           string // the trace in the tracing UI; "" without Options.TraceURL
	Issues                        string // the issue list filtered by this trace
}

// traceRow is one of a group's latest events with its trace.
type traceRow struct {
	Event     string // the event's URL on the group page
	EventID   string
	Timestamp time.Time
	Trace     traceView
}

// maxTraceRows is how many of a group's latest events the page lists with
// their traces.
const maxTraceRows = 10

// trace returns the view of a trace, nil when traceID is not one.
func (s *server) trace(traceID, spanID string) *traceView {
	id := store.NormalizeTraceID(traceID)
	if id == "" {
		return nil
	}
	if !isHex(spanID, 16) {
		spanID = ""
	}
	return &traceView{
		TraceID: id, SpanID: spanID,
		URL:    store.TraceLink(s.opts.TraceURL, id, spanID),
		Issues: s.prefix + "/?" + url.Values{"trace": {id}}.Encode(),
	}
}

// eventTrace reads ev's contexts.trace.
func (s *server) eventTrace(ev *event.Event) *traceView {
	if ev == nil {
		return nil
	}
	tc := ev.Contexts["trace"]
	str := func(k string) string { v, _ := tc[k].(string); return strings.ToLower(v) }
	v := s.trace(str("trace_id"), str("span_id"))
	if v == nil {
		return nil
	}
	if p := str("parent_span_id"); isHex(p, 16) {
		v.ParentSpanID = p
	}
	if b, ok := tc["sampled"].(bool); ok {
		v.Sampled = map[bool]string{true: "yes", false: "no"}[b]
	}
	return v
}

// groupTraces lists the traces of the group's latest events.
func (s *server) groupTraces(r *http.Request, g *store.Group) ([]traceRow, error) {
	rows, err := s.st.GroupEvents(r.Context(), g.ID, store.EventQuery{Limit: maxTraceRows})
	if err != nil {
		return nil, err
	}
	var out []traceRow
	for _, e := range rows {
		if t := s.trace(e.TraceID, ""); t != nil {
			out = append(out, traceRow{
				Event:   s.prefix + "/groups/" + strconv.FormatInt(g.ID, 10) + "?event=" + strconv.FormatInt(e.ID, 10),
				EventID: e.EventID, Timestamp: e.Timestamp, Trace: *t,
			})
		}
	}
	return out, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
