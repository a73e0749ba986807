package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/errlog/errlog/errlogd/store"
)

// CommitHook runs inside each commit's transaction, after the batch is
// written, with what the batch did to each group: what it writes (an
// alert outbox) commits or rolls back with the events. Its error rolls
// back only its own writes (a savepoint): the events are committed and
// the error goes to WriterOptions.OnError.
type CommitHook func(ctx context.Context, tx *Tx, outcomes []store.Outcome) error

// Tx is a transaction as a component sees it (a commit's, in its hook,
// or its own, from Tables.Tx): queries written with ? placeholders, as in
// the rest of the store.
type Tx struct {
	db *DB
	tx *sql.Tx
	// savepoint, in a commit hook's Tx, is the savepoint its first
	// statement sets, so that a hook with nothing to do (no alert rule)
	// costs no statement; saved says it was set, spErr why it was not.
	savepoint string
	saved     bool
	spErr     error
}

// begin sets t's savepoint before its first statement.
func (t *Tx) begin(ctx context.Context) error {
	if t.savepoint == "" || t.saved || t.spErr != nil {
		return t.spErr
	}
	if _, err := t.tx.ExecContext(ctx, "SAVEPOINT "+t.savepoint); err != nil {
		t.spErr = err
		return err
	}
	t.saved = true
	return nil
}

// Exec runs one statement.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	return t.tx.ExecContext(ctx, t.db.q(query), args...)
}

// Query runs one query.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	return t.tx.QueryContext(ctx, t.db.q(query), args...)
}

// QueryRow runs a query of one row. Should the savepoint before it fail,
// the query runs anyway (in a transaction that then fails) and the
// commit returns that error.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	_ = t.begin(ctx)
	return t.tx.QueryRowContext(ctx, t.db.q(query), args...)
}

// GroupDeleteHook runs inside DeleteGroup's transaction, after the
// store's rows of the group are deleted: a component deletes what it
// keeps of the group (alert: its outbox, rule state, mute, ticket), so
// that nothing of a deleted group is left keyed by its id. Its error
// fails the delete.
type GroupDeleteHook func(ctx context.Context, tx *Tx, groupID int64) error

// setGroupDeleteHook sets (nil: removes) component's GroupDeleteHook.
func (db *DB) setGroupDeleteHook(component string, h GroupDeleteHook) {
	db.hookMu.Lock()
	defer db.hookMu.Unlock()
	if h == nil {
		delete(db.delHooks, component)
		return
	}
	if db.delHooks == nil {
		db.delHooks = map[string]GroupDeleteHook{}
	}
	db.delHooks[component] = h
}

// runDeleteHooks runs the components' GroupDeleteHooks in tx, in the
// order of their names.
func (db *DB) runDeleteHooks(ctx context.Context, tx *sql.Tx, id int64) error {
	db.hookMu.RLock()
	names := make([]string, 0, len(db.delHooks))
	for c := range db.delHooks {
		names = append(names, c)
	}
	slices.Sort(names)
	hooks := make([]GroupDeleteHook, len(names))
	for i, c := range names {
		hooks[i] = db.delHooks[c]
	}
	db.hookMu.RUnlock()
	for i, h := range hooks {
		if err := h(ctx, &Tx{db: db, tx: tx}, id); err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return nil
}

// SetCommitHook sets (nil: removes) the hook every later commit runs.
func (db *DB) SetCommitHook(h CommitHook) {
	db.hookMu.Lock()
	db.hook = h
	db.hookMu.Unlock()
}

func (db *DB) runHook(ctx context.Context, tx *sql.Tx, outcomes []store.Outcome) error {
	db.hookMu.RLock()
	h := db.hook
	db.hookMu.RUnlock()
	if h == nil || len(outcomes) == 0 {
		return nil
	}
	t := &Tx{db: db, tx: tx, savepoint: "commit_hook"}
	err := h(ctx, t, outcomes)
	switch {
	case t.spErr != nil:
		return wrap("hook savepoint", t.spErr)
	case !t.saved:
		// No statement ran: nothing to keep or undo.
		if err != nil {
			db.hookErr(fmt.Errorf("errlog: store: commit hook: %w", err))
		}
		return nil
	case err != nil:
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT commit_hook`); rerr != nil {
			return wrap("hook rollback", rerr)
		}
		db.hookErr(fmt.Errorf("errlog: store: commit hook: %w", err))
		return nil
	}
	_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT commit_hook`)
	return wrap("hook release", err)
}

// Pool returns the write pool, for tests and maintenance; a component's
// code goes through Tables.
func (db *DB) Pool() *sql.DB { return db.w }
