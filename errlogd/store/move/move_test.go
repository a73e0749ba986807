package move_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/move"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newStore(t *testing.T, path string, groups, events int) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	if events == 0 {
		return
	}
	p, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	for i := 0; i < events; i++ {
		ev := &event.Event{EventID: event.NewID(), Level: "error", Fingerprint: []string{fmt.Sprint("g", i%groups)},
			Logentry: &event.Logentry{Message: fmt.Sprint("failure ", i%groups)}, Environment: "production"}
		in, err := store.Prepare(p, ev, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
	}
	require.NoError(t, s.ExecSQL(ctx, `UPDATE event_groups SET status = 'ignored' WHERE id = 2`))
}

func open(t *testing.T, path string) move.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return move.DB{SQL: db, Name: path}
}

func rows(t *testing.T, d move.DB, q string) []string {
	t.Helper()
	r, err := d.SQL.Query(q)
	require.NoError(t, err)
	defer r.Close()
	var out []string
	for r.Next() {
		var s string
		require.NoError(t, r.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, r.Err())
	return out
}

// TestMoveResumes: a move stopped after its first progress report is
// finished by the next run, without duplicates; a full destination is
// refused, and emptied with Force.
func TestMoveResumes(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	newStore(t, src, 5, 200)
	newStore(t, dst, 0, 0)
	from, to := open(t, src), open(t, dst)

	ctx, cancel := context.WithCancel(context.Background())
	var reports []move.Progress
	_, err := move.Run(ctx, from, to, move.Options{Batch: 20, Every: 40, Progress: func(p move.Progress) {
		reports = append(reports, p)
		if p.Table == "events" {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	require.NotEmpty(t, reports)
	last := reports[len(reports)-1]
	assert.Equal(t, move.Progress{Table: "events", Done: 40, Total: 200, Rate: last.Rate, Left: last.Left}, last)
	assert.Regexp(t, `^events 40/200 \(20%\), \d+ rows/s, about \d+s left$`, last.String())

	res, err := move.Run(context.Background(), from, to, move.Options{Batch: 20})
	require.NoError(t, err)
	assert.True(t, res.Resumed)
	assert.Equal(t, int64(160), res.Rows["events"], "only what was missing")

	for _, q := range []string{
		`SELECT id || ' ' || name || ' ' || public_key FROM projects ORDER BY id`,
		`SELECT id || ' ' || key || ' ' || count || ' ' || status || ' ' || first_seen || ' ' || last_seen FROM event_groups ORDER BY id`,
		`SELECT id || ' ' || group_id || ' ' || event_id || ' ' || hex(payload) FROM events ORDER BY id`,
		`SELECT group_id || ' ' || kind || ' ' || value || ' ' || n FROM group_seen ORDER BY 1`,
		`SELECT group_id || ' ' || bucket || ' ' || n FROM group_minutes ORDER BY 1`,
	} {
		assert.Equal(t, rows(t, from, q), rows(t, to, q), q)
	}
	// The search index is the destination's own.
	assert.Equal(t, []string{"3"}, rows(t, to, `SELECT rowid FROM group_search WHERE group_search MATCH '"failure 2"'`))

	_, err = move.Run(context.Background(), from, to, move.Options{})
	require.ErrorIs(t, err, move.ErrNotEmpty, "a finished move is not repeated")
	res, err = move.Run(context.Background(), from, to, move.Options{Force: true})
	require.NoError(t, err)
	assert.False(t, res.Resumed)
	assert.Equal(t, int64(200), res.Rows["events"])
	assert.Equal(t, []string{"200"}, rows(t, to, `SELECT count(*) FROM events`))
}

// killedOwner makes a source store (3 groups, 9 events) as an owner
// killed while it owed counts leaves it: group 1's newest event stored,
// its counts not written; and an empty destination beside it.
func killedOwner(t *testing.T) (dir, src, dst string, from move.DB) {
	t.Helper()
	dir = t.TempDir()
	src, dst = filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	newStore(t, src, 3, 9)
	newStore(t, dst, 0, 0)
	from = open(t, src)
	_, err := from.SQL.Exec(`INSERT INTO events (project_id, group_id, event_id, ts, received, level, title, environment, release, size, stored, payload)
SELECT project_id, group_id, 'ffffffffffffffffffffffffffffffff', ts, received, level, title, environment, release, size, stored, payload FROM events WHERE group_id = 1 ORDER BY id DESC LIMIT 1`)
	require.NoError(t, err)
	return dir, src, dst, from
}

// TestMoveRefusesOwedCounts: a source holding events its groups do not
// count yet (an errlogd owing their counts, killed) is refused, with what
// to do; once an errlogd has written them, it moves.
func TestMoveRefusesOwedCounts(t *testing.T) {
	dir, src, dst, from := killedOwner(t)
	_, err := move.Run(context.Background(), from, open(t, dst), move.Options{})
	require.ErrorIs(t, err, move.ErrOwed)
	assert.Contains(t, err.Error(), "stop errlogd")
	assert.Empty(t, rows(t, open(t, dst), `SELECT event_id FROM events`), "nothing copied")
	// -force empties the destination: not before the source is known
	// to move.
	full := filepath.Join(dir, "full.db")
	newStore(t, full, 2, 4)
	_, err = move.Run(context.Background(), from, open(t, full), move.Options{Force: true})
	require.ErrorIs(t, err, move.ErrOwed)
	assert.Equal(t, []string{"4"}, rows(t, open(t, full), `SELECT CAST(count(*) AS TEXT) FROM events`), "the destination is left as it was")

	from.SQL.Close()
	s, err := sqlite.Open(context.Background(), src, sqlite.Options{OweCounts: true})
	require.NoError(t, err)
	require.NoError(t, s.Close(context.Background()))
	res, err := move.Run(context.Background(), open(t, src), open(t, dst), move.Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(10), res.Rows["events"])
	assert.Equal(t, []string{"4"}, rows(t, open(t, dst), `SELECT CAST(count AS TEXT) FROM event_groups WHERE id = 1`))
}

// TestMoveOwedBehindANewerCount: a killed owner left group 1's newest
// event uncounted; before it is started again, a second errlogd that does
// not own the file (it writes its counts) stores and counts a newer event
// of another group. The owed event is not the store's newest, and the
// next owner's Open still counts it: the store moves after one start and
// stop, as ErrOwed tells the user.
func TestMoveOwedBehindANewerCount(t *testing.T) {
	ctx := context.Background()
	_, src, dst, from := killedOwner(t)
	from.SQL.Close()

	// The second errlogd (no owner lock): its batch counts its events.
	b, err := sqlite.Open(ctx, src, sqlite.Options{})
	require.NoError(t, err)
	p, err := b.ProjectByKey(ctx, mustKey(t, b))
	require.NoError(t, err)
	ev := &event.Event{EventID: event.NewID(), Level: "error", Fingerprint: []string{"g2"}, Logentry: &event.Logentry{Message: "failure 2"}}
	in, err := store.Prepare(p, ev, nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, b.Submit(ctx, in))
	require.NoError(t, b.Close(ctx))

	for i := 0; i < 2; i++ { // "start it once and stop it again", and again
		s, err := sqlite.Open(ctx, src, sqlite.Options{OweCounts: true})
		require.NoError(t, err)
		require.True(t, s.OwesCounts())
		require.NoError(t, s.Close(ctx))
	}
	f := open(t, src)
	t.Logf("group 1: count, events: %v", rows(t, f, `SELECT count || ', ' || (SELECT count(*) FROM events WHERE group_id = 1) FROM event_groups WHERE id = 1`))
	_, err = move.Run(ctx, f, open(t, dst), move.Options{})
	t.Logf("move after errlogd started and stopped twice: %v", err)
	assert.NoError(t, err, "the owed event is counted at the owner's Open, and the store moves")
}

func mustKey(t *testing.T, s *sqlite.Store) string {
	var k string
	require.NoError(t, s.Pool().QueryRow(`SELECT public_key FROM projects LIMIT 1`).Scan(&k))
	return k
}

// TestMoveAfterRetention: retention (age, per group) and DeleteGroup on a
// store that owed counts, then closed: nothing is owed, and move accepts
// it.
func TestMoveAfterRetention(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	newStore(t, dst, 0, 0)
	s, err := sqlite.Open(ctx, src, sqlite.Options{OweCounts: true, Writer: store.WriterOptions{Linger: 10 * time.Second, InFlight: func() int { return 0 }}})
	require.NoError(t, err)
	p, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	send := func(g string, at time.Time) {
		ev := &event.Event{EventID: event.NewID(), Level: "error", Fingerprint: []string{g}, Logentry: &event.Logentry{Message: g}}
		in, err := store.Prepare(p, ev, nil, at)
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
	}
	old := time.Now().Add(-48 * time.Hour)
	for i := 0; i < 5; i++ {
		send("a", old)
		send("b", old)
		send("c", time.Now())
	}
	send("a", time.Now()) // owed
	_, err = s.Retain(ctx, store.Retention{MaxAge: 24 * time.Hour, MaxPerGroup: 2})
	require.NoError(t, err)
	var b int64
	require.NoError(t, s.Pool().QueryRow(`SELECT id FROM event_groups WHERE title = 'b'`).Scan(&b))
	require.NoError(t, s.DeleteGroup(ctx, b))
	send("c", time.Now())
	require.NoError(t, s.Close(ctx))
	_, err = move.Run(ctx, open(t, src), open(t, dst), move.Options{})
	assert.NoError(t, err)
}
