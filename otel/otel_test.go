package errlogotel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/errlog/errlog/logfile"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
	errlogotel "github.com/errlog/errlog/otel"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// sink keeps the events errlog delivers.
type sink struct {
	mu     sync.Mutex
	events []*event.Event
}

func (s *sink) Deliver(ev *event.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
}
func (s *sink) Flush(context.Context) error { return nil }
func (s *sink) Close(context.Context) error { return nil }

func (s *sink) all() []*event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*event.Event(nil), s.events...)
}

// setup returns a tracer exporting to memory, and an errlog Handler with
// the hook whose events go to a sink and whose file lines to file.
func setup(t *testing.T, opts errlogotel.Options, format string) (trace.Tracer, *tracetest.InMemoryExporter, *errlog.Handler, *sink, *bytes.Buffer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	s := &sink{}
	file := &lockedBuffer{}
	h := errlog.NewHandler(errlog.Options{
		Console: io.Discard,
		File:    &logfile.Options{Writer: file, Level: slog.LevelInfo, Format: format},
		Sinks:   []errlog.EventSink{s},
		Hooks:   []errlog.Hook{errlogotel.New(opts)},
	})
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return tp.Tracer("test"), exp, h, s, &file.b
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func attrs(ev sdktrace.Event) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range ev.Attributes {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

var errDeclined = errors.New("card declined")

func chargeCard(ctx context.Context, logger *slog.Logger) {
	logger.ErrorContext(ctx, "payment failed", "order", 1234, "err", fmt.Errorf("charge: %w", errDeclined))
}

// The span records the exception (type, message, stack, event ID) and
// the status Error; the event carries the same trace, span and parent.
func TestErrorInSpan(t *testing.T) {
	tracer, exp, h, s, _ := setup(t, errlogotel.Options{}, "")
	logger := slog.New(h)
	ctx, parent := tracer.Start(context.Background(), "request")
	ctx, span := tracer.Start(ctx, "charge")
	chargeCard(ctx, logger)
	span.End()
	parent.End()
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	evs := s.all()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	tc := ev.Contexts["trace"]
	sc := span.SpanContext()
	if tc["trace_id"] != sc.TraceID().String() || tc["span_id"] != sc.SpanID().String() {
		t.Errorf("contexts.trace = %v, want trace %s span %s", tc, sc.TraceID(), sc.SpanID())
	}
	if tc["parent_span_id"] != parent.SpanContext().SpanID().String() {
		t.Errorf("parent_span_id = %v, want %s", tc["parent_span_id"], parent.SpanContext().SpanID())
	}
	if tc["sampled"] != true {
		t.Errorf("sampled = %v, want true", tc["sampled"])
	}

	var got tracetest.SpanStub
	for _, st := range exp.GetSpans() {
		if st.Name == "charge" {
			got = st
		}
	}
	if got.Status.Code != codes.Error || got.Status.Description != "charge: card declined" {
		t.Errorf("span status = %+v, want Error \"charge: card declined\"", got.Status)
	}
	if len(got.Events) != 1 || got.Events[0].Name != "exception" {
		t.Fatalf("span events = %+v, want one \"exception\"", got.Events)
	}
	a := attrs(got.Events[0])
	if a[errlogotel.KeyExceptionType] != "*fmt.wrapError" {
		t.Errorf("exception.type = %q", a[errlogotel.KeyExceptionType])
	}
	if a[errlogotel.KeyExceptionMessage] != "charge: card declined" {
		t.Errorf("exception.message = %q", a[errlogotel.KeyExceptionMessage])
	}
	if st := a[errlogotel.KeyExceptionStacktrace]; !strings.HasPrefix(st, "github.com/errlog/errlog/otel_test.chargeCard\n\t") || !strings.Contains(st, "otel_test.go:") {
		t.Errorf("exception.stacktrace does not start at chargeCard:\n%s", st)
	}
	if a[errlogotel.KeyEventID] != ev.EventID || len(ev.EventID) != 32 {
		t.Errorf("errlog.event_id = %q, event's ID %q", a[errlogotel.KeyEventID], ev.EventID)
	}
	for _, st := range exp.GetSpans() {
		if st.Name == "request" && (len(st.Events) != 0 || st.Status.Code == codes.Error) {
			t.Errorf("the parent span got the error too: %+v", st)
		}
	}
}

// CaptureError's returned ID is the one the span shows.
func TestCaptureErrorID(t *testing.T) {
	tracer, exp, h, _, _ := setup(t, errlogotel.Options{}, "")
	ctx, span := tracer.Start(context.Background(), "job")
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(prev)
	id := errlog.CaptureError(ctx, errDeclined)
	span.End()
	ev := exp.GetSpans()[0].Events
	if len(ev) != 1 || attrs(ev[0])[errlogotel.KeyEventID] != id {
		t.Fatalf("span events %+v, want one with errlog.event_id %s", ev, id)
	}
}

// Below ErrorLevel nothing reaches the span; outside a span nothing is
// added; NoSpanErrors keeps the trace in the event and leaves the span.
func TestQuietCases(t *testing.T) {
	tracer, exp, h, s, _ := setup(t, errlogotel.Options{NoSpanErrors: true}, "")
	logger := slog.New(h)
	ctx, span := tracer.Start(context.Background(), "request")
	logger.WarnContext(ctx, "slow")
	logger.ErrorContext(ctx, "failed", "err", errDeclined)
	logger.Error("no context")
	span.End()
	_ = h.Flush(context.Background())
	st := exp.GetSpans()[0]
	if len(st.Events) != 0 || st.Status.Code != codes.Unset {
		t.Errorf("NoSpanErrors: span got events %+v, status %+v", st.Events, st.Status)
	}
	evs := s.all()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	if evs[0].Contexts["trace"]["trace_id"] != span.SpanContext().TraceID().String() {
		t.Errorf("event in a span: contexts.trace = %v", evs[0].Contexts["trace"])
	}
	if _, ok := evs[1].Contexts["trace"]; ok {
		t.Errorf("event outside a span has contexts.trace %v", evs[1].Contexts["trace"])
	}
}

// A span that is not sampled is not recording: the event still carries
// its trace (sampled false), and nothing is recorded on it.
func TestUnsampledSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.NeverSample()))
	s := &sink{}
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{s}, Hooks: []errlog.Hook{errlogotel.New(errlogotel.Options{})}})
	defer h.Close(context.Background())
	ctx, span := tp.Tracer("t").Start(context.Background(), "request")
	slog.New(h).ErrorContext(ctx, "failed")
	span.End()
	_ = h.Flush(context.Background())
	if evs := s.all(); len(evs) != 1 || evs[0].Contexts["trace"]["sampled"] != false || evs[0].Contexts["trace"]["trace_id"] != span.SpanContext().TraceID().String() {
		t.Fatalf("events %+v", evs)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans exported, want 0", n)
	}
}

// The log file's template prints the trace and span IDs, and nothing
// (not "-") outside a span.
func TestFileTemplate(t *testing.T) {
	tracer, _, h, _, file := setup(t, errlogotel.Options{}, "%(levelname)s trace=%(trace_id)s span=%(span_id)s %(message)s")
	logger := slog.New(h)
	ctx, span := tracer.Start(context.Background(), "request")
	logger.InfoContext(ctx, "inside")
	span.End()
	logger.Info("outside")
	sc := span.SpanContext()
	want := "INFO trace=" + sc.TraceID().String() + " span=" + sc.SpanID().String() + " inside\nINFO trace= span= outside\n"
	if got := file.String(); got != want {
		t.Fatalf("file:\n%s\nwant:\n%s", got, want)
	}
}

// errlog's Middleware inside otelhttp's: the events of a request carry
// the request span's trace, and the span shows the error.
func TestMiddlewareWithOtelhttp(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	s := &sink{}
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{s}, Hooks: []errlog.Hook{errlogotel.New(errlogotel.Options{})}})
	defer h.Close(context.Background())
	logger := slog.New(h)

	mux := http.NewServeMux()
	mux.HandleFunc("/pay", func(w http.ResponseWriter, r *http.Request) {
		logger.ErrorContext(r.Context(), "payment failed", "err", errDeclined)
		http.Error(w, "no", http.StatusPaymentRequired)
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		var orders []int
		_ = orders[len(r.URL.Path)] // index out of range: a runtime panic
	})
	srv := httptest.NewServer(otelhttp.NewHandler(h.Middleware(mux), "server", otelhttp.WithTracerProvider(tp)))
	defer srv.Close()
	for _, path := range []string{"/pay", "/panic"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	_ = h.Flush(context.Background())

	spans := exp.GetSpans()
	evs := s.all()
	if len(spans) != 2 || len(evs) != 2 {
		t.Fatalf("%d spans, %d events; want 2 and 2", len(spans), len(evs))
	}
	for i, ev := range evs {
		sc := spans[i].SpanContext
		if ev.Contexts["trace"]["trace_id"] != sc.TraceID().String() || ev.Contexts["trace"]["span_id"] != sc.SpanID().String() {
			t.Errorf("event %d (%s): contexts.trace %v, request span %s/%s", i, ev.Message(), ev.Contexts["trace"], sc.TraceID(), sc.SpanID())
		}
		if len(spans[i].Events) != 1 || attrs(spans[i].Events[0])[errlogotel.KeyEventID] != ev.EventID {
			t.Errorf("span %d events %+v, want the exception of event %s", i, spans[i].Events, ev.EventID)
		}
		if spans[i].Status.Code != codes.Error {
			t.Errorf("span %d status %+v", i, spans[i].Status)
		}
	}
	// A runtime panic is runtime.Error, as the event and a crash report
	// of the same panic name it (one type, one group).
	if typ := attrs(spans[1].Events[0])[errlogotel.KeyExceptionType]; typ != "runtime.Error" {
		t.Errorf("a panic's exception.type = %q, want runtime.Error, as the event has it", typ)
	}
}

// The error recorded on the span is masked as the event is: the span's
// exception event and status go to the trace exporter, and a URL's
// password in the error's text went there as it was.
func TestSpanExceptionMasked(t *testing.T) {
	tracer, exp, h, s, _ := setup(t, errlogotel.Options{}, "")
	ctx, span := tracer.Start(context.Background(), "request")
	slog.New(h).ErrorContext(ctx, "db down", "err", errors.New("connect postgres://app:hunter2@db/x failed"))
	span.End()
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if evs := s.all(); len(evs) != 1 || strings.Contains(evs[0].Exception[0].Value, "hunter2") {
		t.Fatalf("events %+v: want one, masked", evs)
	}
	st := exp.GetSpans()[0]
	if d := st.Status.Description; !strings.Contains(d, "connect postgres://app:") || strings.Contains(d, "hunter2") {
		t.Errorf("span status %q: want the text, masked", d)
	}
	if len(st.Events) == 0 {
		t.Fatal("no exception event on the span")
	}
	for _, e := range st.Events {
		if m := attrs(e)[errlogotel.KeyExceptionMessage]; !strings.Contains(m, "@db/x failed") || strings.Contains(m, "hunter2") {
			t.Errorf("span exception.message %q: want the text, masked", m)
		}
	}
}
