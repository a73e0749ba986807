// Package sqlite is the default errlogd store: one SQLite file, pure Go
// (modernc.org/sqlite, no cgo), in WAL mode with synchronous=NORMAL. One
// connection writes (the store's writer goroutine commits batches, and
// retention interleaves its own small batches); a pool of connections
// reads, never blocked by the writer.
//
// A crash of errlogd loses nothing that was acknowledged; a crash of the
// machine may lose the last transactions (synchronous=NORMAL in WAL mode
// syncs at checkpoints), never corrupts the file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tunes Open. The zero value is all defaults.
type Options struct {
	// Writer tunes the queue and batches.
	Writer store.WriterOptions
	// UpTo stops migrations after this schema version (upgrade tests).
	UpTo int
}

// Store is a SQLite store.
type Store struct {
	*sqlstore.DB
}

// Open opens (creating if needed) the SQLite database at path and
// migrates it.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=auto_vacuum(INCREMENTAL)&_pragma=cache_size(-8000)&_txlock=immediate"
	w, err := sql.Open("sqlite", base+pragmas)
	if err != nil {
		return nil, fmt.Errorf("errlog: store: sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("errlog: store: sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)&_pragma=cache_size(-4000)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("errlog: store: sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(2)
	sub, _ := fs.Sub(migrations, "migrations")
	db, err := sqlstore.Open(ctx, sqlstore.Config{
		Dialect:    dialect,
		Write:      w,
		Read:       r,
		Migrations: sub,
		UpTo:       opts.UpTo,
		Writer:     opts.Writer,
	})
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return &Store{DB: db}, nil
}

var dialect = sqlstore.Dialect{
	Name:     "sqlite",
	Least:    "min",
	Greatest: "max",
	ILike:    "LIKE", // case-insensitive for ASCII
	Retryable: func(err error) bool {
		var e *sqlite3.Error
		if errors.As(err, &e) {
			c := e.Code() & 0xff
			return c == sqlite3lib.SQLITE_BUSY || c == sqlite3lib.SQLITE_LOCKED
		}
		return false
	},
	Search: func(text string) (string, any) {
		// The trigram index finds substrings of 3 characters or more;
		// shorter ones are scanned.
		if utf8.RuneCountInString(text) < 3 {
			return "", nil
		}
		return `g.id IN (SELECT rowid FROM group_search WHERE group_search MATCH ?)`, `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
	},
	DiskBytes: func(ctx context.Context, db *sql.DB) (int64, error) {
		var pages, size, free int64
		if err := db.QueryRowContext(ctx, `SELECT * FROM pragma_page_count(), pragma_page_size(), pragma_freelist_count()`).Scan(&pages, &size, &free); err != nil {
			return 0, err
		}
		return (pages - free) * size, nil
	},
	AfterRetain: func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, `PRAGMA incremental_vacuum(2000)`)
		return err
	},
}
