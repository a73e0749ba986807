package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupCreatedMeanwhile: another errlogd creates an event's group
// while this one's commit runs, after the commit's statement took its
// snapshot: the commit waits for the other transaction, finds that
// group, and counts the event in it (one group, both counts), where it
// would have failed with "group not returned".
func TestGroupCreatedMeanwhile(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s, err := postgres.Open(ctx, url, postgres.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	ev := &event.Event{EventID: event.NewID(), Timestamp: time.Now().Add(-time.Minute), Level: event.LevelError,
		Logentry: &event.Logentry{Message: "failed"}, Fingerprint: []string{"meanwhile"}}
	in, err := store.Prepare(p, ev, nil, time.Now())
	require.NoError(t, err)

	other, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	ms := time.Now().Add(-time.Hour).UnixMilli()
	_, err = tx.ExecContext(ctx, `INSERT INTO event_groups (project_id, key, title, culprit, level, count, first_seen, last_seen)
		VALUES ($1, $2, 'failed', '', 'error', 3, $3, $3)`, p.ID, in.GroupKey, ms)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- s.Submit(ctx, in) }()
	// The commit waits for the other transaction's row.
	require.Eventually(t, func() bool {
		var n int
		err := other.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, tx.Commit())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the commit did not end")
	}

	g, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, g.Groups, 1)
	assert.Equal(t, int64(4), g.Groups[0].Count, "the other's 3 and this event")
	stored, err := s.EventByEventID(ctx, p.ID, ev.EventID)
	require.NoError(t, err)
	assert.Equal(t, g.Groups[0].ID, stored.GroupID)
}
