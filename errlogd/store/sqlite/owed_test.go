package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOwedCountsUnderLoad: while batches follow each other, their counts
// are owed and written together (sqlstore's "Owed counts"); every event
// is counted once, the commit hook sees each group new once, and each
// outcome's total is the group's count after the batches before it.
func TestOwedCountsUnderLoad(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var commits, hookCalls int
	// As errlogd's ingest says how many requests it is serving.
	var inFlight atomic.Int64
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{Writer: store.WriterOptions{
		InFlight: func() int { return int(inFlight.Load()) },
		OnCommit: func(events int, _ time.Duration, err error) {
			mu.Lock()
			commits++
			mu.Unlock()
		},
	}})
	require.NoError(t, err)
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)

	var outcomes []store.Outcome
	s.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
		mu.Lock()
		hookCalls++
		outcomes = append(outcomes, outs...)
		mu.Unlock()
		return nil
	})

	const senders, each, groups = 16, 60, 7
	words := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"}
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ev := &event.Event{
					Logentry:    &event.Logentry{Message: "owed " + words[(g*each+i)%groups]},
					Environment: []string{"prod", "staging"}[i%2],
					User:        &event.User{ID: fmt.Sprint(i % 5)},
				}
				inFlight.Add(1)
				in, err := store.Prepare(p, ev, nil, time.Now())
				if assert.NoError(t, err) {
					assert.NoError(t, s.Submit(ctx, in))
				}
				inFlight.Add(-1)
			}
		}(g)
	}
	wg.Wait()
	require.NoError(t, s.Flush(ctx))

	page, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Groups, groups)
	var total int64
	for _, g := range page.Groups {
		var events, minutes, seenEnv, users int64
		db := s.Pool()
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM events WHERE group_id = ?`, g.ID).Scan(&events))
		require.NoError(t, db.QueryRow(`SELECT COALESCE(sum(n), 0) FROM group_minutes WHERE group_id = ?`, g.ID).Scan(&minutes))
		require.NoError(t, db.QueryRow(`SELECT COALESCE(sum(n), 0) FROM group_seen WHERE group_id = ? AND kind = 'environment'`, g.ID).Scan(&seenEnv))
		require.NoError(t, db.QueryRow(`SELECT users FROM event_groups WHERE id = ?`, g.ID).Scan(&users))
		assert.Equal(t, events, g.Count, "group %q: count", g.Title)
		assert.Equal(t, events, minutes, "group %q: minute buckets", g.Title)
		assert.Equal(t, events, seenEnv, "group %q: environments seen", g.Title)
		assert.Equal(t, int64(5), users, "group %q: users", g.Title)
		total += g.Count
	}
	assert.Equal(t, int64(senders*each), total)

	mu.Lock()
	defer mu.Unlock()
	news := map[int64]int{}
	last := map[int64]int64{}
	var counted int64
	for _, o := range outcomes {
		if o.New {
			news[o.GroupID]++
		}
		assert.Equal(t, last[o.GroupID]+o.Count, o.Total, "group %d: each total follows the one before", o.GroupID)
		last[o.GroupID] = o.Total
		counted += o.Count
	}
	assert.Len(t, news, groups, "each group is new once")
	for id, n := range news {
		assert.Equal(t, 1, n, "group %d is new once", id)
	}
	assert.Equal(t, int64(senders*each), counted, "the outcomes count every event once")
	t.Logf("%d commits, %d hook calls", commits, hookCalls)
	assert.Less(t, hookCalls, commits, "batches under load left their counts owed")
}

// TestOwedCountsBeforeResolve: counts owed when a group is resolved are
// of events that came before; written after, they would reopen it.
func TestOwedCountsBeforeResolve(t *testing.T) {
	ctx := context.Background()
	// Requests always in flight, and events of another group coming all
	// along: the writer owes counts until they are due, or asked for.
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{Writer: store.WriterOptions{
		InFlight: func() int { return 1000 },
	}})
	require.NoError(t, err)
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	send := func(msg string) {
		in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: msg}}, nil, time.Now())
		if assert.NoError(t, err) {
			assert.NoError(t, s.Submit(ctx, in))
		}
	}
	stop := make(chan struct{})
	var others sync.WaitGroup
	for g := 0; g < 4; g++ {
		others.Add(1)
		go func() {
			defer others.Done()
			for {
				select {
				case <-stop:
					return
				default:
					send("another error")
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				send("before resolve")
			}
		}()
	}
	wg.Wait()
	page, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Text: "before resolve"})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	id := page.Groups[0].ID
	require.NoError(t, s.SetStatus(ctx, []int64{id}, store.StatusResolved))
	close(stop)
	others.Wait()
	require.NoError(t, s.Flush(ctx))
	g, err := s.Group(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, store.StatusResolved, g.Status, "no event came after the resolve")
	assert.False(t, g.Regression)
	assert.Equal(t, int64(320), g.Count)
}
