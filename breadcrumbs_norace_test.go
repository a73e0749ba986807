//go:build !race

package errlog

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
)

// Keeping an INFO record with 5 attrs as a breadcrumb allocates nothing,
// in the process ring and in a scope's, once the ring has grown to its
// bound; with 10 attrs, nothing beyond slog's own overflow slice.
func TestAllocsInfoBreadcrumbs(t *testing.T) {
	h := NewHandler(Options{
		Console: discardWriter{},
		File:    &logfile.Options{Writer: discardWriter{}, Level: slog.LevelInfo},
		Sinks:   []EventSink{&captureSink{}},
	})
	defer h.Close(context.Background())
	logger := slog.New(h)
	scoped, _ := WithScope(context.Background())
	for _, ctx := range []context.Context{context.Background(), scoped} {
		for i := 0; i < 2*DefaultBreadcrumbs; i++ { // the rings grow to their bound
			logger.InfoContext(ctx, "warm-up")
		}
		n := testing.AllocsPerRun(1000, func() {
			logger.InfoContext(ctx, "request served", "user", "ann", "status", 200, "latency", 42*time.Millisecond, "ok", true, "path", "/api/orders")
		})
		if n != 0 {
			t.Errorf("an INFO record with 5 attrs kept as a breadcrumb allocates %v times, want 0", n)
		}
		n = testing.AllocsPerRun(1000, func() {
			logger.InfoContext(ctx, "request served", "user", "ann", "status", 200, "latency", 42*time.Millisecond, "ok", true, "path", "/api/orders",
				"bytes", 5120, "method", "GET", "cache", false, "region", "eu-west-1", "ratio", 0.25)
		})
		if n > 1 {
			t.Errorf("an INFO record with 10 attrs kept as a breadcrumb allocates %v times, want slog's 1", n)
		}
	}
	if h.c.crumbs.total == 0 {
		t.Fatal("no breadcrumb was kept: the test measured nothing")
	}
}

// Pinning the breadcrumbs of an event costs its caller no allocation.
func TestAllocsErrorCallerWithBreadcrumbs(t *testing.T) {
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&captureSink{}}})
	jobs := h.c.jobs
	h.c.jobs = make(chan job, 2000) // a queue nobody reads: the caller's cost alone
	defer func() {
		h.c.jobs = jobs
		_ = h.Close(context.Background())
	}()
	logger := slog.New(h)
	ctx, _ := WithScope(context.Background())
	for i := 0; i < 2*DefaultBreadcrumbs; i++ {
		logger.InfoContext(ctx, "step", "i", i)
	}
	n := testing.AllocsPerRun(1000, func() {
		logger.ErrorContext(ctx, "payment failed", "order", 1234, "user", "ann", "err", errDeclined)
	})
	if n != 0 {
		t.Fatalf("an ERROR record with breadcrumbs costs the caller %v allocations, want 0", n)
	}
	if h.c.crumbRingOf(ScopeFrom(ctx)).npins == 0 {
		t.Fatal("no event pinned its breadcrumbs: the test measured nothing")
	}
}
