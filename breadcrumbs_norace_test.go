//go:build !race

package errlog

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// Keeping an INFO record with 5 attrs as a breadcrumb allocates nothing,
// in the process ring and in a scope's, once the ring has grown to its
// bound; with 10 attrs, nothing beyond slog's own overflow slice.
func TestAllocsInfoBreadcrumbs(t *testing.T) {
	h := NewHandler(Options{
		Console: discardWriter{},
		File:    &FileOptions{Writer: discardWriter{}, Level: slog.LevelInfo},
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
