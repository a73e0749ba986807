package main

import (
	"context"
	"database/sql"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// createStore makes an empty store, as a first errlogd serve would.
func createStore(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	var err error
	if isPostgres(db) {
		st, err = postgres.Open(ctx, db, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, db, sqlite.Options{})
	}
	require.NoError(t, err)
	require.NoError(t, st.Close(ctx))
}

// errlogd runs the binary to its end: stdout, stderr, exit code.
func errlogd(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(errlogdBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), code
}

// TestCommandWords: help, version and serve are words; -version is a flag;
// each command's -h prints that command's usage.
func TestCommandWords(t *testing.T) {
	out, errs, code := errlogd(t, nil, "help")
	assert.Equal(t, 0, code)
	assert.Empty(t, errs)
	assert.Contains(t, out, "errlogd backup -db FILE -o SNAPSHOT")
	assert.Contains(t, out, "ERRLOGD_ADMIN_PASSWORD")

	schema := fmt.Sprintf(`schema %d \(SQLite\), %d \(PostgreSQL\)`, sqlite.Schema(), postgres.Schema())
	if sqlite.Schema() == postgres.Schema() {
		schema = fmt.Sprintf(`schema %d`, sqlite.Schema())
	}
	versionLine := regexp.MustCompile(`^errlogd \S+.*, ` + schema + `, go1\.\S+ \w+/\w+\n$`)
	for _, args := range [][]string{{"version"}, {"-version"}} {
		out, errs, code := errlogd(t, nil, args...)
		assert.Equal(t, 0, code, args)
		assert.Empty(t, errs)
		assert.Regexp(t, versionLine, out, args)
	}
	// The docs show the line and the schema of this binary.
	ops, err := os.ReadFile("../../../docs/operations.md")
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`(?m)^errlogd v\S+, `+schema+`, go`), string(ops), "docs/operations.md's errlogd version")
	guide, err := os.ReadFile("../../../docs/errlogd.md")
	require.NoError(t, err)
	assert.Contains(t, strings.Join(strings.Fields(string(guide)), " "), fmt.Sprintf("later version: %d today", sqlite.Schema()), "docs/errlogd.md's migration count")
	// Every command run knows is in the usage.
	main, err := os.ReadFile("main.go")
	require.NoError(t, err)
	cases := regexp.MustCompile(`(?m)^\t\tcase "([a-z]+)":`).FindAllStringSubmatch(string(main), -1)
	require.GreaterOrEqual(t, len(cases), 10, "run's commands found in main.go")
	for _, m := range cases {
		named := strings.Contains(usageText, "  errlogd "+m[1]+" ") || strings.Contains(usageText, "  errlogd ["+m[1]+"] ")
		assert.True(t, named, "the usage names errlogd %s", m[1])
	}

	out, errs, code = errlogd(t, nil, "project", "list", "-h")
	assert.Equal(t, 0, code)
	usage := out + errs
	assert.Contains(t, usage, "errlogd project list [flags]")
	assert.Contains(t, usage, "-db")
	assert.NotContains(t, usage, "-retention-days", "project list's flags only")
	out, _, code = errlogd(t, nil, "project", "add", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "errlogd project add NAME")
	for _, cmd := range []string{"backup", "move"} {
		out, _, code := errlogd(t, nil, cmd, "-h")
		assert.Equal(t, 0, code, cmd)
		assert.Contains(t, out, "usage: errlogd "+cmd, cmd)
		out, _, code = errlogd(t, nil, "help", cmd)
		assert.Equal(t, 0, code, cmd)
		assert.Contains(t, out, "usage: errlogd "+cmd, "help "+cmd)
	}

	_, errs, code = errlogd(t, nil, "-adr", "x")
	assert.Equal(t, 2, code)
	assert.Equal(t, "flag provided but not defined: -adr\nerrlogd: errlogd -h lists the flags\n", errs)
	out, errs, code = errlogd(t, nil, "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out+errs, "-retention-days")

	_, errs, code = errlogd(t, nil, "frob")
	assert.Equal(t, 2, code)
	assert.Equal(t, 1, strings.Count(errs, "\n"), "one line, not the whole usage: %q", errs)
	assert.Contains(t, errs, `unknown command "frob"`)

	// serve as a word: the same server.
	db := filepath.Join(t.TempDir(), "e.db")
	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "serve", "-addr", "127.0.0.1:0", "-db", db)
	assert.Contains(t, p.errText(), "errlogd: created the database "+db)
	p.stop(t)
}

// TestBadEnvironment: a variable errlogd cannot use stops it with one
// line naming the variable and what it accepts.
func TestBadEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	for _, c := range []struct{ env, want string }{
		{"ERRLOGD_RETENTION_DAYS=ninety", "ERRLOGD_RETENTION_DAYS=\"ninety\": want a whole number of days"},
		{"ERRLOGD_MIN_FREE_MB=-5", "ERRLOGD_MIN_FREE_MB=\"-5\": want a whole number of MiB, 0 or more"},
		{"ERRLOGD_MAIL_DELAY=soon", "ERRLOGD_MAIL_DELAY=\"soon\": want a duration"},
		{"ERRLOGD_MAX_EVENTS_PER_GROUP=1e3", "ERRLOGD_MAX_EVENTS_PER_GROUP=\"1e3\": want a whole number"},
	} {
		out, errs, code := errlogd(t, []string{c.env}, "-addr", "127.0.0.1:0", "-db", db)
		assert.Equal(t, 2, code, c.env)
		assert.Empty(t, out)
		assert.Equal(t, "errlogd: "+c.want, strings.TrimSpace(errs)[:len("errlogd: "+c.want)], c.env)
		assert.Equal(t, 1, strings.Count(errs, "\n"), errs)
	}
	_, err := os.Stat(db)
	assert.True(t, os.IsNotExist(err), "refused before creating the store")
}

// TestPrefixNormalised: "-prefix noslash" serves at /noslash and prints
// DSNs with the slash.
func TestPrefixNormalised(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", db, "-prefix", "noslash/")
	var dsn string
	for deadline := time.Now().Add(5 * time.Second); dsn == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		dsn = regexp.MustCompile(`http://[0-9a-f]{32}@\S+`).FindString(p.outText())
	}
	assert.Regexp(t, `^http://[0-9a-f]{32}@127\.0\.0\.1:\d+/noslash/1$`, dsn)
	assert.True(t, strings.HasSuffix(p.base, "/noslash"), p.base)
	resp, err := http.Get(p.base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	p.stop(t)

	_, errs, code := errlogd(t, nil, "-db", db, "-prefix", "/a b")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "-prefix")
}

// TestProjectCommandsNeverCreate: project commands use an existing store
// and name it; names are unique; an unknown id is named with the store.
func TestProjectCommandsNeverCreate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	_, errs, code := errlogd(t, nil, "project", "add", "shop", "-db", db)
	assert.Equal(t, 1, code)
	assert.Equal(t, "errlogd: no database at "+db+": errlogd serve -db "+db+" creates one; or name an existing one with -db or ERRLOGD_DB\n", errs)
	_, err := os.Stat(db)
	assert.True(t, os.IsNotExist(err), "no database created")

	createStore(t, db)
	out, errs, code := errlogd(t, nil, "project", "add", "shop", "-db", db)
	require.Equal(t, 0, code, errs)
	assert.Regexp(t, `^http://[0-9a-f]{32}@127\.0\.0\.1:8131/dev/error/1\n$`, out, "errlogd's own port")
	assert.Equal(t, "errlogd: added project 1 \"shop\" to "+db+"\n", errs)
	_, errs, code = errlogd(t, nil, "project", "add", "shop", "-db", db)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, `already has a project named "shop" (id 1)`)
	_, _, code = errlogd(t, nil, "project", "add", "web", "-db", db)
	require.Equal(t, 0, code)
	_, errs, code = errlogd(t, nil, "project", "set", "2", "-name", "shop", "-db", db)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `already named "shop"`)
	_, errs, code = errlogd(t, nil, "project", "set", "99", "-db", db)
	assert.Equal(t, 1, code)
	assert.Equal(t, "errlogd: no project 99 in "+db+"\n", errs)
	_, errs, _ = errlogd(t, nil, "project", "list", "-db", db)
	assert.Equal(t, "errlogd: 2 projects in "+db+"\n", errs)

	// PostgreSQL: a database errlogd never ran on is not filled by a
	// project command either.
	if os.Getenv("ERRLOG_TEST_POSTGRES") != "" {
		url := pgURL(t)
		_, errs, code = errlogd(t, nil, "project", "list", "-db", url)
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "errlogd: no errlogd tables in postgres://")
	}

	// A rule naming a project the store does not have is refused when
	// the rules load.
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte("rules:\n  - name: shop-new\n    project: shopp\n    triggers: [{type: new}]\n    actions: [{type: mail}]\n"), 0o600))
	_, errs, code = errlogd(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", db, "-rules", rules, "-smtp-addr", "127.0.0.1:1", "-mail-to", "ops@example.com")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `rule "shop-new" names project "shopp", which `+db+` does not have`)
}

// TestBadDatabasePath: a database errlogd cannot create says why.
func TestBadDatabasePath(t *testing.T) {
	dir := t.TempDir()
	_, errs, code := errlogd(t, nil, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "missing", "x.db"))
	assert.Equal(t, 1, code)
	assert.Equal(t, "errlogd: cannot create the database "+filepath.Join(dir, "missing", "x.db")+": directory "+filepath.Join(dir, "missing")+" does not exist (create it, or choose another -db)\n", errs)
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, errs, _ = errlogd(t, nil, "-addr", "127.0.0.1:0", "-db", filepath.Join(file, "x.db"))
	assert.Equal(t, "errlogd: cannot create the database "+filepath.Join(file, "x.db")+": "+file+" is not a directory\n", errs)
	if os.Getuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o500))
		_, errs, _ = errlogd(t, nil, "-addr", "127.0.0.1:0", "-db", filepath.Join(ro, "x.db"))
		assert.Contains(t, errs, "directory "+ro+" is not writable by this user")
	}
}

// TestNewerSchemaRefused: a database a newer errlogd migrated is refused
// in one line naming both schemas.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "e.db")
	s, err := sqlite.Open(ctx, db, sqlite.Options{})
	require.NoError(t, err)
	newer := sqlite.Schema() + 1
	require.NoError(t, s.ExecSQL(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES (?, 0)`, newer))
	require.NoError(t, s.Close(ctx))
	for _, args := range [][]string{{"-addr", "127.0.0.1:0", "-db", db}, {"project", "list", "-db", db}} {
		_, errs, code := errlogd(t, nil, args...)
		assert.Equal(t, 1, code, args)
		assert.Regexp(t, fmt.Sprintf(`^errlogd: %s: schema %d is newer than this binary's %d \([^)]+\): a newer errlogd wrote it; run that one\n$`, regexp.QuoteMeta(db), newer, sqlite.Schema()), errs)
	}

	// PostgreSQL alike, for every process sharing the database.
	url := pgURL(t)
	createStore(t, url)
	pdb, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer pdb.Close()
	_, err = pdb.Exec(`INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, 0)`, postgres.Schema()+1)
	require.NoError(t, err)
	_, errs, code := errlogd(t, nil, "-addr", "127.0.0.1:0", "-db", url)
	assert.Equal(t, 1, code)
	assert.Regexp(t, fmt.Sprintf(`^errlogd: postgres://\S+: schema %d is newer than this binary's %d \([^)]+\): a newer errlogd wrote it; run that one\n$`, postgres.Schema()+1, postgres.Schema()), errs)
}

func pgURL(t *testing.T) string { return pgtest.URL(t) }

// storedEventIDs reads the event ids the SQLite file at path holds.
func storedEventIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	return eventIDsIn(t, db)
}

// eventIDsIn returns the event ids db holds.
func eventIDsIn(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	have := map[string]bool{}
	rows, err := db.Query(`SELECT event_id FROM events`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		have[id] = true
	}
	require.NoError(t, rows.Err())
	return have
}

// sendEvent posts one event to errlogd's store endpoint; the answer's
// status.
func sendEvent(client *http.Client, base, key, body string) (int, error) {
	req, _ := http.NewRequest("POST", base+"/api/1/store/", strings.NewReader(body))
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func firstKey(t *testing.T, p *proc) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if k := regexp.MustCompile(`http://([0-9a-f]{32})@`).FindStringSubmatch(p.outText()); k != nil {
			return k[1]
		}
	}
	t.Fatalf("no DSN printed: %q", p.outText())
	return ""
}

// TestBackupWhileIngesting: events keep arriving while errlogd backup
// copies the store; the snapshot passes integrity_check and holds every
// event acknowledged before the backup began.
func TestBackupWhileIngesting(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", db)
	key := firstKey(t, p)

	var mu sync.Mutex
	var acked []string
	var failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := event.NewID()
				code, err := sendEvent(client, p.base, key, fmt.Sprintf(`{"event_id":%q,"message":"backup load %d","level":"error","extra":{"pad":%q}}`, id, i%50, strings.Repeat("x", 2000)))
				if err != nil || code != 200 {
					failures.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for deadline := time.Now().Add(10 * time.Second); ackedCount() < 1500 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	snap := filepath.Join(dir, "snap.db")
	out, errs, code := errlogd(t, nil, "backup", "-db", db, "-o", snap)
	during := ackedCount() - len(before)
	require.Equal(t, 0, code, errs)
	assert.Regexp(t, `^errlogd: backed up \S+ to \S+snap\.db \([\d.]+ MB, schema \d+, integrity ok\) in \S+\n$`, out)
	time.Sleep(200 * time.Millisecond)
	after := ackedCount()
	close(stop)
	wg.Wait()
	p.stop(t)
	t.Logf("%d events acknowledged before the backup, %d while it ran, %d in all; %d refused", len(before), during, after, failures.Load())
	assert.Zero(t, failures.Load(), "ingest never refused")
	assert.Greater(t, after, len(before)+during, "ingest went on")

	require.NoError(t, sqlite.IntegrityCheck(context.Background(), snap))
	have := storedEventIDs(t, snap)
	missing := 0
	for _, id := range before {
		if !have[id] {
			missing++
		}
	}
	assert.Zero(t, missing, "every event acknowledged before the backup is in the snapshot (%d of %d)", len(before)-missing, len(before))
	// The snapshot is a store errlogd opens.
	s, err := sqlite.Open(context.Background(), snap, sqlite.Options{})
	require.NoError(t, err)
	st, err := s.Stats(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, st.Events, int64(len(before)))
	require.NoError(t, s.Close(context.Background()))

	// A backup never overwrites; PostgreSQL is pg_dump's.
	_, errs, code = errlogd(t, nil, "backup", "-db", db, "-o", snap)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "exists: a backup never overwrites a file")
	_, errs, code = errlogd(t, nil, "backup", "-db", "postgres://u:secret@127.0.0.1/x", "-o", filepath.Join(dir, "pg"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "pg_dump")
	assert.NotContains(t, errs, "secret")
}

// TestMetrics: after a known load, PREFIX/metrics (behind the admin
// password) and -metrics-addr count it.
func TestMetrics(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	// Alert mail to a closed port: the new group's notification fails.
	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", db, "-metrics-addr", "127.0.0.1:0",
		"-max-events-per-group", "3", "-retention-interval", "100ms",
		"-smtp-addr", "127.0.0.1:1", "-smtp-tls", "none", "-mail-to", "ops@example.com", "-mail-delay", "0")
	key := firstKey(t, p)
	var sent int64
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf(`{"event_id":%q,"message":"metrics same group","level":"error"}`, event.NewID())
		sent += int64(len(body))
		code, err := sendEvent(http.DefaultClient, p.base, key, body)
		require.NoError(t, err)
		require.Equal(t, 200, code)
	}
	for i := 0; i < 2; i++ {
		sent += int64(len("{not json"))
		code, err := sendEvent(http.DefaultClient, p.base, key, "{not json")
		require.NoError(t, err)
		require.Equal(t, 400, code)
	}
	code, err := sendEvent(http.DefaultClient, p.base, strings.Repeat("0", 32), `{"message":"x"}`)
	require.NoError(t, err)
	require.Equal(t, 401, code)

	scrape := func(url string, auth bool) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if auth {
			req.SetBasicAuth("admin", "pw")
		}
		req.Header.Set("X-Forwarded-For", "192.0.2.1") // as through a proxy
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := 0; i < 8; i++ { // more than the guesses a client has a minute
		code, _ = scrape(p.base+"/metrics", false)
		assert.Equal(t, 401, code, "not open to the world")
	}
	// A scrape without a password is no password guess: the admin (the
	// same address, behind the same proxy) still gets in below.
	var text string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		code, text = scrape(p.base+"/metrics", true)
		require.Equal(t, 200, code)
		if strings.Contains(text, "errlogd_retention_deleted_events_total 2\n") && strings.Contains(text, `errlogd_alert_outbox{state="retrying"} 1`) {
			break
		}
	}
	for _, want := range []string{
		"errlogd_events_accepted_total 5\n",
		`errlogd_events_refused_total{reason="malformed"} 2` + "\n",
		`errlogd_events_refused_total{reason="unauthorized"} 1` + "\n",
		`errlogd_events_refused_total{reason="queue_full"} 0` + "\n",
		"errlogd_queue_depth 0\n",
		"errlogd_commit_failed_events_total 0\n",
		"errlogd_retention_deleted_events_total 2\n",
		`errlogd_alert_outbox{state="failed"} 0` + "\n",
		`errlogd_alert_outbox{state="retrying"} 1` + "\n",
		`errlogd_alert_outbox{state="pending"} 0` + "\n",
		"# TYPE errlogd_commit_seconds histogram\n",
		"go_goroutines ",
	} {
		assert.Contains(t, text, want)
	}
	assert.Regexp(t, `errlogd_commit_seconds_count [1-5]\n`, text, "5 events in at most 5 commits")
	m := regexp.MustCompile(`errlogd_ingest_bytes_total (\d+)\n`).FindStringSubmatch(text)
	require.NotNil(t, m)
	assert.Equal(t, fmt.Sprint(sent+int64(len(`{"message":"x"}`))), m[1], "request bodies as sent")

	maddr := regexp.MustCompile(`metrics on (http://\S+/metrics)`).FindStringSubmatch(p.errText())
	require.NotNil(t, maddr, p.errText())
	code, text2 := scrape(maddr[1], false)
	assert.Equal(t, 200, code)
	assert.Contains(t, text2, "errlogd_events_accepted_total 5\n")
	p.stop(t)
}

// TestHealthCommand: errlogd health, the image's HEALTHCHECK, answers 0
// for a running errlogd and 1 once it stopped.
func TestHealthCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", db, "-prefix", "/errors")
	addr := strings.TrimSuffix(strings.TrimPrefix(p.base, "http://"), "/errors")
	out, errs, code := errlogd(t, []string{"ERRLOGD_PREFIX=/errors", "ERRLOGD_ADDR=" + addr}, "health")
	assert.Equal(t, 0, code, errs)
	assert.Equal(t, p.base+"/healthz: ok\n", out)
	_, port, _ := strings.Cut(addr, ":")
	_, errs, code = errlogd(t, nil, "health", "-addr", "0.0.0.0:"+port, "-prefix", "errors")
	assert.Equal(t, 0, code, "an unspecified address is asked on loopback: %s", errs)
	p.stop(t)
	_, errs, code = errlogd(t, nil, "health", "-addr", addr, "-prefix", "/errors")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "errlogd health: ")
}

// TestStaticBinary: the binary the tests run is built as the image's
// (CGO_ENABLED=0): no interpreter, no dynamic section, no shared
// libraries.
func TestStaticBinary(t *testing.T) {
	f, err := elf.Open(errlogdBin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "no program interpreter")
		assert.NotEqual(t, elf.PT_DYNAMIC, p.Type, "no dynamic section")
	}
	assert.Nil(t, f.Section(".dynamic"))
	libs, _ := f.ImportedLibraries()
	assert.Empty(t, libs)
}

// TestDeployFiles: deploy/errlogd.service and the backup service and
// timer pass systemd-analyze verify (their ExecStart pointed at the built
// binary), and the Dockerfile
// builds with CGO_ENABLED=0, runs as a non-root user, keeps the store in
// a volume and checks health with errlogd health.
func TestDeployFiles(t *testing.T) {
	root := filepath.Join("..", "..", "..", "deploy")
	unit, err := os.ReadFile(filepath.Join(root, "errlogd.service"))
	require.NoError(t, err)
	for _, s := range []string{"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=errlogd", "ExecStart=/usr/local/bin/errlogd serve"} {
		assert.Contains(t, string(unit), s)
	}
	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	for _, s := range []string{"CGO_ENABLED=0", "USER 65532:65532", "VOLUME /data", `HEALTHCHECK`, `"/errlogd", "health"`, "FROM scratch"} {
		assert.Contains(t, string(docker), s)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing, and CI=true: .ci/run installs Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed (Debian: apt-get install systemd)")
	}
	dir := t.TempDir()
	args := []string{"verify"}
	for _, name := range []string{"errlogd.service", "errlogd-backup.service", "errlogd-backup.timer"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/errlogd", errlogdBin)), 0o644))
		args = append(args, path)
	}
	cmd := exec.Command(analyze, args...)
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, string(out))
	assert.Empty(t, strings.TrimSpace(string(out)), "no warnings (an unknown key is only a warning)")
}
