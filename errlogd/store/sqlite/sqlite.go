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
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
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
	// OweCounts asks for the owner lock, which the one process that
	// ingests into the file takes (errlogd serve): its batches may then
	// owe their counts under load, and Open finds those a killed owner
	// left owed (sqlstore's "Owed counts"). Without it, or when another
	// process holds the lock for OwnerWait, every batch writes its
	// counts; Store.OwesCounts says which.
	OweCounts bool
}

// OwnerWait is how long Open waits for the owner lock another process
// holds: an errlogd being replaced by a new one lets it go as it exits.
const OwnerWait = 3 * time.Second

// Store is a SQLite store.
type Store struct {
	*sqlstore.DB
}

// Open opens (creating if needed) the SQLite database at path and
// migrates it.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	// temp_store(MEMORY): the statement journals of multi-row statements
	// (one per statement that may need to undo itself) were temporary
	// files, two system calls per page: a third of the writes at 5 KB
	// events. cache_size(-4000): 4 MB of page cache for the writer; each
	// 2 MB more took errlogd's peak RSS about 4 MB higher at 50 KB events
	// flat out (6 MB: 58.1 – 58.8 MB, 4 MB: 54.4 – 54.7, alternated), for
	// no difference in CPU per event measured at 5 or 50 KB.
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=auto_vacuum(INCREMENTAL)&_pragma=cache_size(-4000)&_pragma=wal_autocheckpoint(10000)&_pragma=temp_store(MEMORY)&_txlock=immediate"
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
	// mode=ro: a read connection opened after the file was deleted
	// fails, rather than making an empty database at the path that a
	// restart would take for a new store.
	r, err := sql.Open("sqlite", base+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)&_pragma=cache_size(-4000)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("errlog: store: sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(2)
	cp, err := startCheckpointer(ctx, base)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("errlog: store: sqlite %s: %w", path, err)
	}
	var check func() error
	if fi, err := os.Stat(path); err == nil {
		check = func() error { return sameFile(path, fi) }
	}
	sub, _ := fs.Sub(migrations, "migrations")
	// The process that holds the owner lock is the only one that may owe
	// counts, and finds those a killed owner left owed: another process
	// opening the file meanwhile (errlogd project, a second errlogd)
	// writes its batches' counts with them, and leaves the owner's alone.
	release, owner := func() {}, false
	if opts.OweCounts {
		release, owner = ownWait(ctx, path)
	}
	db, err := sqlstore.Open(ctx, sqlstore.Config{
		Check:      check,
		OwesCounts: owner,
		OnClose:    func() error { err := cp.close(); release(); return err },
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
		cp.close()
		release()
		return nil, err
	}
	return &Store{DB: db}, nil
}

// sameFile reports store.ErrLost when the file at path is not the one
// opened (fi): deleted, or replaced by another (its device and inode
// differ, as errlog's log file checks its own). The connections still
// write the old file, which nobody could read after they close.
func sameFile(path string, fi os.FileInfo) error {
	cur, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s was deleted", store.ErrLost, path)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", store.ErrLost, path, err)
	}
	if !os.SameFile(cur, fi) {
		return fmt.Errorf("%w: %s was replaced by another file", store.ErrLost, path)
	}
	return nil
}

// checkpointInterval is how often the checkpointer copies the WAL into
// the database file.
const checkpointInterval = 100 * time.Millisecond

// checkpointer copies committed WAL frames into the database file from its
// own connection and goroutine (PRAGMA wal_checkpoint(PASSIVE), which
// never blocks the writer nor readers). Left to the writing connection
// (autocheckpoint every 1000 pages), each checkpoint and its fsync ran
// inside a commit: 7% of errlogd's CPU on the writer goroutine at 5 KB
// events, and a stall of every waiting request. The writer keeps a far
// autocheckpoint (10,000 pages, ~40 MB of WAL) in case this one falls
// behind.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func startCheckpointer(ctx context.Context, base string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", base+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				// Busy (another checkpoint running) or failed: the
				// next tick, or the writer's own autocheckpoint, does it.
				_, _ = db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
	return c, nil
}

// close stops the checkpointer; its connection, the last one closed,
// checkpoints the whole WAL and removes it.
func (c *checkpointer) close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		err = c.db.Close()
	})
	return err
}

func init() {
	// errlog_fold(text) is text in lower case, Unicode's, as the trigram
	// index folds it.
	err := sqlite3.RegisterDeterministicScalarFunction("errlog_fold", 1, func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		}
		return args[0], nil
	})
	if err != nil {
		panic(err)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// searchScanAbove is how many matching groups make a search scan the
// groups in the list's order rather than use the index.
const searchScanAbove = 2000

var dialect = sqlstore.Dialect{
	Name:      "sqlite",
	OneWriter: true,
	Least:     "min",
	Greatest:  "max",
	ILike:     "LIKE", // case-insensitive for ASCII
	Retryable: func(err error) bool {
		var e *sqlite3.Error
		if errors.As(err, &e) {
			c := e.Code() & 0xff
			return c == sqlite3lib.SQLITE_BUSY || c == sqlite3lib.SQLITE_LOCKED
		}
		return false
	},
	Unavailable: func(err error) bool {
		var e *sqlite3.Error
		if errors.As(err, &e) {
			switch e.Code() & 0xff {
			case sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_READONLY,
				sqlite3lib.SQLITE_CANTOPEN, sqlite3lib.SQLITE_NOMEM:
				return true
			}
		}
		return false
	},
	Search: func(ctx context.Context, db *sql.DB, text string) (string, []any, error) {
		// Every way a search matches ignores case as the trigram index
		// does. SQLite's LIKE folds A-Z only: enough for an ASCII text;
		// another is compared with errlog_fold'ed titles (a Go call per
		// row: a scan of 100,000 groups takes 0.5 s instead of 0.06).
		p := sqlstore.LikePattern(strings.ToLower(text))
		scan := `(g.title LIKE ? ESCAPE '\' OR g.culprit LIKE ? ESCAPE '\')`
		if !isASCII(text) {
			scan = `(errlog_fold(g.title) LIKE ? ESCAPE '\' OR errlog_fold(g.culprit) LIKE ? ESCAPE '\')`
		}
		// The index finds substrings of 3 characters or more; shorter
		// ones are scanned. So is a text in thousands of titles: the index
		// would list them all before the first page is sorted (134 ms for
		// one in each of 100,000), while a scan in the list's order meets
		// a page of them at once.
		if utf8.RuneCountInString(text) < 3 {
			return scan, []any{p, p}, nil
		}
		match := `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM group_search WHERE group_search MATCH ? LIMIT ?)`, match, searchScanAbove).Scan(&n); err != nil {
			return "", nil, err
		}
		if n >= searchScanAbove {
			return scan, []any{p, p}, nil
		}
		// Groups whose title changed since the last catch-up are left
		// out of the index's answer and matched on their current text.
		// (Written as an OR, which SQLite answers from both lists; as a
		// UNION it scanned the groups for the second.)
		return `((g.id IN (SELECT rowid FROM group_search WHERE group_search MATCH ?) AND g.id NOT IN (SELECT group_id FROM group_search_stale))
  OR (g.id IN (SELECT group_id FROM group_search_stale) AND ` + scan + `))`,
			[]any{match, p, p}, nil
	},
	// CatchUp re-indexes the groups whose title or culprit changed.
	CatchUp: func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM group_search WHERE rowid IN (SELECT group_id FROM group_search_stale)`,
			`INSERT INTO group_search (rowid, title, culprit) SELECT g.id, g.title, g.culprit FROM group_search_stale s JOIN event_groups g ON g.id = s.group_id`,
			`DELETE FROM group_search_stale`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
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

// ownWait takes the owner lock of the database at path, waiting up to
// OwnerWait while another process holds it. The lock file is named after
// the path with its links resolved, as SQLite opens it.
func ownWait(ctx context.Context, path string) (release func(), ok bool) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	deadline := time.Now().Add(OwnerWait)
	for {
		if release, ok = own(path + "-owner"); ok || time.Now().After(deadline) || ctx.Err() != nil {
			return release, ok
		}
		time.Sleep(50 * time.Millisecond)
	}
}
