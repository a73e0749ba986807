package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminDB returns the test database's URL and a connection to it of
// the test's own, closed when the test ends.
func adminDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	url := pgtest.URL(t)
	admin, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	return url, admin
}

// openDet opens an owing store whose second batch within Linger (10 s) is
// always owed (InFlight says 0: no waiting for more), so that which batch
// owes its counts is deterministic.
func openDet(t *testing.T, url string, owe bool) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Options{OweCounts: owe, Writer: store.WriterOptions{
		Linger:   10 * time.Second,
		InFlight: func() int { return 0 },
		OnError:  func(err error) { t.Log(err) },
	}})
	require.NoError(t, err)
	return s
}

// openPair opens two owing stores on one new database (openDet), as two
// errlogd processes, and a project; the test's end closes them.
func openPair(t *testing.T) (admin *sql.DB, a, b *postgres.Store, prj *store.Project) {
	t.Helper()
	url, admin := adminDB(t)
	a, b = openDet(t, url, true), openDet(t, url, true)
	t.Cleanup(func() { a.Close(context.Background()) })
	t.Cleanup(func() { b.Close(context.Background()) })
	prj, err := a.CreateProject(context.Background(), "app")
	require.NoError(t, err)
	return admin, a, b, prj
}

func submitMsg(t *testing.T, s *postgres.Store, prj *store.Project, msg string) {
	t.Helper()
	ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: msg}, Fingerprint: []string{msg}}
	in, err := store.Prepare(prj, ev, nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, s.Submit(context.Background(), in))
}

func owedRows(t *testing.T, admin *sql.DB, owner int64) int {
	var n int
	require.NoError(t, admin.QueryRow(`SELECT count(*) FROM owed_events WHERE owner = $1`, owner).Scan(&n))
	return n
}

// TestOwedCountsNewOnce: A writes the counts it owes of a new group while
// B's batch in that group, which has locked it, has not committed: A
// waits for B's lock and reads B's count, so one process only says the
// group is new, and each total is right.
func TestOwedCountsNewOnce(t *testing.T) {
	ctx := context.Background()
	admin, a, b, prj := openPair(t)

	// Outcomes recorded in the commit's own transaction: only those of
	// transactions that committed are left.
	_, err := admin.Exec(`CREATE TABLE new_outcomes (who text, count bigint, total bigint)`)
	require.NoError(t, err)
	hook := func(name string, slow bool) sqlstore.CommitHook {
		return func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
			for _, o := range outs {
				if o.Title == "G" && o.New {
					if _, err := tx.Exec(ctx, `INSERT INTO new_outcomes VALUES (?, ?, ?)`, name, o.Count, o.Total); err != nil {
						return err
					}
					if slow {
						time.Sleep(time.Second) // B's transaction stays open a while
					}
				}
			}
			return nil
		}
	}
	a.SetCommitHook(hook("A", false))
	b.SetCommitHook(hook("B", true))

	submitMsg(t, a, prj, "warm") // settled; the next batches within Linger are owed
	submitMsg(t, a, prj, "G")
	submitMsg(t, a, prj, "G")
	require.Equal(t, 2, owedRows(t, admin, a.OwnerID()), "A owes G's two events")
	submitMsg(t, b, prj, "G") // B's first batch: counts written, hook slow
	require.NoError(t, a.Flush(ctx))
	require.NoError(t, b.Flush(ctx))

	var count int64
	require.NoError(t, admin.QueryRow(`SELECT count FROM event_groups WHERE title = 'G'`).Scan(&count))
	assert.Equal(t, int64(3), count)
	rows, err := admin.Query(`SELECT who || ': New, count ' || count || ', total ' || total FROM new_outcomes`)
	require.NoError(t, err)
	var news []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		news = append(news, s)
	}
	rows.Close()
	t.Logf("New outcomes for G, committed: %q", news)
	assert.Len(t, news, 1, "one process says the group is new")
}

// TestOwedCountsResolvedElsewhere: a group resolved, through this
// process or another (or a tool), is not reopened by counts A owed of an
// event it committed before the resolve (status_event).
func TestOwedCountsResolvedElsewhere(t *testing.T) {
	ctx := context.Background()
	for _, elsewhere := range []bool{false, true} {
		t.Run(fmt.Sprint("elsewhere=", elsewhere), func(t *testing.T) {
			url, admin := adminDB(t)
			a := openDet(t, url, true)
			defer a.Close(ctx)
			other := a
			if elsewhere {
				other = openDet(t, url, false) // another errlogd, or a tool
				defer other.Close(ctx)
			}
			prj, err := a.CreateProject(ctx, "app")
			require.NoError(t, err)
			var regressions atomic.Int64
			a.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
				for _, o := range outs {
					if o.Regression {
						regressions.Add(1)
					}
				}
				return nil
			})
			submitMsg(t, a, prj, "G") // counted
			submitMsg(t, a, prj, "G") // owed
			require.Equal(t, 1, owedRows(t, admin, a.OwnerID()))
			var id int64
			require.NoError(t, admin.QueryRow(`SELECT id FROM event_groups WHERE title = 'G'`).Scan(&id))
			require.NoError(t, other.SetStatus(ctx, []int64{id}, store.StatusResolved))
			require.NoError(t, a.Flush(ctx))
			var status string
			var regression int
			require.NoError(t, admin.QueryRow(`SELECT status, regression FROM event_groups WHERE id = $1`, id).Scan(&status, &regression))
			t.Logf("status %s, regression %d, regression outcomes %d", status, regression, regressions.Load())
			assert.Equal(t, "resolved", status, "an event that came before the resolve does not reopen the group")
			assert.Zero(t, regressions.Load())
		})
	}
}

// TestOwedCountsGroupDeletedMeanwhile: a group deleted while A writes the
// counts it owes (from A's commit hook, between A's statements) leaves no
// count rows behind: A has locked the group, so the delete waits for A.
func TestOwedCountsGroupDeletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	url, admin := adminDB(t)
	a := openDet(t, url, true)
	defer a.Close(ctx)
	api := openDet(t, url, false) // a request of another errlogd (or this one's API: DeleteGroup does not go through the writer)
	defer api.Close(ctx)
	prj, err := a.CreateProject(ctx, "app")
	require.NoError(t, err)
	var once atomic.Bool
	a.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
		for _, o := range outs {
			if o.Title == "G" && once.CompareAndSwap(false, true) {
				// Meanwhile: the group is deleted (no statement of this
				// transaction has locked it).
				dctx, cancel := context.WithTimeout(ctx, time.Second)
				err := api.DeleteGroup(dctx, o.GroupID)
				cancel()
				t.Logf("DeleteGroup during A's settle: %v", err)
			}
		}
		return nil
	})
	submitMsg(t, a, prj, "warm")
	ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: "G"}, Fingerprint: []string{"G"},
		User: &event.User{ID: "u1"}, Environment: "prod"}
	in, err := store.Prepare(prj, ev, nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, a.Submit(ctx, in)) // owed
	require.NoError(t, a.Flush(ctx))
	require.True(t, once.Load())
	for _, tbl := range []string{"group_minutes", "group_hours", "group_seen", "group_users"} {
		var n int
		require.NoError(t, admin.QueryRow(`SELECT count(*) FROM `+tbl+` WHERE group_id NOT IN (SELECT id FROM event_groups)`).Scan(&n))
		assert.Zero(t, n, "%s: rows of a deleted group", tbl)
	}
}

// TestOwedCountsNoDeadlock: two processes owing counts in the same 16
// groups, 5 senders each, never deadlock: every transaction locks the
// groups whose rows it writes in the order of their keys, and a batch
// whose groups are locked writes no other group's counts.
func TestOwedCountsNoDeadlock(t *testing.T) {
	for _, owe := range []bool{false, true} {
		t.Run(fmt.Sprint("owe=", owe), func(t *testing.T) { noDeadlock(t, owe) })
	}
}

func noDeadlock(t *testing.T, owe bool) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var deadlocks, fails, acked atomic.Int64
	retry := func(err error) bool {
		var e *pgconn.PgError
		if errors.As(err, &e) {
			if e.Code == "40P01" {
				deadlocks.Add(1)
				return true
			}
			return e.Code == "40001" || e.Code == "23505"
		}
		return false
	}
	open := func() (*postgres.Store, *atomic.Int64) {
		var inFlight atomic.Int64
		s, err := postgres.Open(ctx, url, postgres.Options{OweCounts: owe, Writer: store.WriterOptions{
			Retryable: retry,
			InFlight:  func() int { return int(inFlight.Load()) },
			OnError: func(err error) {
				if strings.Contains(err.Error(), "deadlock") {
					deadlocks.Add(1)
				}
				fails.Add(1)
				t.Log(err)
			},
		}})
		require.NoError(t, err)
		return s, &inFlight
	}
	a, ia := open()
	b, ib := open()
	prj, err := a.CreateProject(ctx, "app")
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, sp := range []struct {
		s  *postgres.Store
		in *atomic.Int64
	}{{a, ia}, {b, ib}} {
		for w := 0; w < 5; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					msg := fmt.Sprint("g", (w*7+i)%16)
					ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: msg}, Fingerprint: []string{msg}}
					in, _ := store.Prepare(prj, ev, nil, time.Now())
					sp.in.Add(1)
					if sp.s.Submit(ctx, in) == nil {
						acked.Add(1)
					}
					sp.in.Add(-1)
				}
			}()
		}
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	require.NoError(t, a.Close(ctx))
	require.NoError(t, b.Close(ctx))
	t.Logf("owe=%v: %d deadlocks, %d errors reported, %d events acknowledged in 3 s", owe, deadlocks.Load(), fails.Load(), acked.Load())
	assert.Zero(t, deadlocks.Load(), "two processes never deadlock")
}

// TestOwedCountsSmallPool: a pool of one connection is raised to what
// owing counts needs (the owner lock pins one): Open does not wait for a
// connection that never comes.
func TestOwedCountsSmallPool(t *testing.T) {
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, url, postgres.Options{OweCounts: true, MaxConns: 1})
	if err == nil {
		s.Close(context.Background())
	}
	assert.NoError(t, err)
}

// TestOwedCountsSettleWaits: A writes the counts it owes of G while B's
// batch in G, which has locked G, has not sent its counts statement (held
// back to its COMMIT; B's hook is slow). A waits for G's lock before
// writing any of G's rows, so the two do not deadlock.
func TestOwedCountsSettleWaits(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var deadlocks atomic.Int64
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, url, postgres.Options{OweCounts: true, Writer: store.WriterOptions{
			Linger: 10 * time.Second, InFlight: func() int { return 0 },
			OnError: func(err error) {
				if strings.Contains(err.Error(), "40P01") {
					deadlocks.Add(1)
				}
				t.Log(err)
			},
		}})
		require.NoError(t, err)
		return s
	}
	a, b := open(), open()
	defer a.Close(ctx)
	defer b.Close(ctx)
	prj, err := a.CreateProject(ctx, "app")
	require.NoError(t, err)
	b.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
		time.Sleep(time.Second)
		return nil
	})
	submitMsg(t, a, prj, "warm")
	submitMsg(t, a, prj, "G") // owed by A
	submitMsg(t, b, prj, "G") // B's batch: G locked, hook slow; A's settle meanwhile
	require.NoError(t, a.Flush(ctx))
	require.NoError(t, b.Flush(ctx))
	assert.Zero(t, deadlocks.Load(), "deadlocks")
}

// cancelWhenFewer is a context cancelled when it is checked once the
// database holds fewer than events events: after a batch of a deletion.
type cancelWhenFewer struct {
	context.Context
	cancel context.CancelFunc
	admin  *sql.DB
	events int
}

func (c *cancelWhenFewer) Err() error {
	var n int
	if c.admin.QueryRow(`SELECT count(*) FROM events`).Scan(&n) == nil && n < c.events {
		c.cancel()
	}
	return c.Context.Err()
}

// TestDeleteGroupOwedBelowLast: A owes the counts of an event of a group
// whose last_event_id B's counts have moved past it. A deletion of the
// group cancelled after its batches leaves that event (the group's own
// transaction would have taken it), so that when A writes what it owes,
// the group points at an event that is there. The batches took it, as
// one below last_event_id, and A's settle pointed the group at it after
// the deletion had repaired the group's last event.
func TestDeleteGroupOwedBelowLast(t *testing.T) {
	ctx := context.Background()
	admin, a, b, prj := openPair(t)

	submitMsg(t, a, prj, "G") // A's first batch: counted
	submitMsg(t, a, prj, "G") // within Linger: owed
	require.Equal(t, 1, owedRows(t, admin, a.OwnerID()), "A owes G's second event")
	submitMsg(t, b, prj, "G") // B's first batch: counted, G's last event B's
	page, err := b.ListGroups(ctx, store.GroupQuery{ProjectID: prj.ID})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	g := page.Groups[0]
	var owed int64
	require.NoError(t, admin.QueryRow(`SELECT event_id FROM owed_events WHERE owner = $1`, a.OwnerID()).Scan(&owed))
	if owed == 0 || g.LastEventID <= owed {
		t.Skip("A wrote what it owed before B's event (it may owe for 250 ms)")
	}

	req, cancel := context.WithCancel(ctx)
	defer cancel()
	err = b.DeleteGroup(&cancelWhenFewer{Context: req, cancel: cancel, admin: admin, events: 3}, g.ID)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, a.Flush(ctx)) // A writes what it owes
	after, err := b.Group(ctx, g.ID)
	require.NoError(t, err)
	evs, err := b.GroupEvents(ctx, g.ID, store.EventQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, evs, 1, "A's owed event is left for the group's own transaction")
	assert.Equal(t, owed, evs[0].ID)
	assert.Equal(t, owed, after.LastEventID, "the group points at the event left")
}

// TestFlushSaysSettleFailed: a Flush whose writing of the counts owed
// fails (here a lock held on the owed rows past lock_timeout; in life a
// connection reset, a failover) says so, and the counts are written
// later, through the commit hook. Flush answered nil, and errlogd's
// shutdown then detached the alert hook before the store wrote them as it
// closed: the new group was never announced.
func TestFlushSaysSettleFailed(t *testing.T) {
	ctx := context.Background()
	url, admin := adminDB(t)
	s, err := postgres.Open(ctx, url+"&lock_timeout=300", postgres.Options{OweCounts: true, Writer: store.WriterOptions{
		Linger: 10 * time.Second, InFlight: func() int { return 0 },
		OnError: func(err error) { t.Log("OnError:", err) },
	}})
	require.NoError(t, err)
	defer s.Close(ctx)
	prj, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	var mu sync.Mutex
	news := map[string]int{}
	s.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range outs {
			if o.New {
				news[o.Title]++
			}
		}
		return nil
	})
	submitMsg(t, s, prj, "first") // counted: the first batch
	// A new group whose counts are owed, and its owed row locked before
	// the writer settles it (within MaxOwed: tried again if not).
	var fresh string
	var lock *sql.Tx
	for try := 0; try < 20 && lock == nil; try++ {
		fresh = fmt.Sprint("fresh ", try)
		submitMsg(t, s, prj, fresh)
		tx, err := admin.Begin()
		require.NoError(t, err)
		var n int
		require.NoError(t, tx.QueryRow(`SELECT count(*) FROM (SELECT 1 FROM owed_events WHERE owner = $1 FOR UPDATE) x`, s.OwnerID()).Scan(&n))
		if n == 0 {
			require.NoError(t, tx.Rollback())
			continue
		}
		lock = tx
	}
	require.NotNil(t, lock, "owed rows locked")
	defer lock.Rollback() // before Close, should the test fail first
	err = s.Flush(ctx)
	require.Error(t, err, "the counts owed could not be written")
	assert.Contains(t, err.Error(), "lock timeout")
	require.NoError(t, lock.Rollback())

	require.NoError(t, s.Flush(ctx))
	var count, events int64
	require.NoError(t, admin.QueryRow(`SELECT g.count, (SELECT count(*) FROM events e WHERE e.group_id = g.id) FROM event_groups g WHERE g.title = $1`, fresh).Scan(&count, &events))
	assert.Equal(t, events, count)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, news[fresh], "the new group's outcome went through the hook once")
}
