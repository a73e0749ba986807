package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommitHookSavepoint: a commit hook's writes commit with the events,
// or, when it fails, roll back alone while the events are committed; a
// hook that runs no statement (no alert rule) costs no savepoint, and its
// error is still reported.
func TestCommitHookSavepoint(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var reported []error
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{Writer: store.WriterOptions{OnError: func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}}})
	require.NoError(t, err)
	defer s.Close(ctx)
	tables, err := s.Tables(ctx, "hooktest", fstest.MapFS{"sqlite/0001_t.sql": {Data: []byte(`CREATE TABLE hook_t (n INTEGER)`)}})
	require.NoError(t, err)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	send := func(msg string) {
		t.Helper()
		in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: msg}}, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
	}
	rows := func() int {
		var n int
		require.NoError(t, s.Pool().QueryRow(`SELECT count(*) FROM hook_t`).Scan(&n))
		return n
	}

	tables.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, _ []store.Outcome) error {
		return errors.New("idle hook failed")
	})
	send("no statement")
	tables.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, _ []store.Outcome) error {
		if _, err := tx.Exec(ctx, `INSERT INTO hook_t (n) VALUES (1)`); err != nil {
			return err
		}
		return errors.New("hook failed after a write")
	})
	send("rolled back")
	assert.Equal(t, 0, rows(), "the failed hook's write is undone")
	tables.SetCommitHook(func(ctx context.Context, tx *sqlstore.Tx, _ []store.Outcome) error {
		_, err := tx.Exec(ctx, `INSERT INTO hook_t (n) VALUES (2)`)
		return err
	})
	send("kept")
	assert.Equal(t, 1, rows(), "the hook's write commits with the events")

	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Events, "every event committed")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reported, 2)
	assert.ErrorContains(t, reported[0], "idle hook failed")
	assert.ErrorContains(t, reported[1], "hook failed after a write")
}
