package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"github.com/errlog/errlog/errlogd/alert"
	"io"
	"net/url"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/move"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
)

const moveUsage = `usage: errlogd move -from DB -to DB [-force]

Copies every project (with its DSN key), group (key, count, status, first
and last seen), event, chart count, alert rule, alert outbox row and ticket
of the store -from into the store -to, with the same ids: applications keep
their DSNs, and events sent after the move land in the same groups. DB is a
SQLite file or a postgres:// URL; either way round works.

Stop errlogd on -from first (or the move copies the snapshot it began
with). -to must be empty (an empty SQLite file is created); -force empties
it first. An interrupted move is resumed by running the same command again.

Flags:
`

func runMove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("errlogd move", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the store to copy: a SQLite file or a postgres:// URL")
	to := fs.String("to", "", "the store to fill: a SQLite file (created) or a postgres:// URL")
	force := fs.Bool("force", false, "delete what -to holds before the move")
	every := fs.Int64("progress-every", 10000, "print a progress line every N events")
	if code, ok := parseCommand(fs, moveUsage, args, stdout); !ok {
		return code
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if dbID(*from) == dbID(*to) {
		fmt.Fprintln(stderr, "errlogd move: -from and -to are the same store")
		return 2
	}
	if err := checkExistingDB(ctx, *from); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, err := checkNewDB(*to); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Opening each store migrates it to this binary's schema (and refuses
	// a newer one), so that both have the same tables.
	for _, db := range []string{*from, *to} {
		if err := migrate(ctx, db); err != nil {
			fmt.Fprintln(stderr, openErr(db, err))
			return 1
		}
	}
	src, err := openRaw(*from)
	if err != nil {
		fmt.Fprintln(stderr, openErr(*from, err))
		return 1
	}
	defer src.SQL.Close()
	dst, err := openRaw(*to)
	if err != nil {
		fmt.Fprintln(stderr, openErr(*to, err))
		return 1
	}
	defer dst.SQL.Close()
	start := time.Now()
	fmt.Fprintf(stderr, "errlogd move: %s → %s\n", src.Name, dst.Name)
	res, err := move.Run(ctx, src, dst, move.Options{Force: *force, Every: *every, Progress: func(p move.Progress) {
		fmt.Fprintf(stderr, "errlogd move: %s\n", p)
	}})
	if err != nil {
		fmt.Fprintln(stderr, "errlogd:", err)
		if errors.Is(err, move.ErrNotEmpty) {
			return 2
		}
		return 1
	}
	resumed := ""
	if res.Resumed {
		resumed = " (resumed)"
	}
	fmt.Fprintf(stdout, "errlogd move: moved %d projects, %d groups, %d events%s from %s to %s in %v\n",
		res.Rows["projects"], res.Rows["event_groups"], res.Rows["events"], resumed, src.Name, dst.Name, time.Since(start).Round(time.Millisecond))
	return 0
}

// migrate opens and closes a store, which creates or migrates it.
func migrate(ctx context.Context, db string) error {
	var st store.Store
	var err error
	if isPostgres(db) {
		st, err = postgres.Open(ctx, db, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, dbName(db), sqlite.Options{})
	}
	if err != nil {
		return err
	}
	if a, ok := st.(alert.Store); ok {
		// Alert's tables are its own component's: migrated as a running
		// errlogd would, so that they are there to copy into.
		if err := alert.Migrate(ctx, a); err != nil {
			_ = st.Close(ctx)
			return err
		}
	}
	return st.Close(ctx)
}

// openRaw opens a database/sql pool on a store for move: one connection
// for SQLite (a read transaction, or the writes), a few for PostgreSQL.
func openRaw(db string) (move.DB, error) {
	if isPostgres(db) {
		d, err := sql.Open("pgx", db)
		if err != nil {
			return move.DB{}, err
		}
		d.SetMaxOpenConns(2)
		return move.DB{SQL: d, Postgres: true, Name: dbName(db), ID: dbID(db)}, nil
	}
	d, err := sql.Open("sqlite", "file:"+(&url.URL{Path: dbName(db)}).EscapedPath()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return move.DB{}, err
	}
	d.SetMaxOpenConns(1)
	return move.DB{SQL: d, Name: dbName(db)}, nil
}
