package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/errlog/errlog/errlogd/alert"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// moveGroups is how many groups TestMoveStores moves; moveEvents (100,000
// without -race, fewer under it: move_count_*_test.go) how many events.
const moveGroups = 1000

// recorder is a sentry-go transport that keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []*sentry.Event
}

func (r *recorder) Flush(time.Duration) bool              { return true }
func (r *recorder) FlushWithContext(context.Context) bool { return true }
func (r *recorder) Configure(sentry.ClientOptions)        {}
func (r *recorder) Close()                                {}
func (r *recorder) SendEvent(e *sentry.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}
func (r *recorder) take() []*sentry.Event { r.mu.Lock(); defer r.mu.Unlock(); return r.events }

var _ sentry.Transport = (*recorder)(nil)

// captureGroups reports one error per group through a sentry-go client,
// from one call site: the same events each time it runs.
func captureGroups(client *sentry.Client) {
	hub := sentry.NewHub(client, sentry.NewScope())
	for i := 0; i < moveGroups; i++ {
		hub.WithScope(func(s *sentry.Scope) {
			// One group per order, as an application splits a stack
			// it shares by a fingerprint.
			s.SetFingerprint([]string{"{{ default }}", fmt.Sprint(i)})
			s.SetTag("shard", fmt.Sprint(i%7))
			hub.CaptureException(fmt.Errorf("move: order %d: %w", i, errors.New("connection reset")))
		})
	}
}

// TestMoveStores: a SQLite store of moveEvents events in 1,000 groups
// (built through the store's Submit, batched by its writer) is moved to
// PostgreSQL — interrupted half-way, then resumed — and back to a new SQLite file; counts, keys, statuses and the
// alert state are equal on every side, and the same sentry-go events sent
// again to an errlogd on the moved store land in the same groups.
func TestMoveStores(t *testing.T) {
	pg := pgtest.URL(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")

	rec := &recorder{}
	rc, err := sentry.NewClient(sentry.ClientOptions{Dsn: "http://0123456789abcdef0123456789abcdef@127.0.0.1:1/1", Transport: rec})
	require.NoError(t, err)
	captureGroups(rc)
	captured := rec.take()
	require.Len(t, captured, moveGroups)
	evs := make([]*event.Event, len(captured))
	raws := make([][]byte, len(captured))
	for i, c := range captured {
		b, err := json.Marshal(c)
		require.NoError(t, err)
		evs[i], err = decode.Event(b)
		require.NoError(t, err)
		raws[i] = b
	}

	start := time.Now()
	s, err := sqlite.Open(ctx, src, sqlite.Options{Writer: store.WriterOptions{Queue: 4096}})
	require.NoError(t, err)
	p, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	// One goroutine per group, each submitting its group's events as
	// ingest would (the JSON as received, a new event id each): the
	// writer commits them in batches of up to 500.
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for g := 0; g < moveGroups; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < moveEvents; i += moveGroups {
				ev := *evs[g]
				ev.EventID = event.NewID()
				raw := bytes.Replace(raws[g], []byte(evs[g].EventID), []byte(ev.EventID), 1)
				in, err := store.Prepare(p, &ev, raw, time.Now())
				if err == nil {
					err = s.Submit(ctx, in)
				}
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	// State beyond events: a status, an alert rule, an outbox row, a
	// ticket, a mute.
	require.NoError(t, alert.Migrate(ctx, s), "alert's tables, as a running errlogd makes them")
	require.NoError(t, s.ExecSQL(ctx, `UPDATE event_groups SET status = 'resolved' WHERE id % 10 = 0`))
	require.NoError(t, s.ExecSQL(ctx, `INSERT INTO alert_rules (project_id, name, rule, updated_ms) VALUES (1, 'new', '{"name":"new"}', 1)`))
	require.NoError(t, s.ExecSQL(ctx, `INSERT INTO alert_outbox (dedup, project_id, group_id, rule, action_index, dest, reason, event_id, total, created_ms, due_ms, state, attempts, last_error)
VALUES ('d1', 1, 5, 'new', 0, 'mail:ops@example.com', 'new', 5, 1, 1, 1, 'pending', 2, 'refused')`))
	require.NoError(t, s.ExecSQL(ctx, `INSERT INTO group_tickets (group_id, ticketer, state, url, created_ms) VALUES (7, 'gh', 'created', 'https://example.com/7', 1)`))
	require.NoError(t, s.ExecSQL(ctx, `INSERT INTO group_alerting (group_id, muted_until_ms, acknowledged) VALUES (9, 99, 1)`))
	require.NoError(t, s.Close(ctx))
	t.Logf("built a store of %d events in %d groups in %v", moveEvents, moveGroups, time.Since(start).Round(time.Millisecond))
	want := summary(t, "sqlite", src)
	require.Equal(t, moveGroups, len(want.groups))

	// Interrupted half-way: the destination fails the batch holding the
	// event with id moveEvents/2, as a lost connection or a full disk
	// would (a crash is the same to the destination: batches committed
	// before it stay, the one under way rolls back).
	createStore(t, pg)
	pdb, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	defer pdb.Close()
	_, err = pdb.Exec(fmt.Sprintf(`CREATE FUNCTION stop_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.id > %d THEN RAISE EXCEPTION 'test: the connection is lost'; END IF; RETURN NEW; END $$;
CREATE TRIGGER stop_move BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION stop_move()`, moveEvents/2))
	require.NoError(t, err)
	progress := regexp.MustCompile(`(?m)^errlogd move: events (\d+)/(\d+) \(\d+%\), \d+ rows/s, about \S+ left$`)
	_, errs, code := errlogd(t, nil, "move", "-from", src, "-to", pg, "-progress-every", fmt.Sprint(moveEvents/10))
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "test: the connection is lost")
	assert.Regexp(t, progress, errs, "progress lines with a rate and an estimate")
	partial := summary(t, "pgx", pg)
	t.Logf("interrupted with %d of %d events moved", partial.events, moveEvents)
	require.Greater(t, partial.events, int64(0))
	require.LessOrEqual(t, partial.events, int64(moveEvents/2))
	_, err = pdb.Exec(`DROP TRIGGER stop_move ON events`)
	require.NoError(t, err)

	// ... refused without -force by another source, resumed by the same.
	other := filepath.Join(dir, "other.db")
	createStore(t, other)
	_, errs, code = errlogd(t, nil, "move", "-from", other, "-to", pg)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "the destination holds data")
	start = time.Now()
	out, errs, code := errlogd(t, nil, "move", "-from", src, "-to", pg, "-progress-every", fmt.Sprint(moveEvents/10))
	require.Equal(t, 0, code, errs)
	t.Logf("resumed in %v: %s%s", time.Since(start).Round(time.Millisecond), errs, out)
	assert.Contains(t, out, "(resumed)")
	assert.Equal(t, want, summary(t, "pgx", pg), "PostgreSQL holds what SQLite did, once")

	// And back, into a new SQLite file.
	back := filepath.Join(dir, "back.db")
	start = time.Now()
	out, errs, code = errlogd(t, nil, "move", "-from", pg, "-to", back)
	require.Equal(t, 0, code, errs)
	t.Logf("moved back in %v: %s", time.Since(start).Round(time.Millisecond), out)
	assert.Equal(t, want, summary(t, "sqlite", back), "back in SQLite, the same")
	// A finished move is not repeated into a full store without -force.
	_, errs, code = errlogd(t, nil, "move", "-from", pg, "-to", back)
	assert.Equal(t, 2, code, errs)
	_, errs, code = errlogd(t, nil, "move", "-from", pg, "-to", back, "-force")
	assert.Equal(t, 0, code, errs)
	assert.Equal(t, want, summary(t, "sqlite", back), "-force replaced it")

	// The same sentry-go events, sent again to errlogd on the moved
	// store, land in the same groups: every DSN and group key kept.
	srv := start2(t, pg)
	dsn := fmt.Sprintf("http://%s@%s/1", want.keys[0], strings.TrimPrefix(srv.base, "http://"))
	// The synchronous transport: the default one drops what exceeds its
	// buffer of 30 events.
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Transport: sentry.NewHTTPSyncTransport()})
	require.NoError(t, err)
	captureGroups(client)
	require.True(t, client.Flush(30*time.Second))
	var after moveSummary
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		after = summary(t, "pgx", pg)
		if after.events == want.events+moveGroups {
			break
		}
	}
	srv.stop(t)
	require.Equal(t, want.events+moveGroups, after.events)
	require.Equal(t, len(want.groups), len(after.groups), "no group split or added")
	for k, g := range want.groups {
		a := after.groups[k]
		assert.Equal(t, g.count+1, a.count, "group %s", k)
	}
}

func start2(t *testing.T, db string) *proc {
	return start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", db, "-retention-days", "0", "-max-events-per-group", "0")
}

type groupSummary struct {
	count                      int64
	status                     string
	firstSeen, lastSeen, users int64
}

type moveSummary struct {
	keys   []string
	groups map[string]groupSummary // by key
	events int64
	// Rows of the alert tables, as text.
	alerts []string
}

// summary reads what a move must keep, straight from the database.
func summary(t *testing.T, driver, dsn string) moveSummary {
	t.Helper()
	if driver == "sqlite" {
		dsn = "file:" + dsn + "?mode=ro"
	}
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	defer db.Close()
	var s moveSummary
	rows, err := db.Query(`SELECT public_key FROM projects ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		s.keys = append(s.keys, k)
	}
	rows.Close()
	s.groups = map[string]groupSummary{}
	rows, err = db.Query(`SELECT key, count, status, first_seen, last_seen, users FROM event_groups`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		var g groupSummary
		require.NoError(t, rows.Scan(&k, &g.count, &g.status, &g.firstSeen, &g.lastSeen, &g.users))
		s.groups[k] = g
	}
	rows.Close()
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM events`).Scan(&s.events))
	for _, q := range []string{
		`SELECT project_id || ' ' || name || ' ' || rule FROM alert_rules`,
		`SELECT group_id || ' ' || dest || ' ' || state || ' ' || attempts || ' ' || last_error FROM alert_outbox`,
		`SELECT group_id || ' ' || ticketer || ' ' || state || ' ' || url FROM group_tickets`,
		`SELECT group_id || ' ' || muted_until_ms || ' ' || acknowledged FROM group_alerting`,
	} {
		rows, err := db.Query(q)
		require.NoError(t, err)
		for rows.Next() {
			var r string
			require.NoError(t, rows.Scan(&r))
			s.alerts = append(s.alerts, r)
		}
		rows.Close()
	}
	return s
}

// A move names its PostgreSQL source by user, host, port, database and
// search_path: two databases on one server are two sources. It named them
// by scheme and host only, so that an unfinished move from one was
// "resumed" from the other (mixing two stores), and a move between two
// databases of one server was refused as from a store to itself.
func TestMoveTellsPostgresDatabasesApart(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.URL(t), pgtest.URL(t)
	for i, u := range []string{a, b} {
		st, err := postgres.Open(ctx, u, postgres.Options{})
		require.NoError(t, err)
		_, err = st.CreateProject(ctx, []string{"from-a", "from-b"}[i])
		require.NoError(t, err)
		require.NoError(t, st.Close(ctx))
	}
	noEnv := func(string) string { return "" }
	dst := filepath.Join(t.TempDir(), "dst.db")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"move", "-from", a, "-to", dst}, noEnv, &out, &errb), errb.String())
	db, err := sql.Open("sqlite", dst)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE store_moves SET finished_ms = 0`) // as if killed before its end
	require.NoError(t, err)
	var source string
	require.NoError(t, db.QueryRow(`SELECT source FROM store_moves`).Scan(&source))
	db.Close()
	u, err := url.Parse(a)
	require.NoError(t, err)
	if pw, ok := u.User.Password(); ok {
		assert.NotContains(t, source, ":"+pw+"@", "no password in it")
	}
	assert.Contains(t, source, "search_path="+u.Query().Get("search_path"))

	out.Reset()
	errb.Reset()
	assert.NotEqual(t, 0, run(ctx, []string{"move", "-from", b, "-to", dst}, noEnv, &out, &errb), "another store's unfinished move is not resumed")
	assert.NotContains(t, out.String(), "(resumed)")
	assert.Contains(t, errb.String(), "has projects, groups or events")

	out.Reset()
	errb.Reset()
	assert.Equal(t, 0, run(ctx, []string{"move", "-from", a, "-to", b, "-force"}, noEnv, &out, &errb), "two databases of one server are two stores: %s", errb.String())
}
