//go:build !race

package errlog

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// A record the full queue refuses costs the caller no allocation: no
// clone, no stack, no request snapshot.
func TestRefusedRecordAllocatesNothing(t *testing.T) {
	block := make(chan struct{})
	h := NewHandler(Options{Console: io.Discard, QueueSize: 1, Sinks: []EventSink{&blockingSink{block: block}},
		OnDeliveryError: func(error) {}})
	defer func() {
		close(block)
		h.Close(context.Background())
	}()
	log := slog.New(h)
	for i := 0; i < 3; i++ {
		log.Error("fill", "i", i) // one in the sink, one queued
	}
	before := h.Dropped()
	// AllocsPerRun counts every goroutine's allocations: the least of a
	// few runs is the refused record's own.
	allocs := 1.0
	for try := 0; try < 5 && allocs != 0; try++ {
		allocs = testing.AllocsPerRun(100, func() { log.Error("storm", "i", 1) })
	}
	if allocs != 0 {
		t.Errorf("%v allocations per refused record, want 0", allocs)
	}
	if h.Dropped()-before < 100 {
		t.Errorf("%d refused, want every one of 101", h.Dropped()-before)
	}
}
