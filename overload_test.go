package errlog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// A record the full queue refuses still reaches the console, with its
// stack: only the event sinks lose it, counted.
func TestRefusedRecordStillPrintedWithStack(t *testing.T) {
	block := make(chan struct{})
	var console bytes.Buffer
	h := NewHandler(Options{Console: &console, QueueSize: 1, Sinks: []EventSink{&blockingSink{block: block}},
		OnDeliveryError: func(error) {}})
	log := slog.New(h)
	for i := 0; i < 10; i++ {
		log.Error("storm", "i", i)
	}
	if n := strings.Count(console.String(), "overload_test.go"); n < 10 {
		t.Errorf("%d stack lines naming this file for 10 records, want one each:\n%s", n, console.String())
	}
	if d := h.Dropped(); d < 7 {
		t.Errorf("Dropped() = %d, want ≥ 7 of 10 with a queue of 1 and a stuck sink", d)
	}
	close(block)
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
