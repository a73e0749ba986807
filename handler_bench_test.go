package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
)

// BenchmarkErrorCallerCost measures what an ERROR record with a request in
// context, 10 attrs and a stack trace costs the goroutine that logs it.
// The delivery goroutine is kept idle (the handler's queue is one nobody
// reads, drained between rounds), so that -benchmem counts the caller's
// allocations only; the event is built later, on errlog's own goroutine.
func BenchmarkErrorCallerCost(b *testing.B) {
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&captureSink{}}})
	jobs := h.c.jobs
	defer func() {
		h.c.jobs = jobs
		_ = h.Close(context.Background())
	}()
	var ctx context.Context
	Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ctx = r.Context() })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "http://shop.example/checkout?step=pay", nil))
	logger := slog.New(h)
	err := errors.New("card declined")
	attrs := []any{
		"order", 1234, "user", "ann", "amount", 99.5, "currency", "EUR", "retry", false,
		"gateway", "stripe", "attempt", 2, "latency", 350 * time.Millisecond, "region", "eu-west-1", "err", err,
	}
	const round = 4096
	h.c.jobs = make(chan job, round)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%round == 0 && i > 0 {
			b.StopTimer()
			for len(h.c.jobs) > 0 {
				<-h.c.jobs
			}
			b.StartTimer()
		}
		logger.ErrorContext(ctx, "payment failed", attrs...)
	}
}

// BenchmarkInfo measures an INFO record with 5 attrs (and one with 10) to
// a console and a file, with and without an event sink, logged with and
// without a Scope in its context: the path breadcrumbs must not slow down.
func BenchmarkInfo(b *testing.B) {
	five := []any{"user", "ann", "status", 200, "latency", 42 * time.Millisecond, "ok", true, "path", "/api/orders"}
	ten := append(append([]any(nil), five...), "bytes", 5120, "method", "GET", "cache", false, "region", "eu-west-1", "ratio", 0.25)
	scoped, _ := WithScope(context.Background())
	for _, bc := range []struct {
		name  string
		sinks bool
		ctx   context.Context
		attrs []any
	}{
		{"console+file", false, context.Background(), five},
		{"console+file+sink", true, context.Background(), five},
		{"console+file+sink/scope", true, scoped, five},
		{"console+file+sink/scope/10attrs", true, scoped, ten},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := Options{Console: discardBench{}, File: &logfile.Options{Writer: discardBench{}, Level: slog.LevelInfo}}
			if bc.sinks {
				o.Sinks = []EventSink{&captureSink{}}
			}
			h := NewHandler(o)
			defer h.Close(context.Background())
			logger := slog.New(h)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				logger.InfoContext(bc.ctx, "request served", bc.attrs...)
			}
		})
	}
}

// discardBench is io.Discard that NewHandler cannot recognise, so that the
// console stays on.
type discardBench struct{}

func (discardBench) Write(p []byte) (int, error) { return len(p), nil }
