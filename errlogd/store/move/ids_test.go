package move_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/move"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// side is one database of a move: its store, opened and closed by the
// test, and its move.DB.
type side struct {
	open func(t *testing.T) *sqlstore.DB
	db   move.DB
}

func sqliteSide(t *testing.T) side {
	path := filepath.Join(t.TempDir(), "e.db")
	return side{db: open(t, path), open: func(t *testing.T) *sqlstore.DB {
		st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close(context.Background()) })
		return st.DB
	}}
}

func postgresSide(t *testing.T) side {
	url := pgtest.URL(t)
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return side{db: move.DB{SQL: db, Postgres: true, Name: url}, open: func(t *testing.T) *sqlstore.DB {
		st, err := postgres.Open(context.Background(), url, postgres.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close(context.Background()) })
		return st.DB
	}}
}

// TestMoveNeverReusesDeletedIDs: the newest group, deleted with its
// events before a move, keeps its ids taken in the destination: a new
// group and event get ids past them. The destination's counters were set
// to the highest id left (SQLite's sqlite_sequence was not copied at
// all), so the next new group took the deleted one's id, and with it
// whatever is still keyed by it (a tracker's ticket, links in old mail).
func TestMoveNeverReusesDeletedIDs(t *testing.T) {
	sides := map[string]func(t *testing.T) side{"sqlite": sqliteSide, "postgres": postgresSide}
	for _, from := range []string{"sqlite", "postgres"} {
		for _, to := range []string{"sqlite", "postgres"} {
			t.Run(from+" to "+to, func(t *testing.T) {
				checkMoveKeepsIDs(t, sides[from](t), sides[to](t))
			})
		}
	}
}

func checkMoveKeepsIDs(t *testing.T, from, to side) {
	ctx := context.Background()
	send := func(st *sqlstore.DB, p *store.Project, name string) (group, ev int64) {
		t.Helper()
		ev0 := &event.Event{EventID: event.NewID(), Level: "error", Fingerprint: []string{name},
			Logentry: &event.Logentry{Message: name + " failed"}}
		in, err := store.Prepare(p, ev0, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, st.Submit(ctx, in))
		page, err := st.ListGroups(ctx, store.GroupQuery{Text: name + " failed"})
		require.NoError(t, err)
		require.Len(t, page.Groups, 1)
		return page.Groups[0].ID, page.Groups[0].LastEventID
	}
	st := from.open(t)
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	send(st, p, "a")
	send(st, p, "b")
	gone, goneEvent := send(st, p, "c")
	require.NoError(t, st.DeleteGroup(ctx, gone))
	require.NoError(t, st.Close(ctx))

	to.open(t).Close(ctx) // migrated
	_, err = move.Run(ctx, from.db, to.db, move.Options{})
	require.NoError(t, err)

	st = to.open(t)
	g, e := send(st, p, "d")
	assert.Greater(t, g, gone, "a new group's id comes after the deleted group's")
	assert.Greater(t, e, goneEvent, "a new event's id comes after the deleted event's")
}
