package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statements records the statements sent to the server (pgx.QueryTracer).
type statements struct {
	mu   sync.Mutex
	sent []string
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	s.sent = append(s.sent, strings.Join(strings.Fields(d.SQL), " "))
	s.mu.Unlock()
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

// TestCommitRoundTrips: on PostgreSQL a commit is five statements, so
// five round trips, whatever its batch holds: begin, the groups, the
// events, the users and counts, commit; each of one text for any batch,
// so that the server keeps it prepared. A statement per group (or per
// 400 parameters) took one round trip each, most of a commit's time.
func TestCommitRoundTrips(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	var sent statements
	cfg.Tracer = &sent
	var mu sync.Mutex
	var batches []int
	s, err := open(ctx, stdlib.OpenDB(*cfg), Options{Writer: store.WriterOptions{OnCommit: func(n int, _ time.Duration, err error) {
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
	var commits [][]string
	var tx []string
	for _, q := range sent.take() {
		switch {
		case q == "begin":
			tx = []string{q}
		case tx == nil:
		case q == "commit":
			if strings.Contains(strings.Join(tx, "\n"), "INSERT INTO events") {
				commits = append(commits, append(tx, q))
			}
			tx = nil
		default:
			tx = append(tx, q)
		}
	}
	texts := map[string]bool{}
	for _, c := range commits {
		assert.Len(t, c, 5, "five statements per commit: %q", c)
		for _, q := range c {
			texts[q] = true
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
