//go:build !race

package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
)

// discardWriter is io.Discard that NewHandler cannot recognise, so that
// the console stays on.
type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestAllocsDisabledLevel(t *testing.T) {
	logger := New(Options{Console: discardWriter{}})
	n := testing.AllocsPerRun(1000, func() {
		logger.Debug("not shown", "user", "ann", "status", 200)
	})
	if n != 0 {
		t.Fatalf("a disabled level allocates %v times, want 0", n)
	}
}

func TestAllocsInfoConsoleAndFile(t *testing.T) {
	logger := New(Options{
		Console: discardWriter{},
		File:    &logfile.Options{Writer: discardWriter{}, Level: slog.LevelInfo},
	})
	logger.Info("warm-up", "user", "ann")
	n := testing.AllocsPerRun(1000, func() {
		logger.Info("request served", "user", "ann", "status", 200, "latency", 42*time.Millisecond, "ok", true, "path", "/api/orders")
	})
	if n != 0 {
		t.Fatalf("an INFO record with 5 attrs to console and file allocates %v times, want 0", n)
	}
}

// The caller's cost of an event: with five attrs or fewer, nothing is
// allocated on the caller's goroutine; the event is built on errlog's.
// AllocsPerRun counts every goroutine's allocations, so the delivery
// goroutine is kept idle by giving the handler a queue nobody reads.
func TestAllocsErrorEventCaller(t *testing.T) {
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&captureSink{}}})
	jobs := h.c.jobs
	h.c.jobs = make(chan job, 2000)
	defer func() {
		h.c.jobs = jobs
		_ = h.Close(context.Background())
	}()
	logger := slog.New(h)
	n := testing.AllocsPerRun(1000, func() {
		logger.Error("payment failed", "order", 1234, "user", "ann", "err", errDeclined)
	})
	if n != 0 {
		t.Fatalf("an ERROR record costs the caller %v allocations, want 0", n)
	}
}

var errDeclined = errors.New("card declined")
