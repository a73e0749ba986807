package errlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sort"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
)

// printSink prints the events it receives, the way a tracker would see
// them.
type printSink struct{}

func (printSink) Deliver(ev *event.Event) {
	fmt.Printf("event: %s %q\n", ev.Level, ev.Message())
	if n := len(ev.Exception); n > 0 {
		fmt.Printf("  exception: %s: %s\n", ev.Exception[n-1].Type, ev.Exception[n-1].Value)
	}
	if ev.Request != nil {
		u, _ := url.Parse(ev.Request.URL) // the path only: the port changes
		fmt.Printf("  request: %s %s\n", ev.Request.Method, u.Path)
	}
	keys := make([]string, 0, len(ev.Extra))
	for k := range ev.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  extra %s=%v\n", k, ev.Extra[k])
	}
}
func (printSink) Flush(context.Context) error { return nil }
func (printSink) Close(context.Context) error { return nil }

func ExampleNew() {
	logger := errlog.New(errlog.Options{
		Console: io.Discard, // the console's lines carry the time: left out here
		File: &errlog.FileOptions{
			Writer: os.Stdout,
			Level:  slog.LevelInfo,
			Format: "%(levelname)-8s %(message)s",
		},
	})
	logger.Info("listening", "port", 8080)
	logger.Warn("login failed", "user", "ann", "password", "hunter2")
	// Output:
	// INFO     listening port=8080
	// WARNING  login failed user=ann password=**************
}

func ExampleNewHandler() {
	h := errlog.NewHandler(errlog.Options{
		Console: io.Discard,
		Sinks:   []errlog.EventSink{printSink{}},
	})
	defer h.Close(context.Background())
	logger := slog.New(h)
	logger.Info("not an event")
	logger.Error("payment failed", "order", 1234, "err", errors.New("card declined"))
	_ = h.Flush(context.Background())
	// Output:
	// event: error "payment failed"
	//   exception: *errors.errorString: card declined
	//   extra err=card declined
	//   extra order=1234
}

func ExampleWithScope() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	ctx, scope := errlog.WithScope(context.Background())
	scope.SetExtra("cart_items", 3)
	scope.SetExtra("card_secret", "4242")
	slog.New(h).ErrorContext(ctx, "checkout failed")
	_ = h.Flush(context.Background())
	// Output:
	// event: error "checkout failed"
	//   extra card_secret=**************
	//   extra cart_items=3
}

func ExampleCaptureError() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))
	err := errlog.WithStack(errors.New("disk quota exceeded"))
	errlog.CaptureError(context.Background(), err, "user", "ann")
	errlog.CaptureMessage(context.Background(), "nightly job skipped")
	_ = errlog.Flush(context.Background())
	// Output:
	// event: error "disk quota exceeded"
	//   exception: *errors.errorString: disk quota exceeded
	//   extra error=disk quota exceeded
	//   extra user=ann
	// event: error "nightly job skipped"
}

func ExampleRecover() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer errlog.RecoverSilently(context.Background())
		var cache map[string]int
		cache["x"]++
	}()
	<-done
	_ = errlog.Flush(context.Background())
	// Output:
	// event: error "panic: assignment to entry in nil map"
	//   exception: *errlog.PanicError: assignment to entry in nil map
	//   extra error=panic: assignment to entry in nil map
}
