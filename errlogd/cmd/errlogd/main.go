// Command errlogd is a Sentry-compatible error tracker in one binary:
// ingest for the stock Sentry SDKs and errlog's tracker, grouping, a
// SQLite (default) or PostgreSQL store, and a JSON API.
//
//	errlogd -addr 127.0.0.1:8131 -db errlog.db
//	errlogd -addr :8131 -db postgres://user:pass@host/db   (ERRLOGD_ADMIN_PASSWORD required off loopback)
//	errlogd project add NAME | errlogd project list
//	errlogd backup -db errlog.db -o snapshot.db
//	errlogd move -from errlog.db -to postgres://…
//	errlogd version
//	errlogd test -dsn DSN
//	errlogd bench -dsn DSN -size 50000 -duration 5s
//
// Run errlogd -h for every flag and environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/errlog/errlog/errlogd/api"
	"github.com/errlog/errlog/errlogd/dashboard"
	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/tracker"
	"github.com/errlog/errlog/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// config is what flags and variables set.
// minPassword is the length under which an admin password on a public
// address is said to be weak (not refused: an upgrade must not stop an
// errlogd that ran).
const minPassword = 12

type config struct {
	addr, db, prefix, publicURL string
	traceURL                    string // ERRLOGD_TRACE_URL: trace links (trace.go)
	scrubKeys                   string // ERRLOGD_SCRUB_KEYS: see flags
	retentionDays, perGroup     int
	retentionEvery              time.Duration
	// say writes store failures on stderr, each text once a minute.
	say         func(string)
	minFreeMB   uint64
	queue       int
	password    string
	cpuProfile  string
	alerts      alertConfig
	version     bool
	metricsAddr string
	// onCommit is told of each batch the store's writer commits (metrics).
	onCommit func(events int, took time.Duration, err error)
	// inFlight is the ingest handler's InFlight, once it exists.
	inFlight func() int
	// oweCounts: this process serves, so it owes counts: on SQLite if it
	// gets the owner lock (sqlite.Options.OweCounts), on PostgreSQL under
	// an id of its own (postgres.Options.OweCounts).
	oweCounts bool
	// onRetain is told of the events each retention run deleted.
	onRetain func(events int64)
}

// defaultAddr is errlogd's own port, not the 8080 of every other
// development server (the quickstart's among them).
const defaultAddr = "127.0.0.1:8131"

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

const usageText = `usage:
  errlogd [serve] [flags]             serve ingest, the API and the dashboard
  errlogd project add NAME [-db …]    add a project and print its DSN
  errlogd project list [-db …]        list projects and their DSNs
  errlogd project set ID [flags]      -name, -rate-limit N/min, -in-app PREFIX,…, -disabled
  errlogd test -dsn DSN               send one test event to a tracker
  errlogd bench -dsn DSN [flags]      load generator (errlogd bench -h)
  errlogd yardstick [-addr …]         a server that only gunzips what it gets: bench's yardstick
  errlogd backup -db FILE -o SNAPSHOT a consistent copy of a running SQLite store
  errlogd move -from DB -to DB        copy a store, SQLite to PostgreSQL or back
  errlogd health [-addr …]            exit 0 when a running errlogd answers (HEALTHCHECK)
  errlogd version                     the binary's version and store schema
  errlogd help                        this text

Environment variables (a flag wins over its variable):
  ERRLOGD_ADDR                 -addr
  ERRLOGD_DB                   -db
  ERRLOGD_PREFIX               -prefix
  ERRLOGD_PUBLIC_URL           -public-url
  ERRLOGD_RETENTION_DAYS       -retention-days
  ERRLOGD_MAX_EVENTS_PER_GROUP -max-events-per-group
  ERRLOGD_MIN_FREE_MB          -min-free-mb
  ERRLOGD_TRACE_URL            -trace-url      the tracing UI's address of a trace, {trace_id} replaced:
                               links in the dashboard and alert mail (docs/tracing.md)
  ERRLOGD_SCRUB_KEYS           -scrub-keys     more keys whose values are removed from stock SDKs'
                               events ("off": none removed; docs/security.md)
  ERRLOGD_METRICS_ADDR         -metrics-addr (metrics are always at PREFIX/metrics, behind the password)
  ERRLOGD_ADMIN_PASSWORD       the admin password of the dashboard (login form) and the
                               JSON API (HTTP Basic, user admin). Without it errlogd
                               refuses to listen on a non-loopback address.
` + alertUsage + `
Flags:
`

func flags(name string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *config) {
	c := &config{password: getenv("ERRLOGD_ADMIN_PASSWORD")}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", envOr(getenv, "ERRLOGD_ADDR", defaultAddr), "listen address")
	fs.StringVar(&c.db, "db", envOr(getenv, "ERRLOGD_DB", "errlog.db"), "SQLite file, or a postgres:// URL")
	fs.StringVar(&c.prefix, "prefix", envOr(getenv, "ERRLOGD_PREFIX", "/dev/error"), "URL path prefix of ingest, the JSON API and the dashboard")
	fs.StringVar(&c.publicURL, "public-url", getenv("ERRLOGD_PUBLIC_URL"), "scheme://host[:port] clients reach errlogd at, for printed DSNs and the links in alerts (default http://<addr>, an unspecified host such as :8131's or 0.0.0.0 written as localhost, which other machines cannot reach)")
	fs.IntVar(&c.retentionDays, "retention-days", envInt(getenv, "ERRLOGD_RETENTION_DAYS", 90), "delete events received longer ago (0: keep)")
	fs.IntVar(&c.perGroup, "max-events-per-group", envInt(getenv, "ERRLOGD_MAX_EVENTS_PER_GROUP", 10000), "keep only the newest N events of each group, counts preserved (0: all)")
	fs.DurationVar(&c.retentionEvery, "retention-interval", time.Hour, "how often retention runs")
	fs.Uint64Var(&c.minFreeMB, "min-free-mb", uint64(envInt(getenv, "ERRLOGD_MIN_FREE_MB", 256)), "refuse events (429) when the SQLite file's disk has less free space (MiB; 0: no check)")
	fs.IntVar(&c.queue, "queue", 10000, "events waiting for the writer before ingest answers 429")
	fs.StringVar(&c.scrubKeys, "scrub-keys", getenv("ERRLOGD_SCRUB_KEYS"), `keys, comma-separated, whose values errlogd replaces with [Filtered] in stock SDKs' events, besides errlog's mask keys (docs/security.md); "off": store events as sent`)
	fs.StringVar(&c.traceURL, "trace-url", getenv("ERRLOGD_TRACE_URL"), "tracing UI link of a trace, with {trace_id} (and {span_id}): https://tempo.example.com/explore?traceId={trace_id}")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for performance work)")
	c.alerts.register(fs, getenv)
	fs.BoolVar(&c.version, "version", false, "print the version and store schema, and exit")
	fs.StringVar(&c.metricsAddr, "metrics-addr", getenv("ERRLOGD_METRICS_ADDR"), "serve Prometheus metrics at http://ADDR/metrics, without a password (default: only at PREFIX/metrics, behind the admin password)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	return fs, c
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "project":
			return runProject(ctx, args[1:], getenv, stdout, stderr)
		case "test":
			return runTest(args[1:], getenv, stdout, stderr)
		case "bench":
			return runBench(ctx, args[1:], stdout, stderr)
		case "yardstick":
			return runYardstick(ctx, args[1:], stdout, stderr)
		case "backup":
			return runBackup(ctx, args[1:], stdout, stderr)
		case "move":
			return runMove(ctx, args[1:], stdout, stderr)
		case "health":
			return runHealth(ctx, args[1:], getenv, stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, versionLine())
			return 0
		case "help":
			if len(args) > 1 && args[1] != "serve" && args[1] != "help" { // errlogd help move
				return run(ctx, []string{args[1], "-h"}, getenv, stdout, stderr)
			}
			fs, _ := flags("errlogd", getenv, stdout)
			fs.Usage()
			return 0
		case "serve":
			args = args[1:]
		}
	}
	fs, c := flags("errlogd", getenv, stderr)
	// A mistyped flag gets the flag package's one line and a pointer to
	// the usage, not the whole usage.
	usage := fs.Usage
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return 0
		}
		fmt.Fprintln(stderr, "errlogd: errlogd -h lists the flags")
		return 2
	}
	if c.version {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "errlogd: unknown command %q: errlogd help lists the commands\n", fs.Arg(0))
		return 2
	}
	if err := checkEnv(getenv); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if c.retentionEvery <= 0 {
		fmt.Fprintf(stderr, "errlogd: -retention-interval %v: want a positive duration (1h: hourly)\n", c.retentionEvery)
		return 2
	}
	var err error
	if c.prefix, err = normPrefix(c.prefix); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "errlogd:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "errlogd:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := serve(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ error }

// openStore opens the -db store; its writer's failures (a commit, the
// search index's catch-up) are written to stderr.
func openStore(ctx context.Context, c *config, stderr io.Writer) (store.Store, error) {
	if c.say == nil {
		c.say = sayOnce(stderr, time.Minute)
	}
	say := c.say
	wo := store.WriterOptions{Queue: c.queue, OnCommit: c.onCommit, InFlight: c.inFlight, OnError: func(err error) { say("errlogd: " + err.Error()) }}
	if strings.HasPrefix(c.db, "postgres://") || strings.HasPrefix(c.db, "postgresql://") {
		return postgres.Open(ctx, c.db, postgres.Options{Writer: wo, OweCounts: c.oweCounts})
	}
	return sqlite.Open(ctx, c.db, sqlite.Options{Writer: wo, OweCounts: c.oweCounts})
}

func (c *config) dsn(p store.Project, addr string) string {
	base := c.publicURL
	if base == "" {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified()) {
			addr = net.JoinHostPort("localhost", port)
		}
		base = "http://" + addr
	}
	u := strings.TrimSuffix(base, "/")
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		scheme, rest = "http", u
	}
	return fmt.Sprintf("%s://%s@%s%s/%d", scheme, p.PublicKey, rest, strings.TrimSuffix(c.prefix, "/"), p.ID)
}

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT says
// otherwise: the GC works harder near it instead of letting a burst of
// large events double the heap.
const defaultMemoryLimit = 40 << 20

func serve(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	if err := checkTraceURL(c.traceURL); err != nil {
		return usageError{err}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("errlogd: listen: %w", err)
	}
	defer ln.Close()
	if c.password != "" && strings.TrimSpace(c.password) == "" {
		// A password of spaces is a password nobody chose: as none.
		c.password = ""
		fmt.Fprintln(stderr, "errlogd: ERRLOGD_ADMIN_PASSWORD is blank: taken as unset")
	}
	if c.password == "" && !api.IsLoopback(ln.Addr().String()) {
		// Named as given: the listener says "[::]:8131" for 0.0.0.0:8131.
		addr := c.addr
		if host, _, err := net.SplitHostPort(addr); err == nil && host == "" {
			addr += " (every interface)"
		}
		return usageError{fmt.Errorf("errlogd: refusing to listen on %s, not a loopback address, without ERRLOGD_ADMIN_PASSWORD: set it, or use -addr 127.0.0.1:PORT", addr)}
	}
	if n := utf8.RuneCountInString(c.password); n > 0 && n < minPassword && !api.IsLoopback(ln.Addr().String()) {
		fmt.Fprintf(stderr, "errlogd: ERRLOGD_ADMIN_PASSWORD has %d characters, and anyone who reaches %s may try it: use %d or more\n", n, c.addr, minPassword)
	}
	created, err := checkNewDB(c.db)
	if err != nil {
		return err
	}
	m := newMetrics()
	c.onCommit = m.commit
	var ingestP atomic.Pointer[ingest.Handler] // the writer starts before ingest exists
	c.inFlight = func() int {
		if h := ingestP.Load(); h != nil {
			return h.InFlight()
		}
		return 0
	}
	c.oweCounts = true
	st, err := openStore(ctx, c, stderr)
	if err != nil {
		return openErr(c.db, err)
	}
	if s, ok := st.(*sqlite.Store); ok && !s.OwesCounts() {
		fmt.Fprintf(stderr, "errlogd: another process holds %s-owner: this one writes every batch's counts with it, more slowly; run one errlogd per SQLite file (several share PostgreSQL)\n", dbName(c.db))
	}
	if created {
		fmt.Fprintf(stderr, "errlogd: created the database %s\n", dbName(c.db))
	}
	closeStore := func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return st.Close(cctx)
	}
	ps, err := st.Projects(ctx)
	if err != nil {
		closeStore()
		return err
	}
	if len(ps) == 0 {
		p, err := st.CreateProject(ctx, "default")
		if err != nil {
			closeStore()
			return err
		}
		fmt.Fprintf(stdout, "errlogd: created project %q; its DSN:\n%s\n", p.Name, c.dsn(*p, ln.Addr().String()))
	}

	notifier, err := startAlerts(st, c, ln.Addr().String(), stderr)
	if err != nil {
		closeStore()
		return err
	}
	if notifier != nil {
		storeOnly := closeStore
		closeStore = func() error {
			// The notifier's hook runs in each commit, and in the
			// writing of the counts owed: it stays attached until the
			// store is closed, or those events' new groups and
			// regressions would go unannounced. Its sender stops first,
			// so that it reads no closed store; what the last commits
			// put in the outbox is sent by the next start.
			notifier.Stop()
			err := storeOnly()
			notifier.Close()
			return err
		}
	}

	ing := ingest.New(st, ingest.Options{FreeSpace: c.freeCheck(), MinFree: c.minFreeMB << 20, Scrub: c.scrubber(stderr), OnError: func(err error) {
		// Mostly what the store's writer said already (a failed commit
		// fails each of its events): said once a minute with it.
		if c.say != nil {
			c.say("errlogd: " + err.Error())
		}
	}})
	prefix := strings.TrimSuffix(c.prefix, "/")
	mux := http.NewServeMux()
	ingestP.Store(ing)
	m.ingest, m.st = ing, st
	c.onRetain = func(n int64) { m.retention.Add(n) }
	counted := m.countBytes(ing)
	for _, ep := range ingest.Endpoints() {
		mux.Handle(prefix+"/api/{project}/"+ep+"/", counted)
		mux.Handle(prefix+"/api/{project}/"+ep, counted)
	}
	guesses := &api.Guesses{} // one limit of password guesses for the API, the dashboard and the metrics
	m.limit = guesses
	mux.Handle("GET "+prefix+"/metrics", m.handler(c.password, true))
	stopMetrics, err := serveMetrics(c.metricsAddr, m, stderr)
	if err != nil {
		closeStore()
		return err
	}
	defer stopMetrics()
	mux.Handle(prefix+"/api/", api.New(st, api.Options{Prefix: prefix, Password: c.password, Guesses: guesses}))
	// The dashboard takes the rest of the prefix; the API and ingest routes
	// above are more specific, so they win.
	mux.Handle(prefix+"/", dashboard.Handler(st, dashboard.Options{Prefix: prefix, Password: c.password, Alerts: notifier, TraceURL: c.traceURL, Guesses: guesses}))
	mux.HandleFunc("GET "+prefix+"/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Health(r.Context()); err != nil {
			// The details (a path) are on stderr, not for anyone asking.
			reason := "the store cannot take writes"
			if errors.Is(err, store.ErrLost) {
				reason = store.ErrLost.Error()
			}
			http.Error(w, reason, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	fmt.Fprintf(stderr, "errlogd: listening on http://%s%s/ (store %s)\n", ln.Addr(), prefix, redactDB(c.db))

	retainCtx, stopRetain := context.WithCancel(context.Background())
	retainDone := make(chan struct{})
	go func() {
		defer close(retainDone)
		retain(retainCtx, st, c, stderr)
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopRetain()
		<-retainDone
		closeStore()
		return fmt.Errorf("errlogd: serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "errlogd: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	serr := srv.Shutdown(sctx) // in-flight requests finish
	stopRetain()
	<-retainDone
	if err := errors.Join(serr, closeStore()); err != nil {
		return fmt.Errorf("errlogd: shutdown: %w", err)
	}
	fmt.Fprintln(stderr, "errlogd: stopped")
	return nil
}

func retain(ctx context.Context, st store.Store, c *config, stderr io.Writer) {
	if c.retentionDays <= 0 && c.perGroup <= 0 {
		return
	}
	t := time.NewTicker(c.retentionEvery)
	defer t.Stop()
	for {
		start := time.Now()
		res, err := st.Retain(ctx, store.Retention{MaxAge: time.Duration(c.retentionDays) * 24 * time.Hour, MaxPerGroup: c.perGroup})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(stderr, err)
		} else if err == nil && res.Events > 0 {
			fmt.Fprintf(stderr, "errlogd: retention deleted %d events in %d batches, %.1f s deleting of %.1f s\n",
				res.Events, res.Batches, res.Busy.Seconds(), time.Since(start).Seconds())
			if c.onRetain != nil {
				c.onRetain(res.Events)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func redactDB(db string) string {
	if strings.Contains(db, "://") {
		return wire.RedactURL(db)
	}
	return db
}

// runTest is cmd/errlog-test inside errlogd.
func runTest(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("errlogd test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("dsn", getenv("ERRLOG_DSN"), "the tracker's DSN (default $ERRLOG_DSN)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the tracker")
	env := fs.String("environment", getenv("ERRLOG_ENVIRONMENT"), "the event's environment")
	release := fs.String("release", getenv("ERRLOG_RELEASE"), "the event's release")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dsn == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: errlogd test -dsn DSN (or ERRLOG_DSN)")
		return 2
	}
	err := tracker.Test(context.Background(), tracker.Options{DSN: *dsn, Timeout: *timeout, Environment: *env, Release: *release})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	where := wire.RedactURL(*dsn)
	if d, err := wire.ParseDSN(*dsn); err == nil {
		where = d.Redacted()
	}
	fmt.Fprintf(stdout, "ok: %s accepted the test event\n", where)
	return 0
}

// scrubber is ingest's Scrubber of c.scrubKeys; nil when one of them is
// "off". A key of two letters or fewer is skipped, and said so: "id"
// would filter every event_id and trace_id.
func (c *config) scrubber(stderr io.Writer) *ingest.Scrubber {
	var keys []string
	for _, k := range strings.Split(c.scrubKeys, ",") {
		k = strings.TrimSpace(k)
		switch n := len(strings.NewReplacer("-", "", "_", "", ".", "", " ", "").Replace(k)); {
		case strings.EqualFold(k, "off"):
			return nil
		case n == 0:
		case n <= 2:
			fmt.Fprintf(stderr, "errlogd: -scrub-keys: %q skipped: a key of two letters or fewer would filter the event's own fields (event_id, trace_id)\n", k)
		default:
			keys = append(keys, k)
		}
	}
	return ingest.NewScrubber(keys)
}

// sayOnce writes a line at most once per window for the same text, then
// how many times it repeated meanwhile: a full disk under load is one
// failure, not a line per batch.
func sayOnce(w io.Writer, window time.Duration) func(string) {
	var mu sync.Mutex
	type seen struct {
		at      time.Time
		repeats int
	}
	last := map[string]*seen{}
	return func(line string) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if s, ok := last[line]; ok && now.Sub(s.at) < window {
			s.repeats++
			return
		} else if ok && s.repeats > 0 {
			fmt.Fprintf(w, "%s (and %d more times in %s)\n", line, s.repeats, now.Sub(s.at).Round(time.Second))
		} else {
			fmt.Fprintln(w, line)
		}
		if len(last) > 100 {
			last = map[string]*seen{}
		}
		last[line] = &seen{at: now}
	}
}
