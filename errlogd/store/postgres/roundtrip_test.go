package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statements records the round trips to the server, each the
// statements it sent (pgx.QueryTracer, pgx.BatchTracer).
type statements struct {
	mu   sync.Mutex
	sent [][]string
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	s.sent = append(s.sent, []string{oneLine(d.SQL)})
	s.mu.Unlock()
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var rt []string
	for _, q := range d.Batch.QueuedQueries {
		rt = append(rt, oneLine(q.SQL))
	}
	s.mu.Lock()
	s.sent = append(s.sent, rt)
	s.mu.Unlock()
	return ctx
}

func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// traced is a pool on a database of its own whose round trips sent
// records.
func traced(t *testing.T) (*sql.DB, *statements) {
	cfg, err := pgx.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	sent := &statements{}
	cfg.Tracer = sent
	return openDB(cfg), sent
}

func (s *statements) take() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

// TestCommitRoundTrips: on PostgreSQL a commit is five statements in
// three round trips, whatever its batch holds: begin with the groups,
// the events, the users and counts with commit; each statement of one
// text for any batch, so that the server keeps it prepared. A statement
// per group (or per 400 parameters) took one round trip each, most of a
// commit's time, and then one each, five.
func TestCommitRoundTrips(t *testing.T) {
	ctx := context.Background()
	db, sent := traced(t)
	var mu sync.Mutex
	var batches []int
	s, err := open(ctx, db, Options{Writer: store.WriterOptions{OnCommit: func(n int, _ time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			batches = append(batches, n)
		}
	}}})
	require.NoError(t, err)
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)

	// 240 events in 12 groups, each of its own user, all at once: batches
	// of many events in many groups, with new users and counts.
	const events, groups = 240, 12
	sent.take()
	var wg sync.WaitGroup
	for i := 0; i < events; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := &event.Event{EventID: event.NewID(), Timestamp: time.Now().Add(-time.Minute), Level: event.LevelError,
				Logentry: &event.Logentry{Message: "failed"}, Fingerprint: []string{fmt.Sprint("group ", i%groups)},
				User: &event.User{ID: fmt.Sprint("user ", i)}, Environment: "prod", Release: "1.0"}
			in, err := store.Prepare(p, ev, nil, time.Now())
			if assert.NoError(t, err) {
				assert.NoError(t, s.Submit(ctx, in))
			}
		}()
	}
	wg.Wait()

	// The commits' transactions: the ones that insert events (the search
	// index's catch-up has its own; a new key's group is looked for
	// before the transaction).
	var commits [][][]string
	var tx [][]string
	for _, rt := range sent.take() {
		switch {
		case rt[0] == "begin":
			tx = [][]string{rt}
		case tx == nil:
		default:
			tx = append(tx, rt)
		}
		if tx != nil && rt[len(rt)-1] == "commit" {
			if strings.Contains(fmt.Sprint(tx), "INSERT INTO events") {
				commits = append(commits, tx)
			}
			tx = nil
		}
	}
	texts := map[string]bool{}
	for _, c := range commits {
		require.Len(t, c, 3, "three round trips per commit: %q", c)
		assert.Len(t, c[0], 2, "begin with the groups: %q", c[0])
		assert.Contains(t, c[0][1], "INSERT INTO event_groups")
		assert.Len(t, c[1], 1, "the events: %q", c[1])
		assert.Contains(t, c[1][0], "INSERT INTO events")
		assert.Equal(t, []string{c[2][0], "commit"}, c[2], "the counts with commit")
		assert.Contains(t, c[2][0], "INSERT INTO group_users")
		for _, rt := range c {
			for _, q := range rt {
				texts[q] = true
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	largest, total := 0, 0
	for _, n := range batches {
		largest, total = max(largest, n), total+n
	}
	require.Equal(t, events, total, "every event committed")
	require.GreaterOrEqual(t, largest, 2*groups, "a batch of many events in many groups (batches: %v)", batches)
	assert.Len(t, commits, len(batches))
	assert.Len(t, texts, 5, "one text each, whatever the batch (batches: %v)", batches)

	g, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 50})
	require.NoError(t, err)
	require.Len(t, g.Groups, groups)
	for _, gr := range g.Groups {
		assert.Equal(t, int64(events/groups), gr.Count, gr.Title)
		assert.Equal(t, int64(events/groups), gr.Users, gr.Title)
	}
}
