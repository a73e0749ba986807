package errlog

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
)

// closeSink counts the events it is given and tells when it is closed.
type closeSink struct {
	events atomic.Int32
	closed chan struct{}
}

func (s *closeSink) Deliver(*event.Event)        { s.events.Add(1) }
func (s *closeSink) Flush(context.Context) error { return nil }
func (s *closeSink) Close(context.Context) error {
	close(s.closed)
	return nil
}

// TestDroppedHandlerIsCollected: a Handler the application drops without
// Close (derived handlers included) is collected; its cleanup delivers
// what was queued, closes the sinks, ends the delivery goroutine and
// takes it off the list of open handlers that Flush and SendEvent use.
func TestDroppedHandlerIsCollected(t *testing.T) {
	t.Parallel()
	sink := &closeSink{closed: make(chan struct{})}
	collected := make(chan struct{})
	c := func() *core {
		h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}})
		runtime.SetFinalizer(h, func(*Handler) { close(collected) })
		slog.New(h).With("k", "v").WithGroup("g").Error("dropped without Close")
		return h.c
	}()
	if !isOpen(c) {
		t.Fatal("a new Handler is not among the open ones")
	}
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-sink.closed:
		case <-time.After(10 * time.Millisecond):
			if i == 500 {
				t.Fatal("the dropped Handler was never collected and closed")
			}
			continue
		}
		break
	}
	<-collected
	<-c.done // the delivery goroutine ended
	if n := sink.events.Load(); n != 1 {
		t.Errorf("the sink got %d events; the queued one must be delivered at cleanup", n)
	}
	if isOpen(c) {
		t.Error("a collected Handler is still among the open ones")
	}
}

// TestClosedHandlerLeavesOpenList: Close takes the Handler off the list
// of open handlers, so that nothing keeps it.
func TestClosedHandlerLeavesOpenList(t *testing.T) {
	t.Parallel()
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&closeSink{closed: make(chan struct{})}}})
	if !isOpen(h.c) {
		t.Fatal("a new Handler is not among the open ones")
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if isOpen(h.c) {
		t.Error("a closed Handler is still among the open ones")
	}
}

func isOpen(c *core) bool {
	for _, x := range openCores() {
		if x == c {
			return true
		}
	}
	return false
}
