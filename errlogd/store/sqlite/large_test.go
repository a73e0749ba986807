package sqlite_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/require"
)

// TestLargeStoreQueries times the dashboard's queries on a store of
// 100,000 groups and 1,000,000 events (200-byte payloads: the queries
// timed never read payloads). It runs only with ERRLOGD_LARGE_DB set to
// a file path (built on first use, ~1 minute; reused after):
//
//	ERRLOGD_LARGE_DB=/tmp/large.db go test -run LargeStore -v ./errlogd/store/sqlite
func TestLargeStoreQueries(t *testing.T) {
	path := os.Getenv("ERRLOGD_LARGE_DB")
	if path == "" {
		t.Skip("ERRLOGD_LARGE_DB not set")
	}
	ctx := context.Background()
	_, statErr := os.Stat(path)
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	now := time.Now().UnixMilli()
	if os.IsNotExist(statErr) {
		start := time.Now()
		for _, q := range []string{
			`INSERT INTO projects (id, name, public_key, disabled, created_ms, rate_limit, in_app) VALUES (1, 'big', '0123456789abcdef0123456789abcdef', 0, 0, 0, '')`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100000)
			 INSERT INTO event_groups (id, project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id)
			 SELECT i, 1, 'k' || i, '*pq.Error: duplicate key ' || i || ' in ' || (i % 97), 'shop/orders.Create (orders.go:' || (i % 500) || ')',
			   CASE i % 10 WHEN 0 THEN 'fatal' WHEN 1 THEN 'warning' ELSE 'error' END, 10,
			   ? - i * 60000, ? - (i * 7919 % 100000) * 1000, CASE i % 3 WHEN 0 THEN 'resolved' WHEN 1 THEN 'ignored' ELSE 'unresolved' END, 0, 0 FROM n`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000000)
			 INSERT INTO events (id, project_id, group_id, event_id, ts, received, level, title, environment, release, size, stored, payload)
			 SELECT i, 1, (i % 100000) + 1, lower(hex(randomblob(16))), ? - i * 10, ? - i * 10, 'error', 'title', 'production', '1.0', 2000, 200, randomblob(200) FROM n`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100000)
			 INSERT INTO group_seen (group_id, kind, value, n, first_seen, last_seen)
			 SELECT i, 'environment', CASE i % 4 WHEN 0 THEN 'staging' ELSE 'production' END, 10, 0, 0 FROM n`,
			`ANALYZE`,
		} {
			var args []any
			for i := 0; i < strings.Count(q, "?"); i++ {
				args = append(args, now)
			}
			require.NoError(t, s.ExecSQL(ctx, q, args...), q[:min(60, len(q))])
		}
		t.Logf("built %s in %v", path, time.Since(start))
	}
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	t.Logf("%d groups, %d events, %.0f MB", st.Groups, st.Events, float64(st.DiskBytes)/1e6)

	rng := rand.New(rand.NewSource(1))
	first, err := s.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"list, last seen", func() error { _, err := s.ListGroups(ctx, store.GroupQuery{}); return err }},
		{"list, unresolved", func() error {
			_, err := s.ListGroups(ctx, store.GroupQuery{Status: store.StatusUnresolved})
			return err
		}},
		{"list, by count", func() error { _, err := s.ListGroups(ctx, store.GroupQuery{Sort: store.SortCount}); return err }},
		{"list, fatal, first seen", func() error {
			_, err := s.ListGroups(ctx, store.GroupQuery{Level: "fatal", Sort: store.SortFirstSeen})
			return err
		}},
		{"list, staging", func() error { _, err := s.ListGroups(ctx, store.GroupQuery{Environment: "staging"}); return err }},
		{"list, next page", func() error { _, err := s.ListGroups(ctx, store.GroupQuery{Cursor: first.Next}); return err }},
		{"list, text search", func() error {
			_, err := s.ListGroups(ctx, store.GroupQuery{Text: fmt.Sprintf("key %d ", rng.Intn(100000))})
			return err
		}},
		{"list, text in every title", func() error { _, err := s.ListGroups(ctx, store.GroupQuery{Text: "duplicate"}); return err }},
		{"list, 2 letters in none", func() error { _, err := s.ListGroups(ctx, store.GroupQuery{Text: "zq"}); return err }},
		{"list, text in 8%, fatal", func() error {
			_, err := s.ListGroups(ctx, store.GroupQuery{Text: " in 9", Level: "fatal"})
			return err
		}},
		{"list, last 24 h", func() error {
			_, err := s.ListGroups(ctx, store.GroupQuery{Since: time.Now().Add(-24 * time.Hour)})
			return err
		}},
		{"group events", func() error {
			_, err := s.GroupEvents(ctx, int64(rng.Intn(100000)+1), store.EventQuery{})
			return err
		}},
		{"event by event_id", func() error {
			rows, err := s.GroupEvents(ctx, int64(rng.Intn(100000)+1), store.EventQuery{Limit: 1})
			if err != nil {
				return err
			}
			_, err = s.EventByEventID(ctx, 0, rows[0].EventID)
			return err
		}},
		{"group", func() error { _, err := s.Group(ctx, int64(rng.Intn(100000)+1)); return err }},
	} {
		var d []time.Duration
		for i := 0; i < 40; i++ {
			start := time.Now()
			require.NoError(t, c.run(), c.name)
			d = append(d, time.Since(start))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		t.Logf("%-24s p50 %6.2f ms  p95 %6.2f ms", c.name, ms(d[len(d)/2]), ms(d[len(d)*95/100]))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
