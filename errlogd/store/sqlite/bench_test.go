package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
)

// BenchmarkSubmit32: the writer alone (group commit on SQLite), 32
// submitters as under errlogd bench -c 32, 200 groups whose titles vary per
// event as generated ones do (each commit rewrites their FTS rows).
func BenchmarkSubmit32(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "e.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	p, _ := s.CreateProject(ctx, "p")
	payload := make([]byte, 2000)
	ins := make([]*store.Incoming, b.N)
	for i := range ins {
		ev := &event.Event{Environment: "prod", Release: fmt.Sprint("r", i%20), Logentry: &event.Logentry{Message: "m"}}
		in, err := store.Prepare(p, ev, []byte(`{}`), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		in.GroupKey = fmt.Sprint("g", i%200)
		in.Title = fmt.Sprintf("handler%d: something failed badly (id %d)", i%200, i)
		in.Payload = payload
		ins[i] = in
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan *store.Incoming)
	for w := 0; w < 32; w++ {
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
}
