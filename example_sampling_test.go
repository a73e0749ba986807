package errlog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
)

// BeforeSend sees every event once, before mail, tracker and sinks: here
// it drops the noise of health checks and removes an attribute.
// SampleRate (not set here) would keep only a fraction of the events.
func ExampleOptions_beforeSend() {
	h := errlog.NewHandler(errlog.Options{
		Console: io.Discard,
		Sinks:   []errlog.EventSink{printSink{}},
		BeforeSend: func(ev *event.Event) *event.Event {
			if ev.Transaction == "GET /healthz" || ev.Message() == "health check failed" {
				return nil
			}
			delete(ev.Extra, "customer_note")
			return ev
		},
	})
	logger := slog.New(h)
	logger.Error("health check failed")
	logger.Error("payment failed", "order", 1234, "customer_note", "call me at home")
	_ = h.Flush(context.Background())
	fmt.Println("discarded by choice:", h.Discarded())
	_ = h.Close(context.Background())
	// Output:
	// event: error "payment failed"
	//   extra order=1234
	// discarded by choice: 1
}
