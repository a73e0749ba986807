package errlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
)

// idSink remembers the IDs of the events it receives.
type idSink struct {
	mu  sync.Mutex
	ids []string
}

func (s *idSink) Deliver(ev *event.Event) {
	s.mu.Lock()
	s.ids = append(s.ids, ev.EventID)
	s.mu.Unlock()
}
func (s *idSink) Flush(context.Context) error { return nil }
func (s *idSink) Close(context.Context) error { return nil }

// CaptureError returns the event's ID at once, so that the application can
// show it to its user; the event that reaches mail and the tracker carries
// the same ID.
func ExampleCaptureError_eventID() {
	sink := &idSink{}
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{sink}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))

	id := errlog.CaptureError(context.Background(), errors.New("payment gateway timeout"))
	fmt.Printf("Sorry, something went wrong (error id: %d hex digits)\n", len(id))

	_ = errlog.Flush(context.Background())
	fmt.Println("the tracker got the same id:", sink.ids[0] == id)
	// Output:
	// Sorry, something went wrong (error id: 32 hex digits)
	// the tracker got the same id: true
}
