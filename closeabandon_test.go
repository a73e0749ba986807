package errlog

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
)

// slowSink takes 20 ms per event (an in-app store on a slow disk) and
// counts the events it is given after its Close.
type slowSink struct {
	closed     atomic.Bool
	afterClose atomic.Int32
}

func (s *slowSink) Deliver(*event.Event) {
	if s.closed.Load() {
		s.afterClose.Add(1)
	}
	time.Sleep(20 * time.Millisecond)
}
func (s *slowSink) Flush(context.Context) error { return nil }
func (s *slowSink) Close(context.Context) error { s.closed.Store(true); return nil }

// When Close's deadline ends with events still queued, Close says how
// many it drops, once; they are counted, and neither built nor given to
// the sinks it closed. (The delivery goroutine used to go on after Close:
// each event went to closed sinks, and each was reported again by the
// tracker's closed queue, one failure, N+1 reports.)
func TestCloseDeadlineDropsWhatIsLeftOnce(t *testing.T) {
	f := trackertest.NewFake(t)
	log := &trackertest.ErrLog{}
	slow := &slowSink{}
	h := NewHandler(Options{
		Console:         io.Discard,
		OnDeliveryError: log.Add,
		Tracker:         &tracker.Options{DSN: f.DSN()},
		Sinks:           []EventSink{slow},
	})
	logger := slog.New(h)
	const n = 30
	for i := 0; i < n; i++ {
		logger.Error("boom", "i", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	assert.ErrorContains(t, h.Close(ctx), "events not yet given to mail, tracker and sinks, dropped")
	time.Sleep(n * 25 * time.Millisecond) // what the delivery goroutine would take to build them all
	assert.Zero(t, slow.afterClose.Load(), "events given to a closed sink")
	assert.Len(t, log.Matching("events not yet given"), 1, "reports %q", log.Strings())
	assert.Empty(t, log.Matching("item dropped: queue closed"), "reports %q", log.Strings())
	// Besides, the tracker may say in one report what its queue held.
	assert.LessOrEqual(t, len(log.Strings()), 2, "reports %q", log.Strings())
	st := h.Stats()
	// At least: an event in flight when Close gave up may have reached
	// the tracker and be counted as lost too.
	assert.GreaterOrEqual(t, uint64(len(f.Acked()))+st.Dropped, uint64(n), "every event delivered or counted dropped: %+v", st)
}

// closeWaitsSink's Close says it was entered, then takes until its
// deadline.
type closeWaitsSink struct {
	captureSink
	entered chan struct{}
}

func (s *closeWaitsSink) Close(ctx context.Context) error {
	close(s.entered)
	<-ctx.Done()
	return ctx.Err()
}

// A second Close, while the first is still closing, returns by its own
// deadline; it used to wait for the first whatever its own said. Once the
// first is done, Close is nil.
func TestConcurrentCloseKeepsItsDeadline(t *testing.T) {
	sink := &closeWaitsSink{entered: make(chan struct{})}
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}})
	ctx1, cancel1 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel1()
	first := make(chan error, 1)
	go func() { first <- h.Close(ctx1) }()
	<-sink.entered // the first Close is closing
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start := time.Now()
	err := h.Close(ctx2)
	assert.Less(t, time.Since(start), time.Second)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "another Close is still closing")
	assert.ErrorIs(t, <-first, context.DeadlineExceeded, "the first Close ends by its own deadline")
	assert.NoError(t, h.Close(context.Background()), "closing again is not an error")
}
