// Package postgres is the errlogd store on PostgreSQL (pgx): several
// errlogd processes may ingest into one database at once. Group rows are
// upserted with INSERT … ON CONFLICT and counted with count = count + n
// under the row lock, so counts stay exact and each key has one group;
// every batch locks groups, then count rows, in one global order, so two
// processes never deadlock (a deadlock or serialization failure would be
// retried all the same).
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tunes Open. The zero value is all defaults.
type Options struct {
	Writer store.WriterOptions
	// UpTo stops migrations after this schema version (upgrade tests).
	UpTo int
	// MaxConns bounds the connection pool. Default 8; at least 4 with
	// OweCounts.
	MaxConns int
	// OweCounts lets a batch that follows another closely leave its
	// counts owed (sqlstore's "Owed counts"), recorded in the database
	// under this process's id: the one process or each of several that
	// ingest events (errlogd serving) sets it; tools need not.
	OweCounts bool
}

// Store is a PostgreSQL store.
type Store struct {
	*sqlstore.DB
}

// retryable says whether a failed commit is sent again: a deadlock, a
// serialization failure or two processes creating one group at once; or
// a connection that broke (the server restarted or ended it, a failover,
// the network). A batch is idempotent by event id, so a commit that
// happened though its answer was lost stores and counts nothing twice
// when sent again (on another connection).
func retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// The commit's own deadline, or Close: not the connection's
		// fault, and a context error is a net.Error too.
		return false
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		switch {
		case e.Code == "40P01", e.Code == "40001", e.Code == "23505":
			return true
		case strings.HasPrefix(e.Code, "08"), e.Code == "57P01", e.Code == "57P02", e.Code == "57P03":
			return true // connection exception; admin, crash shutdown; cannot connect now
		}
		return false
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) ||
		pgconn.SafeToRetry(err)
}

// unavailable says whether a failed commit is the database's failure,
// not its events': out of disk, memory or connections (class 53), an I/O
// or system error (class 58), a server in read-only mode (25006). None of
// its events is refused as bad (400): SDKs drop those for good.
func unavailable(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	return strings.HasPrefix(e.Code, "53") || strings.HasPrefix(e.Code, "58") || e.Code == "25006"
}

// Open connects to the database at url (postgres://…) and migrates it.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("errlog: store: postgres: %w", err)
	}
	sessionLimits(cfg, opts.OweCounts)
	return open(ctx, openDB(cfg), opts)
}

// sessionLimits bounds what a process that stopped or vanished holds on
// the server, on every connection, unless the URL says otherwise: the
// server probes a silent client after 30 s, 10 s apart, and ends its
// session after 3 unanswered probes (the system's default waits two
// hours); and a serving process's transaction left idle for 30 s ends
// (a process stopped mid-commit held its groups' row locks, and every
// other process's commits of those groups waited on them, for as long
// as it stayed stopped). errlogd's own transactions are never idle that
// long: a commit runs under a 30 s deadline. Tools (errlogd move) may
// hold a read transaction open while they write elsewhere, so they set
// only the keepalives.
func sessionLimits(cfg *pgx.ConnConfig, serving bool) {
	set := func(k, v string) {
		if _, ok := cfg.RuntimeParams[k]; !ok {
			cfg.RuntimeParams[k] = v
		}
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	set("tcp_keepalives_idle", "30")
	set("tcp_keepalives_interval", "10")
	set("tcp_keepalives_count", "3")
	if serving {
		set("idle_in_transaction_session_timeout", "30s")
	}
}

// openDB is a pool of pgx connections whose commits pipeline their
// statements (pipeline.go).
func openDB(cfg *pgx.ConnConfig) *sql.DB {
	return sql.OpenDB(connector{stdlib.GetConnector(*cfg)})
}

// open migrates the database of the pool db, which it owns from then on.
func open(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	n := opts.MaxConns
	if n <= 0 {
		n = 8
	}
	if opts.OweCounts {
		// One holds the owner lock, one adopts, one writes, one reads.
		n = max(n, 4)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("errlog: store: postgres: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	s, err := sqlstore.Open(ctx, sqlstore.Config{
		Dialect:    dialect,
		Write:      db,
		Read:       db,
		Migrations: sub,
		UpTo:       opts.UpTo,
		Writer:     opts.Writer,
		OwesCounts: opts.OweCounts,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{DB: s}, nil
}

// searchScanAbove is how many matching groups, as the planner expects
// them, make a search scan the groups in the list's order rather than use
// the index.
const searchScanAbove = 2000

var dialect = sqlstore.Dialect{
	Name:          "postgres",
	Arrays:        true,
	RowLocks:      true,
	Dollar:        true,
	Least:         "LEAST",
	Greatest:      "GREATEST",
	ILike:         "ILIKE",
	MigrationLock: `SELECT pg_advisory_xact_lock(7262017)`,
	// A session's advisory lock, on one bigint: the server releases it
	// when the session ends, whatever ended it.
	Owners: &sqlstore.OwnerLocks{
		TryLock: `SELECT pg_try_advisory_lock($1)`,
		Unlock:  `SELECT pg_advisory_unlock($1)`,
		// A process whose host vanished (power lost, network cut) ends
		// no session: the server would hold its lock, and others leave
		// its counts owed, until the systems' TCP keepalive gave up (two
		// hours by default). Probes after 30 s idle, 10 s apart, 3 lost:
		// the session ends and the lock is released about a minute
		// after the last answer. Ignored on a Unix socket (no host to
		// lose). The session is named, for pg_stat_activity.
		Session: `SELECT set_config('tcp_keepalives_idle', '30', false), set_config('tcp_keepalives_interval', '10', false),
 set_config('tcp_keepalives_count', '3', false), set_config('application_name', 'errlogd owner lock', false)`,
	},
	Retryable:   retryable,
	Unavailable: unavailable,
	Search: func(ctx context.Context, db *sql.DB, text string) (string, []any, error) {
		// group_search's trigram indexes serve ILIKE '%…%' when few
		// groups match; a text the planner expects in thousands of titles
		// is searched by a scan in the list's order instead, which meets a
		// page of them at once (through the index: 560 ms for a text in
		// each of 100,000 titles, 1 ms scanning).
		p := sqlstore.LikePattern(text)
		var plan []byte
		if err := db.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM group_search WHERE title ILIKE $1 ESCAPE '\' OR culprit ILIKE $1 ESCAPE '\'`, p).Scan(&plan); err != nil {
			return "", nil, err
		}
		var est []struct {
			Plan struct {
				Rows float64 `json:"Plan Rows"`
			}
		}
		if err := json.Unmarshal(plan, &est); err != nil || len(est) == 0 {
			return "", nil, fmt.Errorf("search estimate: %v", err)
		}
		if est[0].Plan.Rows >= searchScanAbove {
			return "", nil, nil
		}
		// Groups whose title changed since the last catch-up are left
		// out of the index's answer and matched on their current text
		// (one lookup each: the stale groups are few).
		return `g.id IN (SELECT s.group_id FROM group_search s
  WHERE (s.title ILIKE ? ESCAPE '\' OR s.culprit ILIKE ? ESCAPE '\') AND s.group_id NOT IN (SELECT group_id FROM group_search_stale)
  UNION ALL SELECT st.group_id FROM group_search_stale st CROSS JOIN LATERAL (SELECT 1 FROM event_groups t
    WHERE t.id = st.group_id AND (t.title ILIKE ? ESCAPE '\' OR t.culprit ILIKE ? ESCAPE '\')) m)`, []any{p, p, p, p}, nil
	},
	// CatchUp re-indexes the groups whose title or culprit changed. It
	// locks them in the order commits do (project, key) before reading
	// their text, so that a commit changing a title concurrently, in this
	// or another errlogd, either committed first (its title is read) or
	// marks the group stale again after this transaction.
	CatchUp: func(ctx context.Context, tx *sql.Tx) error {
		var ids []int64
		rows, err := tx.QueryContext(ctx, `SELECT group_id FROM group_search_stale LIMIT 10000`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		for _, q := range []string{
			`SELECT 1 FROM event_groups WHERE id = ANY($1) ORDER BY project_id, key FOR UPDATE`,
			`INSERT INTO group_search (group_id, title, culprit) SELECT id, title, culprit FROM event_groups WHERE id = ANY($1)
ON CONFLICT (group_id) DO UPDATE SET title = excluded.title, culprit = excluded.culprit`,
			`DELETE FROM group_search_stale WHERE group_id = ANY($1)`,
		} {
			if _, err := tx.ExecContext(ctx, q, ids); err != nil {
				return err
			}
		}
		return nil
	},
	DiskBytes: func(ctx context.Context, db *sql.DB) (int64, error) {
		var n int64
		err := db.QueryRowContext(ctx, `SELECT pg_total_relation_size('events') + pg_total_relation_size('event_groups') + pg_total_relation_size('group_minutes') + pg_total_relation_size('group_hours') + pg_total_relation_size('group_seen') + pg_total_relation_size('group_search')`).Scan(&n)
		return n, err
	},
}
