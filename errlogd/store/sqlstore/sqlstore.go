// Package sqlstore is the store.Store both SQL databases share: the SQL
// is one text, written with ? placeholders and a few dialect words, so
// that SQLite and PostgreSQL answer the conformance suite alike. What
// differs is said by a Dialect's words and capabilities (OneWriter,
// Arrays, RowLocks), never by branching on its name.
//
// # Lifetime
//
// A DB has one writer goroutine, which commits the queued events in
// batches and owns the database's lifetime: Close asks it to write what
// is queued, and the goroutine itself closes the pools when it is done,
// so nothing is closed under a commit. A Close whose deadline ends first
// returns, and the goroutine rolls back its batch, answers the rest
// store.ErrClosed and closes the database after.
//
// # Lost files
//
// Config.Check (SQLite: the file's device and inode) runs before and
// after every commit and every CheckInterval: when the database file was
// deleted or replaced, commits and other writes fail with store.ErrLost,
// so no event is acknowledged into a file nobody can read, and Health
// says so.
//
// # Components
//
// A component that keeps tables of its own in the database (errlogd/alert)
// owns their migrations and SQL and reaches the database through Tables,
// and commits through a CommitHook, never through the pools.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
)

// Dialect holds what differs between the databases: words of their SQL
// and what they can do, never a name to branch on.
type Dialect struct {
	// Name names the database in messages, and the folder of a
	// component's migrations for it (Tables).
	Name string
	// OneWriter: writes go through one connection that keeps prepared
	// statements (SQLite). The multi-row statements a commit runs are then
	// statements of VALUES prepared once, for 1, 2, 4, … rows, and reused.
	OneWriter bool
	// Arrays: a commit's multi-row statements are statements of array
	// parameters (PostgreSQL's unnest), one text whatever the batch, which
	// the driver prepares once on each connection; and the new users,
	// group updates and counts are one of them (qCountsArrays). A commit
	// is then five round trips: begin, groups, events, the rest, commit.
	// A Dialect has OneWriter or Arrays.
	Arrays bool
	// RowLocks: SELECT … FOR UPDATE SKIP LOCKED lets several processes
	// claim distinct rows (PostgreSQL). Without it, one writer
	// serializes the claims (SQLite).
	RowLocks bool
	// Dollar: placeholders are $1, $2 (PostgreSQL), not ?.
	Dollar bool
	// Least and Greatest are the two-argument min and max functions.
	Least, Greatest string
	// ILike is the case-insensitive LIKE.
	ILike string
	// MigrationLock, when set, is run first in each migration
	// transaction (PostgreSQL: an advisory lock, so that two processes
	// starting at once do not both migrate).
	MigrationLock string
	// Retryable recognises transient commit errors.
	Retryable func(error) bool
	// Unavailable recognises errors of the database, not of the events
	// (a full disk, an I/O error): a batch retried event by event stops
	// at one, and none of its events is refused as bad (400).
	Unavailable func(error) bool
	// DiskBytes returns the database's size.
	DiskBytes func(ctx context.Context, db *sql.DB) (int64, error)
	// Search, when set, returns the condition and arguments that find the
	// groups whose title or culprit contains text (case-insensitive),
	// through an index; "" falls back to a LIKE scan. It may query db (the
	// read pool) to choose.
	Search func(ctx context.Context, db *sql.DB, text string) (cond string, args []any, err error)
	// CatchUp, when set, is work that need not follow each batch (the
	// search index of groups whose title changed): the writer runs it in
	// a transaction of its own between batches, after their submitters
	// have their answers, at most once every CatchUpInterval, and at
	// Close. Its errors go to WriterOptions.OnError.
	CatchUp func(ctx context.Context, tx *sql.Tx) error
	// AfterRetain reclaims space after deletes (SQLite's incremental
	// vacuum); may be nil.
	AfterRetain func(ctx context.Context, db *sql.DB) error
	// Owners, when set, lets processes that share the database owe
	// counts (counts.go, "Owed counts of several processes").
	Owners *OwnerLocks
}

// OwnerLocks are the statements through which each of several processes
// sharing a database holds a lock of its own while it lives (PostgreSQL:
// a session's advisory lock), so that another can tell a dead owner's
// owed counts from a live one's. $1 is an owner's id.
type OwnerLocks struct {
	TryLock string // takes it if it is free; selects true when it did
	Unlock  string
	// Session, when set, runs on the lock's connection before the lock
	// is taken: that session's settings (PostgreSQL: TCP keepalives, so
	// that the lock of a process whose host vanished is released within
	// a minute). Its failure is not the lock's: the lock is taken
	// anyway.
	Session string
}

// Config opens a DB.
type Config struct {
	Dialect Dialect
	// Write is the connection pool writes go through (SQLite: one
	// connection); Read serves queries. They may be the same.
	Write, Read *sql.DB
	// Migrations holds NNNN_name.sql files, applied in order.
	Migrations fs.FS
	// UpTo stops the migrations after this version (tests of upgrades);
	// 0 applies all.
	UpTo   int
	Writer store.WriterOptions
	// OnClose runs after both pools are closed.
	OnClose func() error
	// OwesCounts: a batch may leave its counts owed, and Open finds those
	// a killed process left owed (counts.go). With a OneWriter dialect,
	// this process must be the database's only writer of events (SQLite:
	// it holds the owner lock); with Dialect.Owners, any number of
	// processes may owe counts at once, each under an id of its own.
	OwesCounts bool
	// Check, when set, says whether the database is still the one
	// opened (SQLite: its file's device and inode, as a log file's): an
	// error (wrapping store.ErrLost) fails the commit it follows, so that
	// its events are refused rather than acknowledged, and Health. It runs
	// before and after each commit and every CheckInterval.
	Check func() error
}

// DB is a store.Store on database/sql.
type DB struct {
	wr      *writer // the goroutine that commits, and closes the pools
	d       Dialect
	w, r    *sql.DB
	onClose func() error
	qcache  sync.Map // string -> rebound string
	stmts   sync.Map // string -> *sql.Stmt on w

	defMu  sync.Mutex
	defPrj *store.Project

	hookMu   sync.RWMutex
	hook     CommitHook
	hookErr  func(error)
	delHooks map[string]GroupDeleteHook // by component

	caughtUp time.Time  // the last CatchUp; the writer goroutine's
	owed     owed       // counts.go; the writer goroutine's
	owes     bool       // Config.OwesCounts
	owner    *ownerLock // with Dialect.Owners: this process's id and lock
	adopted  time.Time  // the last look for dead owners; the writer goroutine's

	check  func() error
	lostMu sync.Mutex
	lost   error     // the last Check's answer
	keys   groupKeys // grouping.go
	// earlier says whether the store holds groups an earlier grouping
	// made (grouping.go): 0 not known yet, 1 yes, 2 no.
	earlier atomic.Int32
}

// CatchUpInterval is how often Dialect.CatchUp runs while events arrive.
const CatchUpInterval = time.Second

var _ store.Store = (*DB)(nil)

// Open migrates the database and starts the writer.
func Open(ctx context.Context, c Config) (*DB, error) {
	if !c.Dialect.OneWriter && !c.Dialect.Arrays {
		return nil, fmt.Errorf("errlog: store: dialect %s: neither OneWriter nor Arrays", c.Dialect.Name)
	}
	db := &DB{d: c.Dialect, w: c.Write, r: c.Read, onClose: c.OnClose, check: c.Check}
	if err := db.migrate(ctx, c.Migrations, c.UpTo); err != nil {
		return nil, err
	}
	if c.UpTo == 0 { // an old schema (upgrade tests) is written with ExecSQL only
		if err := db.prepareWrites(ctx); err != nil {
			return nil, err
		}
	}
	wo := c.Writer
	if wo.Retryable == nil {
		wo.Retryable = c.Dialect.Retryable
	}
	db.hookErr = func(error) {}
	if wo.OnError != nil {
		db.hookErr = wo.OnError
	}
	db.owes = c.OwesCounts && c.UpTo == 0 && (c.Dialect.OneWriter || c.Dialect.Owners != nil)
	switch {
	case db.owes && c.Dialect.OneWriter:
		if err := db.loadOwed(ctx); err != nil {
			return nil, err
		}
	case db.owes:
		if err := db.takeOwnerLock(ctx); err != nil {
			return nil, err
		}
		if err := db.adopt(ctx, HoldFound); err != nil {
			db.owner.release()
			return nil, err
		}
	}
	db.wr = newWriter(db.commit, db.defaultProject, wo)
	db.wr.unavailable = c.Dialect.Unavailable
	db.wr.idle = db.idle
	db.wr.stop = db.stop
	db.wr.owed = db.owed.deadline
	db.wr.settle = db.settle
	db.wr.start()
	if db.owner != nil {
		go db.adoptEvery()
	}
	if db.check != nil {
		go db.watch()
	}
	return db, nil
}

// OwesCounts says whether this store may owe counts (Config.OwesCounts).
func (db *DB) OwesCounts() bool { return db.owes }

// OwnerID is this process's id in owed_events (Dialect.Owners); 0 when
// it owes no counts there.
func (db *DB) OwnerID() int64 {
	if db.owner == nil {
		return 0
	}
	return db.owner.id
}

// Submit queues one prepared event and waits until the batch holding it
// has committed.
func (db *DB) Submit(ctx context.Context, in *store.Incoming) error { return db.wr.Submit(ctx, in) }

// Deliver implements errlog.EventSink: it records ev into the default
// project without waiting (a full queue drops it, counted).
func (db *DB) Deliver(ev *event.Event) { db.wr.Deliver(ev) }

// Flush returns when everything queued before it is committed.
func (db *DB) Flush(ctx context.Context) error { return db.wr.Flush(ctx) }

// Dropped counts the events Deliver dropped (a full queue) or Close
// abandoned.
func (db *DB) Dropped() int64 { return db.wr.Dropped() }

// Queued returns how many events wait for the writer (a metrics gauge:
// near WriterOptions.Queue, ingest starts answering 429).
func (db *DB) Queued() int { return len(db.wr.queue) }

// Failed counts the events lost to failed commits (a metrics counter).
func (db *DB) Failed() int64 { return db.wr.Failed() }

// Close writes what is queued, then closes the database. When ctx ends
// first, Close returns its error at once and abandons the rest safely:
// the writer rolls back the batch it is committing, answers what is
// queued with store.ErrClosed, and closes the database itself when it is
// done (a later Close waits for that). Closing twice is not an error.
func (db *DB) Close(ctx context.Context) error { return db.wr.Close(ctx) }

// stop closes the database, on the writer goroutine once it is done with
// the queue: nothing it uses is closed under it.
func (db *DB) stop(ctx context.Context, abandoned bool) error {
	if !abandoned {
		if err := db.settle(ctx, nil); err != nil {
			db.hookErr(err) // found again at the next Open
		}
		db.catchUp(ctx)
	}
	db.stmts.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); db.stmts.Delete(k); return true })
	db.owner.release()
	errs := []error{db.w.Close()}
	if db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	if db.onClose != nil {
		errs = append(errs, db.onClose())
	}
	return errors.Join(errs...)
}

// q rewrites a query for the dialect: ? placeholders, {least},
// {greatest}, {ilike}; the result is cached.
func (db *DB) q(s string) string {
	if v, ok := db.qcache.Load(s); ok {
		return v.(string)
	}
	out := db.rebind(s)
	db.qcache.Store(s, out)
	return out
}

// rebind is q without the cache, for queries built per batch.
func (db *DB) rebind(s string) string {
	out := strings.NewReplacer("{least}", db.d.Least, "{greatest}", db.d.Greatest, "{ilike}", db.d.ILike).Replace(s)
	if db.d.Dollar {
		var b strings.Builder
		n := 0
		for i := 0; i < len(out); i++ {
			if out[i] == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteByte(out[i])
		}
		out = b.String()
	}
	return out
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return fmt.Errorf("errlog: store: %s: %w", what, err)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Stored times are read within years 1 to 9999, which JSON can encode:
// an absurd value stored before ingest clamped timestamps must not
// break a page.
var (
	minMS = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxMS = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).UnixMilli()
)

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(min(max(v, minMS), maxMS)).UTC()
}

// ---- migrations

func (db *DB) migrate(ctx context.Context, migrations fs.FS, upTo int) error {
	return db.migrateLedger(ctx, storeLedger, migrations, upTo)
}

// ledger is where the migrations applied are recorded: the store's in
// schema_migrations, a component's (Tables) in component_migrations.
type ledger struct {
	create, applied, record, newest string
	key                             []any
}

// component is the component whose ledger l is, "" for the store's.
func (l ledger) component() string {
	if len(l.key) == 0 {
		return ""
	}
	s, _ := l.key[0].(string)
	return s
}

var storeLedger = ledger{
	create:  `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)`,
	applied: `SELECT count(*) FROM schema_migrations WHERE version = ?`,
	record:  `INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)`,
	newest:  `SELECT max(version) FROM schema_migrations`,
}

func componentLedger(component string) ledger {
	return ledger{
		create:  `CREATE TABLE IF NOT EXISTS component_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, applied_ms BIGINT NOT NULL, PRIMARY KEY (component, version))`,
		applied: `SELECT count(*) FROM component_migrations WHERE component = ? AND version = ?`,
		record:  `INSERT INTO component_migrations (component, version, applied_ms) VALUES (?, ?, ?)`,
		newest:  `SELECT max(version) FROM component_migrations WHERE component = ?`,
		key:     []any{component},
	}
}

func (db *DB) migrateLedger(ctx context.Context, l ledger, migrations fs.FS, upTo int) error {
	if err := db.createMigrationsTable(ctx, l); err != nil {
		return wrap("migrate", err)
	}
	if err := db.checkSchema(ctx, l, migrations); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return wrap("migrate", err)
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("errlog: store: migration %s: name must start with a number", name)
		}
		if upTo > 0 && v > upTo {
			break
		}
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return wrap("migrate", err)
		}
		if err := db.apply(ctx, l, v, string(body)); err != nil {
			return fmt.Errorf("errlog: store: migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) createMigrationsTable(ctx context.Context, l ledger) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, db.d.MigrationLock); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, l.create); err != nil {
		return err
	}
	return tx.Commit()
}

func (db *DB) apply(ctx context.Context, l ledger, version int, body string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, db.d.MigrationLock); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.q(l.applied), append(l.key[:len(l.key):len(l.key)], version)...).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	// One Exec runs every statement of the file (both drivers run a
	// multi-statement text without arguments), so that trigger and
	// function bodies need no splitting.
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.q(l.record), append(l.key[:len(l.key):len(l.key)], version, time.Now().UnixMilli())...); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), wrap("schema version", err)
}

// ExecSQL runs one statement written with ? placeholders on the write
// pool: for tests and maintenance, not for the application.
func (db *DB) ExecSQL(ctx context.Context, query string, args ...any) error {
	_, err := db.w.ExecContext(ctx, db.q(query), args...)
	return wrap("exec", err)
}

// ---- projects

const projectCols = `id, name, public_key, disabled, rate_limit, in_app, created_ms`

func scanProject(sc interface{ Scan(...any) error }) (*store.Project, error) {
	var p store.Project
	var disabled int64
	var inApp string
	var created int64
	if err := sc.Scan(&p.ID, &p.Name, &p.PublicKey, &disabled, &p.RateLimit, &inApp, &created); err != nil {
		return nil, err
	}
	p.Disabled = disabled != 0
	if inApp != "" {
		p.InApp = strings.Split(inApp, ",")
	}
	p.Created = fromMS(created)
	return &p, nil
}

// CreateProject adds a project with a new random key.
func (db *DB) CreateProject(ctx context.Context, name string) (*store.Project, error) {
	if err := db.checkFile(); err != nil {
		return nil, err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	key := hex.EncodeToString(b[:])
	row := db.w.QueryRowContext(ctx, db.q(`INSERT INTO projects (name, public_key, disabled, rate_limit, in_app, created_ms) VALUES (?, ?, 0, 0, '', ?) RETURNING `+projectCols), name, key, time.Now().UnixMilli())
	p, err := scanProject(row)
	return p, wrap("create project", err)
}

// Projects lists projects by id.
func (db *DB) Projects(ctx context.Context) ([]store.Project, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+projectCols+` FROM projects ORDER BY id`)
	if err != nil {
		return nil, wrap("projects", err)
	}
	defer rows.Close()
	var out []store.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, wrap("projects", err)
		}
		out = append(out, *p)
	}
	return out, wrap("projects", rows.Err())
}

// Project returns one project.
func (db *DB) Project(ctx context.Context, id int64) (*store.Project, error) {
	p, err := scanProject(db.r.QueryRowContext(ctx, db.q(`SELECT `+projectCols+` FROM projects WHERE id = ?`), id))
	return p, wrap("project", err)
}

// ProjectByKey returns the project of a DSN key.
func (db *DB) ProjectByKey(ctx context.Context, key string) (*store.Project, error) {
	p, err := scanProject(db.r.QueryRowContext(ctx, db.q(`SELECT `+projectCols+` FROM projects WHERE public_key = ?`), key))
	return p, wrap("project by key", err)
}

// UpdateProject saves a project's settings.
func (db *DB) UpdateProject(ctx context.Context, p *store.Project) error {
	if err := db.checkFile(); err != nil {
		return err
	}
	disabled := 0
	if p.Disabled {
		disabled = 1
	}
	res, err := db.w.ExecContext(ctx, db.q(`UPDATE projects SET name = ?, disabled = ?, rate_limit = ?, in_app = ? WHERE id = ?`),
		p.Name, disabled, p.RateLimit, strings.Join(p.InApp, ","), p.ID)
	if err != nil {
		return wrap("update project", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	db.defMu.Lock()
	if db.defPrj != nil && db.defPrj.ID == p.ID {
		db.defPrj = nil
	}
	db.defMu.Unlock()
	return nil
}

// defaultProject is the first project, created as "default" if there is
// none: where Deliver records.
func (db *DB) defaultProject(ctx context.Context) (*store.Project, error) {
	db.defMu.Lock()
	defer db.defMu.Unlock()
	if db.defPrj != nil {
		return db.defPrj, nil
	}
	if db.wr != nil && db.wr.isClosed() {
		return nil, store.ErrClosed
	}
	ps, err := db.Projects(ctx)
	if err != nil {
		return nil, err
	}
	if len(ps) > 0 {
		db.defPrj = &ps[0]
		return db.defPrj, nil
	}
	p, err := db.CreateProject(ctx, "default")
	if err != nil {
		return nil, err
	}
	db.defPrj = p
	return p, nil
}

// DefaultProject returns the first project, creating "default" in an
// empty store.
func (db *DB) DefaultProject(ctx context.Context) (*store.Project, error) {
	return db.defaultProject(ctx)
}
