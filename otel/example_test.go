package errlogotel_test

import (
	"context"
	"github.com/errlog/errlog/logfile"
	"io"
	"os"

	"github.com/errlog/errlog"
	errlogotel "github.com/errlog/errlog/otel"
	"go.opentelemetry.io/otel/trace"
)

// The hook in errlog's Options: the log file's template prints the
// record's trace and span, and events carry them as contexts.trace.
func Example() {
	opts := errlog.Options{
		Console: io.Discard,
		File:    &logfile.Options{Writer: os.Stdout, Format: "%(levelname)s [%(trace_id)s %(span_id)s] %(message)s"},
	}
	opts.Hooks = append(opts.Hooks, errlogotel.New(errlogotel.Options{}))
	logger := errlog.New(opts)

	// A span as a tracer (otelhttp, for one) puts it in a request's context.
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))

	logger.WarnContext(ctx, "slow checkout")
	logger.Warn("no span here")
	// Output:
	// WARNING [4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7] slow checkout
	// WARNING [ ] no span here
}
