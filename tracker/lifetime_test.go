package tracker

import (
	"runtime"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/trackertest"
)

// TestDroppedTrackerIsCollected: a Tracker of its own dropped without
// Close is collected, and its cleanup ends its queue's goroutine.
func TestDroppedTrackerIsCollected(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	q := func() *delivery.Queue {
		tr, err := New(Options{DSN: f.DSN()})
		if err != nil {
			t.Fatal(err)
		}
		tr.Send(trackertest.Event(0))
		return tr.envelopes.queue
	}()
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-q.Done():
		case <-time.After(10 * time.Millisecond):
			if i == 500 {
				t.Fatal("the dropped Tracker was never collected and closed")
			}
			continue
		}
		break
	}
	if n := len(f.Acked()); n != 1 {
		t.Errorf("the tracker received %d events; the queued one must be delivered at cleanup", n)
	}
}
