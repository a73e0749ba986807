package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTwoStoresOverlappingBatches: two stores on one database (two
// errlogd processes) commit batches of many events in the same groups at
// once. Every event is counted once, each group's users and counts are
// exact, and no commit fails (the two writers lock their rows in one
// order; a deadlock would be retried, up to five times, then fail).
func TestTwoStoresOverlappingBatches(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var mu sync.Mutex
	var errs []error
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, url, postgres.Options{Writer: store.WriterOptions{OnError: func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}}})
		require.NoError(t, err)
		return s
	}
	a := open()
	defer a.Close(ctx)
	b := open()
	defer b.Close(ctx)
	p, err := a.CreateProject(ctx, "app")
	require.NoError(t, err)

	const groups, perStore, rounds = 20, 200, 5
	minute := time.Now().Add(-time.Hour).Truncate(time.Minute)
	var wg sync.WaitGroup
	for si, s := range []*postgres.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				var batch sync.WaitGroup
				for i := 0; i < perStore/rounds; i++ {
					n := r*perStore/rounds + i
					ev := &event.Event{EventID: event.NewID(), Timestamp: minute.Add(time.Duration(n) * time.Millisecond), Level: event.LevelError,
						Logentry: &event.Logentry{Message: "failed"}, Fingerprint: []string{fmt.Sprint("g", n%groups)},
						User: &event.User{ID: fmt.Sprint("s", si, "u", n%7)}, Environment: "prod"}
					in, err := store.Prepare(p, ev, nil, time.Now())
					require.NoError(t, err)
					batch.Add(1)
					go func() {
						defer batch.Done()
						assert.NoError(t, s.Submit(ctx, in))
					}()
				}
				batch.Wait()
			}
		}()
	}
	wg.Wait()

	page, err := a.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Groups, groups, "one group per key, whichever store made it")
	var total int64
	for _, g := range page.Groups {
		total += g.Count
		assert.Equal(t, int64(2*perStore/groups), g.Count, g.Title)
		// n%20 == k meets n%7 in 7 residues for 200 events: 7 users a store.
		assert.Equal(t, int64(14), g.Users, g.Title)
		seen, err := a.GroupSeen(ctx, g.ID)
		require.NoError(t, err)
		require.Len(t, seen, 1)
		assert.Equal(t, g.Count, seen[0].Count)
	}
	assert.Equal(t, int64(2*perStore), total)
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, errs, "no commit failed")
}
