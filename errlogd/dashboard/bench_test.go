package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// seedLarge fills a SQLite store with groups and events by SQL, which is
// much faster than ingest: each event carries the same real compressed
// payload; groups have counts, hours over 14 days, environments,
// releases and three users each, as ingest would leave them.
func seedLarge(b *testing.B, path string, groups, events int) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{}) // migrates
	require.NoError(b, err)
	p, err := st.CreateProject(ctx, "bench")
	require.NoError(b, err)
	require.NoError(b, st.Close(ctx))

	js, err := json.Marshal(httpEvent("checkout failed", "*orders.PaymentError", time.Now()))
	require.NoError(b, err)
	payload := store.Compress(js)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	require.NoError(b, err)
	defer db.Close()
	now := time.Now().UnixMilli()
	perGroup := events / groups
	start := time.Now()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
INSERT INTO event_groups (id, project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id)
SELECT i, ?, 'key' || i, 'PaymentError ' || i || ': checkout failed for order ' || (i * 7919 % 100000), 'example.com/shop/orders.(*Service).Step' || (i % 500) || ' (orders/checkout.go:' || (i % 300) || ')',
  CASE i % 5 WHEN 0 THEN 'warning' WHEN 1 THEN 'info' ELSE 'error' END, ?, ? - (i % 1000) * 3600000 - 86400000, ? - i * 5000,
  CASE i % 10 WHEN 0 THEN 'resolved' WHEN 1 THEN 'ignored' ELSE 'unresolved' END, i % 50 = 0, 0 FROM n`, []any{groups, p.ID, perGroup, now, now}},
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
INSERT INTO events (id, project_id, group_id, event_id, ts, received, level, title, environment, release, size, stored, payload)
SELECT i, ?, (i - 1) % ? + 1, printf('%032x', i), ? - (? - i) * 500, ? - (? - i) * 500, 'error', 'checkout failed',
  CASE i % 3 WHEN 0 THEN 'staging' ELSE 'production' END, 'shop@1.' || (i % 20), ?, ?, ? FROM n`,
			[]any{events, p.ID, groups, now, events, now, events, len(js), len(payload), payload}},
		{`UPDATE event_groups SET last_event_id = (SELECT max(id) FROM events WHERE group_id = event_groups.id)`, nil},
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?), h(k) AS (VALUES (0), (1), (5), (30), (200))
INSERT INTO group_hours (group_id, bucket, n) SELECT i, (? / 3600000 - (i % 24) - k) * 3600, ? FROM n, h`, []any{groups, now, max(perGroup/5, 1)}},
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
INSERT INTO group_seen (group_id, kind, value, n, first_seen, last_seen)
SELECT i, 'environment', 'production', ?, ? - 86400000, ? FROM n UNION ALL
SELECT i, 'environment', 'staging', ?, ? - 86400000, ? FROM n WHERE i % 3 = 0 UNION ALL
SELECT i, 'release', 'shop@1.' || (i % 20), ?, ? - 86400000, ? FROM n`, []any{groups, perGroup, now, now, perGroup, now, now, perGroup, now, now}},
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?), u(k) AS (VALUES (1), (2), (3))
INSERT INTO group_seen (group_id, kind, value, n, first_seen, last_seen)
SELECT i, 'user', printf('%024x', i * 3 + k), 1, ? - 86400000, ? FROM n, u`, []any{groups, now, now}},
	} {
		_, err := db.ExecContext(ctx, q.sql, q.args...)
		require.NoError(b, err, q.sql)
	}
	_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(b, err)
	b.Logf("seeded %d groups, %d events in %s", groups, events, time.Since(start).Round(time.Second))
}

// BenchmarkPages measures the dashboard's pages on a large SQLite store:
// ERRLOG_BENCH_GROUPS groups (default 10,000) and ERRLOG_BENCH_EVENTS
// events (default 100,000); ERRLOG_BENCH_DB keeps the seeded file between
// runs. It reports the p95 of each page in milliseconds.
//
//	ERRLOG_BENCH_GROUPS=100000 ERRLOG_BENCH_EVENTS=1000000 ERRLOG_BENCH_DB=/tmp/big.db \
//	  go test -run '^$' -bench Pages -benchtime 200x ./errlogd/dashboard
func BenchmarkPages(b *testing.B) {
	groups, events := envInt("ERRLOG_BENCH_GROUPS", 10000), envInt("ERRLOG_BENCH_EVENTS", 100000)
	path := os.Getenv("ERRLOG_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	if _, err := os.Stat(path); err != nil {
		seedLarge(b, path, groups, events)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(b, err)
	defer st.Close(ctx)
	s, err := st.Stats(ctx)
	require.NoError(b, err)
	b.Logf("store: %d groups, %d events", s.Groups, s.Events)
	h := Handler(st, Options{Prefix: "/dev/error", Logger: nil})
	page1 := serve(b, h, "/dev/error/")
	mid := strconv.FormatInt(s.Groups/2, 10)
	for _, pg := range []struct{ name, path string }{
		{"List", "/dev/error/"},
		{"ListAll", "/dev/error/?status=all"},
		{"ListSortCount", "/dev/error/?sort=count"},
		{"ListEnvRelease", "/dev/error/?environment=staging&release=shop%401.3"},
		{"ListLevel24h", "/dev/error/?level=warning&range=24h"},
		{"ListSearch", "/dev/error/?q=order+4242"},
		{"ListPage2", nextOf(b, page1)},
		{"Group", "/dev/error/groups/" + mid},
		{"GroupOlderEvent", "/dev/error/groups/" + mid + "?event=" + strconv.FormatInt(s.Events/2/s.Groups*s.Groups+s.Groups/2, 10)},
	} {
		b.Run(pg.name, func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				serve(b, h, pg.path)
				d = append(d, time.Since(t0))
			}
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			b.ReportMetric(float64(d[len(d)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
		})
	}
}

func serve(b *testing.B, h http.Handler, path string) string {
	req := httptest.NewRequest("GET", "http://localhost"+path, nil)
	req.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("%s: %d %s", path, w.Code, w.Body.String()[:min(300, w.Body.Len())])
	}
	return w.Body.String()
}

func nextOf(b *testing.B, body string) string {
	i := strings.Index(body, `rel="next"`)
	if i < 0 {
		b.Fatalf("no next page link")
	}
	h := body[:i]
	h = h[strings.LastIndex(h, `href="`)+6:]
	return html.UnescapeString(h[:strings.Index(h, `"`)])
}
