package errlogotel_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
	errlogotel "github.com/errlog/errlog/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

type discardSink struct{}

func (discardSink) Deliver(*event.Event)        {}
func (discardSink) Flush(context.Context) error { return nil }
func (discardSink) Close(context.Context) error { return nil }

// benchLogger returns a logger with a console and a sink, with the hook
// or without, and a context inside a recording span.
func benchLogger(tb testing.TB, hooked bool) (*slog.Logger, context.Context) {
	opts := errlog.Options{Console: discardWriter{}, Sinks: []errlog.EventSink{discardSink{}}, Breadcrumbs: -1, SourceContext: errlog.SourceOff,
		OnDeliveryError: func(error) {}} // a full queue drops, as under overload
	if hooked {
		opts.Hooks = []errlog.Hook{errlogotel.New(errlogotel.Options{})}
	}
	h := errlog.NewHandler(opts)
	tb.Cleanup(func() { _ = h.Close(context.Background()) })
	// Spans keep at most 128 events; the cost of adding one is measured
	// all the same. No exporter: the span is recorded, never sent.
	tp := sdktrace.NewTracerProvider()
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
	tb.Cleanup(func() { span.End() })
	return slog.New(h), ctx
}

// BenchmarkError: an ERROR record in a recording span, without the hook
// and with it (contexts.trace, the exception event and status on the
// span). The difference is the hook's cost to the caller.
func BenchmarkError(b *testing.B) {
	for _, bc := range []struct {
		name   string
		hooked bool
	}{{"no-hook", false}, {"hook", true}} {
		b.Run(bc.name, func(b *testing.B) {
			logger, ctx := benchLogger(b, bc.hooked)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				logger.ErrorContext(ctx, "payment failed", "order", 1234, "err", errDeclined)
			}
		})
	}
}

// BenchmarkInfo: below ErrorLevel the hook is not called: the same cost,
// and no allocation, with it or without.
func BenchmarkInfo(b *testing.B) {
	for _, bc := range []struct {
		name   string
		hooked bool
	}{{"no-hook", false}, {"hook", true}} {
		b.Run(bc.name, func(b *testing.B) {
			logger, ctx := benchLogger(b, bc.hooked)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				logger.InfoContext(ctx, "request served", "order", 1234, "status", 200)
			}
		})
	}
}
