package errlog

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
)

// TestHostileMessageDoesNotStallDelivery: one ERROR record whose message
// is a run of "1:" (64 KiB: cut to MaxValueBytes; a dump of ports, a
// hostile request echoed into a message) must not hold the delivery
// worker: the tracker's SetGroupKey parameterizes the message, which was
// quadratic (event.matchIPv6), so the next, ordinary error waited seconds
// and Flush's deadline passed with it undelivered.
func TestHostileMessageDoesNotStallDelivery(t *testing.T) {
	trk := trackertest.NewFake(t)
	h := NewHandler(Options{Console: io.Discard, Tracker: &tracker.Options{DSN: trk.DSN()}})
	defer h.Close(context.Background())
	log := slog.New(h)
	log.Error("bad ports: " + strings.Repeat("1:", 32<<10))
	log.Error("charge failed")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := h.Flush(ctx)
	assert.NoError(t, err, "Flush after %v", time.Since(start))
	assert.Len(t, trk.Acked(), 2)
}
