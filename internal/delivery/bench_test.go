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

// BenchmarkWriteAhead is the cost of the write-ahead log: items of 2 KiB
// (a typical compressed event) through a queue whose peer acknowledges at
// once, without and with a spool. Per op: one Enqueue (on errlog's
// delivery goroutine, never the application's) plus the worker's share,
// up to the acknowledgement; with a spool that is one write of the item
// and one of its acknowledgement, no fsync.
//
//	go test -run '^$' -bench WriteAhead -benchmem -count 6 ./internal/delivery
func BenchmarkWriteAhead(b *testing.B) {
	for _, spool := range []bool{false, true} {
		name := "memory"
		if spool {
			name = "spool"
		}
		b.Run(name, func(b *testing.B) {
			o := Options{Name: "bench", QueueSize: 1 << 14, Send: func(context.Context, Item) error { return nil }}
			if spool {
				o.SpoolDir = b.TempDir()
			}
			q, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close(context.Background())
			it := Item{Body: make([]byte, 2<<10)}
			b.ReportAllocs()
			b.SetBytes(int64(len(it.Body)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for !q.Enqueue(it) {
					q.Flush(context.Background()) // the ring is full: let the worker catch up
				}
			}
			if err := q.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
