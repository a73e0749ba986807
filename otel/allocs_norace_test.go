//go:build !race

package errlogotel_test

import "testing"

// Below ErrorLevel the hook costs no allocation, inside a span.
func TestAllocsBelowErrorLevel(t *testing.T) {
	logger, ctx := benchLogger(t, true)
	logger.InfoContext(ctx, "warm-up")
	n := testing.AllocsPerRun(1000, func() {
		logger.InfoContext(ctx, "request served", "order", 1234, "status", 200)
	})
	if n != 0 {
		t.Fatalf("an INFO record in a span with the hook allocates %v times, want 0", n)
	}
}
