package errlog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
)

// crumbSink prints the breadcrumbs of each event it receives.
type crumbSink struct{}

func (crumbSink) Deliver(ev *event.Event) {
	fmt.Printf("event %q, after:\n", ev.Message())
	for _, b := range ev.Breadcrumbs {
		fmt.Printf("  %s %s %v\n", b.Level, b.Message, b.Data)
	}
}
func (crumbSink) Flush(context.Context) error { return nil }
func (crumbSink) Close(context.Context) error { return nil }

// An event carries the records logged before it in the same scope (with
// Middleware: the same request), masked, as Sentry breadcrumbs; mail shows
// them too. Records of other scopes are not among them.
func ExampleOptions_breadcrumbs() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{crumbSink{}}})
	defer h.Close(context.Background())
	logger := slog.New(h)

	ctx, _ := errlog.WithScope(context.Background()) // Middleware does this per request
	other, _ := errlog.WithScope(context.Background())
	logger.InfoContext(ctx, "cart loaded", "items", 3)
	logger.InfoContext(other, "another request")
	logger.WarnContext(ctx, "card check slow", "password", "hunter2")
	logger.ErrorContext(ctx, "payment failed")
	_ = h.Flush(context.Background())
	// Output:
	// event "payment failed", after:
	//   info cart loaded map[items:3]
	//   warning card check slow map[password:**************]
}
