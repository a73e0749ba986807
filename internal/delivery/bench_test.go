package delivery

import (
	"context"
	"testing"
)

// newParkedQueue returns a queue whose worker is stuck in Send until Close,
// so that allocation counts (which cover every goroutine) measure Enqueue
// alone.
func newParkedQueue(tb testing.TB, size int) *Queue {
	tb.Helper()
	inSend := make(chan struct{})
	q, err := New(Options{Name: "bench", QueueSize: size, Send: func(ctx context.Context, it Item) error {
		if it.ID == "park" {
			close(inSend)
		}
		<-ctx.Done()
		return ctx.Err()
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { q.Close(canceledContext()) })
	q.Enqueue(Item{ID: "park"})
	<-inSend
	return q
}

func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// discardRing empties the ring behind the parked worker's back.
func (q *Queue) discardRing() {
	q.mu.Lock()
	clear(q.ring)
	q.head, q.n = 0, 0
	q.mu.Unlock()
}

func BenchmarkEnqueue(b *testing.B) {
	const size = 4096
	q := newParkedQueue(b, size)
	it := Item{ID: "0123456789abcdef0123456789abcdef", Body: make([]byte, 512)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%size == 0 && i > 0 {
			b.StopTimer()
			q.discardRing()
			b.StartTimer()
		}
		if !q.Enqueue(it) {
			b.Fatal("dropped")
		}
	}
}

// BenchmarkEnqueueParallel measures contention on the queue's mutex, as
// when many request goroutines log errors at once. The queue is full most
// of the time, so this mostly measures the drop path.
func BenchmarkEnqueueParallel(b *testing.B) {
	q := newParkedQueue(b, 1024)
	it := Item{ID: "0123456789abcdef0123456789abcdef", Body: make([]byte, 512)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q.Enqueue(it)
		}
	})
}
