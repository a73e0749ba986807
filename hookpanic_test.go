package errlog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const hookPanicChildEnv = "ERRLOG_REVIEW_HOOK_PANIC_CHILD"

// panicSink panics in Deliver.
type panicSink struct{}

func (panicSink) Deliver(*event.Event)        { panic("sink bug") }
func (panicSink) Flush(context.Context) error { return nil }
func (panicSink) Close(context.Context) error { return nil }

// TestHookPanicChild is the child of TestOnDeliveryErrorPanics: a program
// whose OnDeliveryError hook has a bug, with a tracker that is down (or
// a sink that fails), logs one error and flushes.
func TestHookPanicChild(t *testing.T) {
	mode := os.Getenv(hookPanicChildEnv)
	if mode == "" {
		t.Skip("child of TestOnDeliveryErrorPanics")
	}
	o := Options{Console: io.Discard, OnDeliveryError: func(err error) {
		panic("a bug in the application's hook: " + err.Error())
	}}
	switch mode {
	case "tracker":
		o.Tracker = &tracker.Options{DSN: trackertest.DeadDSN(t), MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	case "sink":
		o.Sinks = []EventSink{panicSink{}}
	}
	h := NewHandler(o)
	slog.New(h).Error("the application's error")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = h.Flush(ctx)
	time.Sleep(200 * time.Millisecond)
	_ = h.Close(ctx)
	os.Stdout.WriteString("survived\n")
}

// Logging must never crash the application: a panic in a user hook
// (BeforeSend, a Hook's Field, a sink's Deliver, a Notifier) is recovered
// and reported. A panic in OnDeliveryError is not: it ends the program,
// from errlog's own goroutine, when the tracker is down or a sink fails.
func TestOnDeliveryErrorPanics(t *testing.T) {
	for _, mode := range []string{"tracker", "sink"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHookPanicChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), hookPanicChildEnv+"="+mode)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: the program crashed:\n%.1500s", mode, out)
		assert.Contains(t, string(out), "survived", mode)
	}
}

// A sink whose Deliver panics loses that event; it is reported, but not
// counted in Dropped (a BeforeSend or build panic is).
func TestSinkPanicCounted(t *testing.T) {
	var reports trackertest.ErrLog
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{panicSink{}}, OnDeliveryError: reports.Add})
	t.Cleanup(func() { h.Close(context.Background()) })
	slog.New(h).Error("lost in the sink")
	_ = h.Flush(context.Background())
	require.NotEmpty(t, reports.Matching("panicked"))
	assert.EqualValues(t, 1, h.Dropped(), "the event the sink lost")
}
