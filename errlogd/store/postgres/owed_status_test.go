package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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

// twoGroups makes groups "lo" and "hi" (named by the order of their keys)
// through s, counted, and returns their ids.
func twoGroups(t *testing.T, s *postgres.Store, admin *sql.DB, prj *store.Project) (lo, hi int64) {
	t.Helper()
	submitMsg(t, s, prj, "warm")
	submitMsg(t, s, prj, "G1")
	submitMsg(t, s, prj, "G2")
	require.NoError(t, s.Flush(context.Background()))
	rows, err := admin.Query(`SELECT id FROM event_groups WHERE title IN ('G1', 'G2') ORDER BY project_id, key`)
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	rows.Close()
	require.Len(t, ids, 2)
	return ids[0], ids[1]
}

func titleOf(t *testing.T, admin *sql.DB, id int64) string {
	var s string
	require.NoError(t, admin.QueryRow(`SELECT title FROM event_groups WHERE id = $1`, id).Scan(&s))
	return s
}

// TestSetStatusLocksInKeyOrder: A owes the counts of "hi" and the user
// resolves "lo" through A, while a transaction locks the two in key
// order (a batch holding events of both, another process's settle). Had
// SetStatus run in A's settle, it would lock lo after hi, against the
// key order: a deadlock, one side of it an error.
func TestSetStatusLocksInKeyOrder(t *testing.T) {
	ctx := context.Background()
	url, admin := adminDB(t)
	a := openDet(t, url, true)
	defer a.Close(ctx)
	prj, err := a.CreateProject(ctx, "app")
	require.NoError(t, err)
	lo, hi := twoGroups(t, a, admin, prj)
	submitMsg(t, a, prj, titleOf(t, admin, hi)) // owed by A
	require.Equal(t, 1, owedRows(t, admin, a.OwnerID()))

	// B: locks lo, then hi, as a batch of both groups' events does.
	tx, err := admin.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.Exec(`SELECT 1 FROM event_groups WHERE id = $1 FOR UPDATE`, lo)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { errc <- a.SetStatus(ctx, []int64{lo}, store.StatusResolved) }()
	time.Sleep(300 * time.Millisecond) // A: hi locked (settle), waits for lo
	_, berr := tx.Exec(`SELECT 1 FROM event_groups WHERE id = $1 FOR UPDATE`, hi)
	tx.Rollback() // B ends
	serr := <-errc
	t.Logf("B (batch order lo, hi): %v", berr)
	t.Logf("A SetStatus(lo) while owing hi: %v", serr)
	var e *pgconn.PgError
	deadlock := (errors.As(serr, &e) && e.Code == "40P01") || (errors.As(berr, &e) && e.Code == "40P01")
	assert.False(t, deadlock, "deadlock between SetStatus's settle and a key-ordered transaction")
}

// TestSetStatusBesideABatchOfBothGroups: the same with B a real process
// whose batch holds events of lo and hi: no deadlock, on either side.
func TestSetStatusBesideABatchOfBothGroups(t *testing.T) {
	ctx := context.Background()
	url, admin := adminDB(t)
	var deadlocks atomic.Int64
	retry := func(err error) bool {
		var e *pgconn.PgError
		if errors.As(err, &e) && e.Code == "40P01" {
			deadlocks.Add(1)
			return true
		}
		return false
	}
	a := openDet(t, url, true)
	defer a.Close(ctx)
	b, err := postgres.Open(ctx, url, postgres.Options{OweCounts: true, Writer: store.WriterOptions{
		Linger: time.Second, InFlight: func() int { return 2 }, Retryable: retry,
		OnError: func(err error) {
			if strings.Contains(err.Error(), "40P01") {
				deadlocks.Add(1)
			}
			t.Log("B:", err)
		}}})
	require.NoError(t, err)
	defer b.Close(ctx)
	prj, err := a.CreateProject(ctx, "app")
	require.NoError(t, err)
	lo, hi := twoGroups(t, a, admin, prj)
	hiTitle, loTitle := titleOf(t, admin, hi), titleOf(t, admin, lo)
	submitMsg(t, a, prj, hiTitle) // owed by A
	var slept atomic.Bool
	a.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
		for _, o := range outs {
			if o.GroupID == hi && slept.CompareAndSwap(false, true) {
				time.Sleep(700 * time.Millisecond) // A holds hi; B's batch comes
			}
		}
		return nil
	})
	errc := make(chan error, 1)
	go func() { errc <- a.SetStatus(ctx, []int64{lo}, store.StatusResolved) }()
	time.Sleep(200 * time.Millisecond)
	done := make(chan struct{})
	go func() { defer close(done); submitMsg(t, b, prj, loTitle) }()
	submitMsg(t, b, prj, hiTitle)
	<-done
	serr := <-errc
	t.Logf("SetStatus: %v; deadlocks: %d", serr, deadlocks.Load())
	assert.Zero(t, deadlocks.Load(), "deadlocks")
}

// TestStatusEventAfterTheLockWait: the user resolves G while B's owing
// batch, which holds G's lock, inserts an event of G. The resolve waits
// for B; its status_event must hold B's event, committed before the
// change applied, or B's counts, written later, would reopen G and alert
// a regression.
func TestStatusEventAfterTheLockWait(t *testing.T) {
	ctx := context.Background()
	url, admin := adminDB(t)
	a := openDet(t, url, false) // the API of another errlogd, or a tool
	defer a.Close(ctx)
	b := openDet(t, url, true)
	defer b.Close(ctx)
	prj, err := b.CreateProject(ctx, "app")
	require.NoError(t, err)
	var regressions atomic.Int64
	b.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
		for _, o := range outs {
			if o.Regression {
				regressions.Add(1)
			}
		}
		return nil
	})
	submitMsg(t, b, prj, "warm")
	submitMsg(t, b, prj, "G")
	require.NoError(t, b.Flush(ctx))
	var id int64
	require.NoError(t, admin.QueryRow(`SELECT id FROM event_groups WHERE title = 'G'`).Scan(&id))
	// B's next event of G takes a while to insert (a slow disk, a large
	// payload): G is locked meanwhile.
	_, err = admin.Exec(`CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$;
CREATE TRIGGER slow BEFORE INSERT ON events FOR EACH ROW WHEN (NEW.title = 'G') EXECUTE FUNCTION slow()`)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); submitMsg(t, b, prj, "G") }() // owed by B
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, a.SetStatus(ctx, []int64{id}, store.StatusResolved))
	<-done
	var ev, statusEvent int64
	require.NoError(t, admin.QueryRow(`SELECT max(id) FROM events WHERE group_id = $1`, id).Scan(&ev))
	require.NoError(t, admin.QueryRow(`SELECT status_event FROM event_groups WHERE id = $1`, id).Scan(&statusEvent))
	t.Logf("B's event %d committed before the resolve applied; status_event %d", ev, statusEvent)
	require.NoError(t, b.Flush(ctx))
	var status string
	var regression int
	require.NoError(t, admin.QueryRow(`SELECT status, regression FROM event_groups WHERE id = $1`, id).Scan(&status, &regression))
	t.Logf("after B's counts: status %s, regression %d, regression outcomes %d", status, regression, regressions.Load())
	assert.GreaterOrEqual(t, statusEvent, ev, "status_event holds the events committed before the change")
	assert.Equal(t, "resolved", status)
	assert.Zero(t, regressions.Load())
}

// TestRetentionLastEventsInKeyOrder: retention points the groups whose
// last event it deleted elsewhere, locking them in key order (in the
// order of its scan, it deadlocks with a transaction that locks two of
// them in key order, a batch or settle of events of both); and a run that
// deletes nothing still mends the groups a failed run left pointing at
// deleted events.
func TestRetentionLastEventsInKeyOrder(t *testing.T) {
	ctx := context.Background()
	url, admin := adminDB(t)
	s := openDet(t, url, false)
	defer s.Close(ctx)
	prj, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	old := time.Now().Add(-48 * time.Hour)
	titles := []string{"R1", "R2", "R3", "R4", "R5", "R6"}
	for _, m := range titles {
		ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: m}, Fingerprint: []string{m}}
		in, err := store.Prepare(prj, ev, nil, old)
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
	}
	// first: created earlier (scanned first), with a larger key than later.
	var first, second int64
	require.NoError(t, admin.QueryRow(`SELECT a.id, b.id FROM event_groups a JOIN event_groups b ON a.ctid < b.ctid AND a.key > b.key ORDER BY a.ctid, b.ctid LIMIT 1`).Scan(&first, &second))
	tx, err := admin.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.Exec(`SELECT 1 FROM event_groups WHERE id = $1 FOR UPDATE`, second) // key order: second, then first
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { _, err := s.Retain(ctx, store.Retention{MaxAge: 24 * time.Hour}); errc <- err }()
	time.Sleep(300 * time.Millisecond)
	_, terr := tx.Exec(`SELECT 1 FROM event_groups WHERE id = $1 FOR UPDATE`, first)
	tx.Rollback() // the batch ends; retention goes on
	rerr := <-errc
	t.Logf("key-ordered tx: %v; Retain: %v", terr, rerr)
	assert.NoError(t, terr)
	_, err = s.Retain(ctx, store.Retention{MaxAge: 24 * time.Hour})
	require.NoError(t, err)
	var dangling int
	require.NoError(t, admin.QueryRow(`SELECT count(*) FROM event_groups g WHERE last_event_id <> 0 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = g.last_event_id)`).Scan(&dangling))
	t.Logf("groups pointing at a deleted event after a second run: %d", dangling)
	assert.NoError(t, rerr)
	assert.Zero(t, dangling)

	// A run that failed after deleting a group's last event (as a
	// deadlock did) leaves it pointing there; the next run mends it,
	// though it has nothing to delete.
	submitMsg(t, s, prj, "R7")
	submitMsg(t, s, prj, "R7")
	require.NoError(t, s.Flush(ctx))
	var g, older int64
	require.NoError(t, admin.QueryRow(`SELECT id, (SELECT min(id) FROM events WHERE title = 'R7') FROM event_groups WHERE title = 'R7'`).Scan(&g, &older))
	_, err = admin.Exec(`DELETE FROM events WHERE id = (SELECT last_event_id FROM event_groups WHERE id = $1)`, g)
	require.NoError(t, err)
	res, err := s.Retain(ctx, store.Retention{MaxAge: 24 * time.Hour})
	require.NoError(t, err)
	assert.Zero(t, res.Events)
	var last int64
	require.NoError(t, admin.QueryRow(`SELECT last_event_id FROM event_groups WHERE id = $1`, g).Scan(&last))
	assert.Equal(t, older, last, "the group's newest event left")
}

// TestRegressionOnTheEventAfterTheChange: A owes a staging event of G that
// came before B resolved G, then a production event that came after. The
// settle's outcomes are [staging, production]: Regression belongs to the
// production one, whose event reopened G (a regression rule filtered on
// production fires), not to the group's first outcome.
func TestRegressionOnTheEventAfterTheChange(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a := openDet(t, url, true)
	defer a.Close(ctx)
	b := openDet(t, url, false)
	defer b.Close(ctx)
	prj, err := a.CreateProject(ctx, "app")
	require.NoError(t, err)
	send := func(env string) {
		ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: "G"}, Fingerprint: []string{"G"}, Environment: env}
		in, err := store.Prepare(prj, ev, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, a.Submit(ctx, in))
	}
	var outs []store.Outcome
	a.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, o []store.Outcome) error {
		outs = append(outs, o...)
		return nil
	})
	submitMsg(t, a, prj, "warm")
	send("production")
	require.NoError(t, a.Flush(ctx))
	g, err := a.ListGroups(ctx, store.GroupQuery{Text: "G"})
	require.NoError(t, err)
	require.Len(t, g.Groups, 1)
	send("staging") // owed; before the resolve
	require.NoError(t, b.SetStatus(ctx, []int64{g.Groups[0].ID}, store.StatusResolved))
	send("production") // owed; after it
	outs = nil
	require.NoError(t, a.Flush(ctx))
	for _, o := range outs {
		t.Logf("outcome: env %s, last event %d, regression %v", o.Environment, o.LastEventID, o.Regression)
	}
	got, err := a.Group(ctx, g.Groups[0].ID)
	require.NoError(t, err)
	t.Logf("group: status %s, regression %v", got.Status, got.Regression)
	var regressions []string
	for _, o := range outs {
		if o.Regression {
			regressions = append(regressions, o.Environment)
		}
	}
	assert.Equal(t, []string{"production"}, regressions, "the regression is the event after the resolve, once")
	assert.Equal(t, store.StatusUnresolved, got.Status)
}
