package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
)

// Tables is how a component keeps tables of its own in the store's
// database (errlogd/alert: its outbox, rules, tickets): it owns their
// migrations and SQL, and reaches the database only through these few
// methods. Queries are written with ? placeholders and the dialect's
// words ({least}, {greatest}, {ilike}), as the store's own are. Reads go
// to the read pool, so that they never wait behind a commit on SQLite's
// one write connection; writes go to the write pool, and are refused with
// store.ErrLost when the database file is lost, as the store's are. What
// must be written with the events, in their transaction, is written by a
// CommitHook.
type Tables struct {
	db        *DB
	component string
}

var componentName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Tables applies a component's migrations and returns its way into the
// database. migrations holds a folder per database, named as
// Dialect.Name ("sqlite", "postgres"), of NNNN_name.sql files; they are
// recorded, per component, apart from the store's own. Several processes
// may start at once (PostgreSQL: under the migration lock).
func (db *DB) Tables(ctx context.Context, component string, migrations fs.FS) (*Tables, error) {
	if !componentName.MatchString(component) {
		return nil, fmt.Errorf("errlog: store: component %q: not a lower-case name", component)
	}
	sub, err := fs.Sub(migrations, db.d.Name)
	if err != nil {
		return nil, fmt.Errorf("errlog: store: component %s: %w", component, err)
	}
	if err := db.migrateLedger(ctx, componentLedger(component), sub, 0); err != nil {
		return nil, fmt.Errorf("errlog: store: component %s: %w", component, err)
	}
	return &Tables{db: db, component: component}, nil
}

// RowLocks reports Dialect.RowLocks: whether claims may use FOR UPDATE
// SKIP LOCKED.
func (t *Tables) RowLocks() bool { return t.db.d.RowLocks }

// Check is nil when writes can go in, store.ErrLost when the database
// file is lost (the store says so itself, once).
func (t *Tables) Check() error { return t.db.checkFile() }

// Query runs a read on the read pool.
func (t *Tables) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.db.r.QueryContext(ctx, t.db.q(query), args...)
}

// QueryRow runs a read of one row on the read pool.
func (t *Tables) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.db.r.QueryRowContext(ctx, t.db.q(query), args...)
}

// Exec runs one write.
func (t *Tables) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.db.checkFile(); err != nil {
		return nil, err
	}
	return t.db.w.ExecContext(ctx, t.db.q(query), args...)
}

// ExecRows runs one write that returns rows (UPDATE … RETURNING: a
// claim). The caller closes them soon: on SQLite they hold the write
// connection.
func (t *Tables) ExecRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.db.checkFile(); err != nil {
		return nil, err
	}
	return t.db.w.QueryContext(ctx, t.db.q(query), args...)
}

// Tx runs fn in a write transaction, committed when fn returns nil.
func (t *Tables) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	if err := t.db.checkFile(); err != nil {
		return err
	}
	tx, err := t.db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin", err)
	}
	defer tx.Rollback()
	if err := fn(&Tx{db: t.db, tx: tx}); err != nil {
		return err
	}
	return wrap("commit", tx.Commit())
}

// SetCommitHook sets (nil: removes) the hook every later commit of
// events runs, in its transaction.
func (t *Tables) SetCommitHook(h CommitHook) { t.db.SetCommitHook(h) }

// SetGroupDeleteHook sets (nil: removes) the component's hook that
// DeleteGroup runs in its transaction. Each component has its own: one
// component's does not replace another's.
func (t *Tables) SetGroupDeleteHook(h GroupDeleteHook) { t.db.setGroupDeleteHook(t.component, h) }
