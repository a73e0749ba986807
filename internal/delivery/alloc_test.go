//go:build !race

package delivery

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Enqueue runs inside the application's slog.Error: it must not allocate,
// whether it accepts the item, finds the queue full, or finds it closed.
func TestEnqueueDoesNotAllocate(t *testing.T) {
	q := newParkedQueue(t, 2048)
	it := Item{ID: "0123456789abcdef0123456789abcdef", Body: []byte("body")}
	assert.Zero(t, testing.AllocsPerRun(1000, func() { q.Enqueue(it) }), "accepted")

	q.discardRing()
	for q.Enqueue(it) {
	}
	assert.Zero(t, testing.AllocsPerRun(1000, func() { q.Enqueue(it) }), "queue full")

	q.Close(canceledContext())
	assert.Zero(t, testing.AllocsPerRun(1000, func() { q.Enqueue(it) }), "closed")
}
