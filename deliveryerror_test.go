package errlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reportClock is a clock a test moves by hand.
type reportClock struct {
	mu sync.Mutex
	t  time.Time
}

func newReportClock() *reportClock {
	return &reportClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
}

func (c *reportClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *reportClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func outputLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestDeliveryErrorText(t *testing.T) {
	cause := fs.ErrPermission
	de := &DeliveryError{Sink: "file", Op: "write", Err: cause}
	assert.Equal(t, "errlog: file: write: permission denied", de.Error())
	assert.ErrorIs(t, de, fs.ErrPermission)
	assert.Equal(t, "errlog: tracker: boom", (&DeliveryError{Sink: "tracker", Err: errors.New("boom")}).Error())

	var got *DeliveryError
	wrapped := errors.Join(errors.New("other"), de)
	require.ErrorAs(t, wrapped, &got)
	assert.Equal(t, "file", got.Sink)
}

// errlog's untyped reports become DeliveryErrors with the same text, the
// sink read from the text, and the same chain.
func TestAsDeliveryError(t *testing.T) {
	cause := errors.New("connection refused")
	for _, tc := range []struct {
		err  error
		sink string
	}{
		{errlogErr("errlog: smtp: mail 7 not sent (attempt 1, will retry): %w", cause), "smtp"},
		{errlogErr("errlog: tracker: event abc: %w", cause), "tracker"},
		{errlogErr("errlog: 12 events dropped: %w", cause), ""},
		{errlogErr("errlog: smtp %w", cause), ""},
	} {
		de := asDeliveryError(tc.err)
		assert.Equal(t, tc.sink, de.Sink, tc.err.Error())
		assert.Equal(t, tc.err.Error(), de.Error(), "the text is unchanged")
		assert.ErrorIs(t, de, cause, "the chain is kept")
	}
	de := asDeliveryError(errlogErr("no prefix: %w", cause))
	assert.Equal(t, "", de.Sink)
	assert.Equal(t, "errlog: no prefix: connection refused", de.Error(), "errlog's prefix added")
	assert.ErrorIs(t, de, cause)
	typed := &DeliveryError{Sink: "queue", Op: "enqueue", Err: cause}
	assert.Same(t, typed, asDeliveryError(errlogErr("while closing: %w", typed)))
}

func errlogErr(format string, err error) error {
	return &textErr{text: strings.Replace(format, "%w", err.Error(), 1), err: err}
}

type textErr struct {
	text string
	err  error
}

func (e *textErr) Error() string { return e.text }
func (e *textErr) Unwrap() error { return e.err }

// Every report a hook receives is a *DeliveryError, whether its source
// made one (the drop report) or wrote plain text (the file sink).
func TestOnDeliveryErrorGetsDeliveryErrors(t *testing.T) {
	var mu sync.Mutex
	var got []error
	block := make(chan struct{})
	h := NewHandler(Options{
		Console:   io.Discard,
		File:      &logfile.Options{Writer: diskFullWriter{}},
		QueueSize: 1,
		Sinks:     []EventSink{&blockingSink{block: block}},
		OnDeliveryError: func(err error) {
			mu.Lock()
			got = append(got, err)
			mu.Unlock()
		},
	})
	log := slog.New(h)
	for i := 0; i < 20; i++ {
		log.Error("storm")
	}
	close(block)
	// Close says what the full disk cost; its hook gets the same report.
	require.ErrorContains(t, h.Close(context.Background()), "20 lines lost")
	mu.Lock()
	defer mu.Unlock()
	sinks := map[string]bool{}
	for _, err := range got {
		var de *DeliveryError
		require.ErrorAs(t, err, &de, "%v", err)
		sinks[de.Sink+"/"+de.Op] = true
		if de.Sink == "file" {
			assert.ErrorIs(t, err, errDiskFull)
		}
	}
	assert.True(t, sinks["queue/enqueue"], "the drop report: %v", sinks)
	assert.True(t, sinks["file/"], "the file's write error: %v", sinks)
}

var errDiskFull = errors.New("no space left on device")

type diskFullWriter struct{}

func (diskFullWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// The default reporter writes at most one line per sink per minute,
// however many reports arrive and however their texts differ, and the
// next line says how many it stands for.
func TestDefaultReporterOneLinePerSinkPerMinute(t *testing.T) {
	clock := newReportClock()
	var out syncBuffer
	report := rateLimitedReporter(&out, clock.Now)
	storm := func(n int) {
		for i := 0; i < n; i++ {
			report(&DeliveryError{Sink: "queue", Op: "enqueue", Err: errors.New(strings.Repeat("x", i%7) + " events dropped")})
			report(errlogErr("errlog: smtp: mail "+strings.Repeat("1", i%5)+" not sent: %w", errDiskFull))
		}
		report(errors.New("errlog: 3 events dropped because the queue was full (9 in all)"))
	}
	storm(1000)
	first := outputLines(out.String())
	require.Len(t, first, 3, "one line each for queue, smtp and the untyped report:\n%s", out.String())

	for i := 0; i < 59; i++ {
		clock.Advance(time.Second)
		storm(10)
	}
	assert.Len(t, outputLines(out.String()), 3, "nothing more within the minute")

	clock.Advance(time.Second)
	storm(1)
	all := outputLines(out.String())
	require.Len(t, all, 6, "one more line per sink a minute later")
	assert.True(t, strings.HasSuffix(all[3], "(and 1589 more queue reports not shown)"), all[3])
	assert.True(t, strings.HasSuffix(all[4], "(and 1589 more smtp reports not shown)"), all[4])
	assert.True(t, strings.HasSuffix(all[5], "(and 59 more reports not shown)"), all[5])
}

// The storm of the issue: a slow sink and a flood of errors make the
// event queue drop again and again. Counting a drop is all the storm
// costs: the delivery goroutine reports them once a second at most (and
// at once when a Flush waits), so that its time goes to delivering, and
// the default reporter writes one line for them a minute.
func TestDropStormOneLinePerMinute(t *testing.T) {
	clock := newReportClock()
	var out syncBuffer
	report := rateLimitedReporter(&out, clock.Now)
	var reports atomic.Int64
	var last atomic.Value
	h := NewHandler(Options{
		Console:   io.Discard,
		QueueSize: 1,
		Now:       clock.Now,
		Sinks:     []EventSink{slowDeliverSink{}},
		OnDeliveryError: func(err error) {
			reports.Add(1)
			last.Store(err.Error())
			report(err)
		},
	})
	log := slog.New(h)
	start := time.Now()
	for h.Stats().Dropped < 2000 && time.Since(start) < 2*time.Second {
		log.Error("storm")
	}
	elapsed := time.Since(start)
	require.NoError(t, h.Flush(context.Background()))
	dropped := h.Stats().Dropped
	require.GreaterOrEqual(t, dropped, uint64(100), "the storm dropped records")
	assert.LessOrEqual(t, reports.Load(), int64(elapsed/dropReportEvery)+2,
		"%d drops in %v made %d reports: one a second, and one for the Flush", dropped, elapsed, reports.Load())
	assert.Contains(t, last.Load(), fmt.Sprintf("(%d in all)", dropped), "the Flush's report counts every drop")
	got := outputLines(out.String())
	require.Len(t, got, 1, "%d drop reports, one line:\n%s", reports.Load(), out.String())
	assert.Contains(t, got[0], "errlog: queue: enqueue: ")

	clock.Advance(settings.ReportInterval)
	for i := 0; i < 100; i++ {
		log.Error("storm")
	}
	require.NoError(t, h.Close(context.Background()))
	got = outputLines(out.String())
	require.Len(t, got, 2, "a minute later, one more line")
}

// slowDeliverSink takes a little time per event, so that the queue in front of
// it fills and empties again and again.
type slowDeliverSink struct{}

func (slowDeliverSink) Deliver(*event.Event) { time.Sleep(50 * time.Microsecond) }

func (slowDeliverSink) Flush(context.Context) error { return nil }

func (slowDeliverSink) Close(context.Context) error { return nil }
