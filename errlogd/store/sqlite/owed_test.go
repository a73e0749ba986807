package sqlite_test

import (
	"context"
	"fmt"
	"os"
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
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{OweCounts: true, Writer: store.WriterOptions{
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
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{OweCounts: true, Writer: store.WriterOptions{
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

// owing opens a store whose batches after the first owe their counts:
// requests are always said to be in flight, and a Linger of 400 ms makes
// a batch that follows within it "loaded"; MaxOwed (250 ms) bounds the
// window.
func owing(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{OweCounts: true, Writer: store.WriterOptions{
		Linger: 400 * time.Millisecond, InFlight: func() int { return 1000 }}})
	require.NoError(t, err)
	require.True(t, s.OwesCounts())
	return s
}

func sendAt(t *testing.T, s *sqlite.Store, p *store.Project, msg string, at time.Time) {
	t.Helper()
	in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: msg}}, nil, at)
	require.NoError(t, err)
	require.NoError(t, s.Submit(context.Background(), in))
}

func countOf(t *testing.T, s *sqlite.Store, title string) (count, events int64) {
	t.Helper()
	require.NoError(t, s.Pool().QueryRow(`SELECT g.count, (SELECT count(*) FROM events e WHERE e.group_id = g.id) FROM event_groups g WHERE g.title = ?`, title).Scan(&count, &events))
	return count, events
}

// TestOwedCountsSecondOpen: another process opening the file while
// errlogd owes counts (errlogd project list, a second errlogd) neither
// writes them nor owes its own: only the owner lock's holder does.
func TestOwedCountsSecondOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "e.db")
	a := owing(t, path)
	defer a.Close(ctx)
	p, err := a.CreateProject(ctx, "p")
	require.NoError(t, err)
	sendAt(t, a, p, "boom", time.Now()) // counted: the first batch
	sendAt(t, a, p, "boom", time.Now()) // owed
	// A second errlogd: it waits OwnerWait for the lock, then goes on
	// without it.
	b, err := sqlite.Open(ctx, path, sqlite.Options{OweCounts: true, Writer: store.WriterOptions{
		Linger: 400 * time.Millisecond, InFlight: func() int { return 1000 }}})
	require.NoError(t, err)
	assert.False(t, b.OwesCounts())
	sendAt(t, b, p, "boom", time.Now())
	sendAt(t, b, p, "boom", time.Now()) // b does not own the file: counted
	_, events := countOf(t, b, "boom")
	assert.Equal(t, int64(4), events)
	require.NoError(t, b.Close(ctx))
	require.NoError(t, a.Flush(ctx))
	count, events := countOf(t, a, "boom")
	assert.Equal(t, events, count, "each event counted once")
}

// TestOwedCountsRetainedThenKilled: retention deletes a group's last
// counted event while the counts of a newer one are owed, and the process
// dies before writing them (here: the snapshot a crash would leave); the
// store opened again finds them, for the group does not point at the
// newer event as its last.
func TestOwedCountsRetainedThenKilled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := owing(t, filepath.Join(dir, "e.db"))
	defer a.Close(ctx)
	p, err := a.CreateProject(ctx, "p")
	require.NoError(t, err)
	sendAt(t, a, p, "boom", time.Now().Add(-48*time.Hour)) // counted, received 48 h ago
	sendAt(t, a, p, "boom", time.Now())                    // owed
	_, err = a.Retain(ctx, store.Retention{MaxAge: 24 * time.Hour})
	require.NoError(t, err)
	_, err = sqlite.Backup(ctx, filepath.Join(dir, "e.db"), filepath.Join(dir, "crash.db"))
	require.NoError(t, err)

	c, err := sqlite.Open(ctx, filepath.Join(dir, "crash.db"), sqlite.Options{OweCounts: true})
	require.NoError(t, err)
	defer c.Close(ctx)
	require.NoError(t, c.Flush(ctx))
	count, events := countOf(t, c, "boom")
	assert.Equal(t, int64(1), events, "the old event is gone")
	assert.Equal(t, int64(2), count, "both events counted, the owed one found at Open")
	require.NoError(t, a.Flush(ctx))
	count, _ = countOf(t, a, "boom")
	assert.Equal(t, int64(2), count)
}

// TestOwedCountsOtherOpens: a process that does not ask for the owner
// lock (errlogd project, errlogd move) finds no counts owed and owes
// none, and a duplicate it is sent of an owed event of a new group does
// not delete that group (whose count is still 0); the same file through
// a symbolic link has the same owner lock.
func TestOwedCountsOtherOpens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "e.db")
	a := owing(t, path)
	defer a.Close(ctx)
	p, err := a.CreateProject(ctx, "p")
	require.NoError(t, err)
	sendAt(t, a, p, "first", time.Now()) // counted
	ev := &event.Event{EventID: event.NewID(), Logentry: &event.Logentry{Message: "new"}}
	in, err := store.Prepare(p, ev, nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, a.Submit(ctx, in)) // a new group, its count owed

	b, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	assert.False(t, b.OwesCounts())
	in, err = store.Prepare(p, ev, nil, time.Now()) // an SDK's retry
	require.NoError(t, err)
	require.NoError(t, b.Submit(ctx, in))
	require.NoError(t, b.Close(ctx))

	require.NoError(t, os.Symlink(path, filepath.Join(dir, "link.db")))
	l, err := sqlite.Open(ctx, filepath.Join(dir, "link.db"), sqlite.Options{OweCounts: true})
	require.NoError(t, err)
	assert.False(t, l.OwesCounts(), "the link's owner lock is the file's")
	require.NoError(t, l.Close(ctx))

	require.NoError(t, a.Flush(ctx))
	count, events := countOf(t, a, "new")
	assert.Equal(t, int64(1), events)
	assert.Equal(t, int64(1), count, "the group is kept, and counted once")
	count, events = countOf(t, a, "first")
	assert.Equal(t, events, count)
}

// TestSetStatusDeadline: a status change the writer has taken is carried
// out and its answer waited for, whatever the caller's deadline: the
// caller is never told it failed when it committed.
func TestSetStatusDeadline(t *testing.T) {
	ctx := context.Background()
	s := owing(t, filepath.Join(t.TempDir(), "e.db"))
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	sendAt(t, s, p, "boom", time.Now())
	sendAt(t, s, p, "boom", time.Now()) // owed
	s.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
		time.Sleep(300 * time.Millisecond) // a slow alert hook
		return nil
	})
	var id int64
	require.NoError(t, s.Pool().QueryRow(`SELECT id FROM event_groups WHERE title = 'boom'`).Scan(&id))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = s.SetStatus(short, []int64{id}, store.StatusResolved)
	require.NoError(t, s.Flush(ctx)) // whatever the writer was doing is done
	g, gerr := s.Group(ctx, id)
	require.NoError(t, gerr)
	if err != nil {
		assert.Equal(t, store.StatusUnresolved, g.Status, "SetStatus said %v, yet resolved the group", err)
	} else {
		assert.Equal(t, store.StatusResolved, g.Status)
		assert.Equal(t, int64(2), g.Count)
	}
}
