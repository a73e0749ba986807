//go:build unix

package sqlite_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/errlog/errlog/event"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
)

// BenchmarkSubmit: the writer alone (group commit on SQLite), as errlogd
// serve opens it (counts owed), with n submitters each waiting for its
// event's commit, as n connections of errlogd bench do. 200 groups whose
// titles vary per event as generated ones do (each commit rewrites their
// FTS rows); every event has a random trace id and a payload that does
// not compress, the size errlogd stores for a 5 KB and a 50 KB event of
// errlogd bench (the SDK's gzip). Besides ns/op (wall time per event) it
// reports the process's CPU per event and the events per commit: the
// cost of a commit, most of it its random index pages, is shared by the
// events of its batch, and a batch holds at most the submitters.
func BenchmarkSubmit(b *testing.B) {
	for _, size := range []int{1800, 8300} {
		for _, n := range []int{8, 32, 128, 512} {
			b.Run(fmt.Sprintf("payload=%d/submitters=%d", size, n), func(b *testing.B) {
				benchSubmit(b, size, n)
			})
		}
	}
}

func benchSubmit(b *testing.B, size, submitters int) {
	ctx := context.Background()
	var commits atomic.Int64
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "e.db"), sqlite.Options{
		OweCounts: true,
		Writer:    store.WriterOptions{OnCommit: func(int, time.Duration, error) { commits.Add(1) }},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	p, _ := s.CreateProject(ctx, "p")
	ins := make([]*store.Incoming, b.N)
	for i := range ins {
		ev := &event.Event{Environment: "prod", Release: fmt.Sprint("r", i%20), Logentry: &event.Logentry{Message: "m"}}
		in, err := store.Prepare(p, ev, []byte(`{}`), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		in.GroupKey = fmt.Sprint("g", i%200)
		in.Title = fmt.Sprintf("handler%d: something failed badly (id %d)", i%200, i)
		in.TraceID = fmt.Sprintf("%x", randomBytes(16))
		in.Payload = randomBytes(size)
		ins[i] = in
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	next := make(chan *store.Incoming)
	for w := 0; w < submitters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := range next {
				if err := s.Submit(ctx, in); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, in := range ins {
		next <- in
	}
	close(next)
	wg.Wait()
	if err := s.Flush(ctx); err != nil { // the counts owed are part of the cost
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(b.N)/float64(max(commits.Load(), 1)), "events/commit")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
