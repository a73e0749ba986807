package delivery

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// concurrency wraps a SendFunc and records how many calls overlapped.
type concurrency struct {
	now, peak atomic.Int32
	send      SendFunc
}

func (c *concurrency) wrap(ctx context.Context, it Item) error {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond) // a round trip
	return c.send(ctx, it)
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// fillUp enqueues items until the queue says it has no room, and returns
// the IDs it accepted.
func fillUp(t *testing.T, q *Queue, prefix string) []string {
	t.Helper()
	var out []string
	for i := 0; q.HasRoom(); i++ {
		id := ids(prefix, i+1)[i]
		if q.Enqueue(Item{ID: id, Body: []byte("body of " + id)}) {
			out = append(out, id)
		}
	}
	return out
}

// Without pressure, a queue with Parallel keeps sending one item at a
// time, in order.
func TestParallelOnlyWhenOverwhelmed(t *testing.T) {
	p := newPeer(nil)
	c := &concurrency{send: p.send}
	q, log := newTestQueue(t, Options{Send: c.wrap, QueueSize: 1000, Parallel: 4})
	all := ids("o", 100)
	enqueueAll(t, q, all)
	flush(t, q)
	assert.Equal(t, all, p.received(), "in order")
	assert.Equal(t, int32(1), c.peak.Load())
	assert.Empty(t, log.all())
}

// Once the queue has said it has no room, Parallel items are in flight
// at once while the peer is healthy; with temporary failures sprinkled
// in, every item still arrives exactly once, and Parallel is never
// exceeded.
func TestParallelSendsOverlapEachOnce(t *testing.T) {
	var mu sync.Mutex
	failing := false
	p := newPeer(func(call int, it Item) error {
		mu.Lock()
		defer mu.Unlock()
		if failing && call%5 == 0 {
			return errDown
		}
		return nil
	})
	c := &concurrency{send: p.send}
	q, log := newTestQueue(t, Options{Send: c.wrap, QueueSize: 100, Parallel: 4})
	first := fillUp(t, q, "a")
	flush(t, q)
	// 4 at a time; on a loaded machine not all 4 may overlap.
	assert.GreaterOrEqual(t, c.peak.Load(), int32(2), "a backlog is sent at once")
	assert.LessOrEqual(t, c.peak.Load(), int32(4))
	assert.Equal(t, sorted(first), sorted(p.received()))
	assert.Empty(t, log.all())

	mu.Lock()
	failing = true
	mu.Unlock()
	second := fillUp(t, q, "b")
	flush(t, q)
	assert.LessOrEqual(t, c.peak.Load(), int32(4))
	assert.Equal(t, sorted(append(first, second...)), sorted(p.received()), "each item once")
	st := q.Stats()
	assert.Equal(t, uint64(len(first)+len(second)), st.Sent)
	assert.NotZero(t, st.Retried)
	assert.Zero(t, st.Pending)
}

// A permanent failure among items sent at once drops that item alone.
func TestParallelPermanentFailureDropsOne(t *testing.T) {
	p := newPeer(func(call int, it Item) error {
		if it.ID == "x00007" {
			return Permanent(errDown)
		}
		return nil
	})
	c := &concurrency{send: p.send}
	q, log := newTestQueue(t, Options{Send: c.wrap, QueueSize: 20, Parallel: 3})
	all := fillUp(t, q, "x")
	require.Greater(t, len(all), 8)
	flush(t, q)
	want := append(append([]string(nil), all[:7]...), all[8:]...)
	assert.Equal(t, sorted(want), sorted(p.received()))
	assert.Equal(t, uint64(1), q.Stats().Failed)
	require.Len(t, log.all(), 1)
	assert.Contains(t, log.all()[0].Error(), "x00007")
}

// A spool over its bounds evicts, which makes the queue send at once;
// closed while items are in flight, it leaves exactly the undelivered
// ones for the next process.
func TestParallelSpoolExactlyOnceAcrossRestart(t *testing.T) {
	const n = 600
	dir := fastTempDir(t)
	p := newPeer(nil)
	c := &concurrency{send: p.send}
	gate := make(chan struct{})
	send := func(ctx context.Context, it Item) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return c.wrap(ctx, it)
	}
	q1, log1 := newTestQueue(t, Options{Send: send, SpoolDir: dir, QueueSize: n, MaxSpoolItems: n - 10, Parallel: 4})
	all := ids("r", n)
	// While the first sends wait, the spool goes over its bound: 10
	// items too many, less those delivered before the last of them came
	// in. When the worker woke late, took more than 590 at once and so
	// sent a batch of 4 (gated too), that can be 4: 6 to 10 are evicted.
	enqueueAll(t, q1, all)
	close(gate)
	waitReceived(t, p, 100)
	assert.GreaterOrEqual(t, c.peak.Load(), int32(2), "sent at once")
	assert.LessOrEqual(t, c.peak.Load(), int32(4))
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	require.ErrorIs(t, q1.Close(ctx), ErrClosed)
	assert.NotEmpty(t, log1.matching(ErrSpoolFull))

	q2, log2 := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, Parallel: 4})
	flush(t, q2)
	got := p.received()
	evicted := int(q1.Stats().Evicted)
	require.GreaterOrEqual(t, evicted, 10-4)
	require.LessOrEqual(t, evicted, 10)
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range all {
		assert.LessOrEqual(t, seen[id], 1, "%s sent twice", id)
	}
	assert.Len(t, got, n-evicted, "each once across processes, but the evicted ones")
	assert.Empty(t, log2.all())
	assert.Empty(t, spoolFiles(t, dir))
}
