package postgres

import (
	"context"
	"database/sql"
	"testing"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPipelinedTransactions drives the driver under the commit's
// transactions directly: what each round trip carries, and what becomes
// of an error that a held-back statement meets.
func TestPipelinedTransactions(t *testing.T) {
	ctx := context.Background()
	db, sent := traced(t)
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: what a failure leaves on it shows
	_, err := db.ExecContext(ctx, `CREATE TABLE pipelined (n INT PRIMARY KEY)`)
	require.NoError(t, err)
	lazy := sqlstore.LazyBegin(ctx) // false: a plain context
	require.False(t, lazy)
	lazyCtx, deferCtx := sqlstore.WithLazyBegin(ctx), sqlstore.WithDeferrable(ctx)
	sent.take()

	t.Run("a transaction that sends nothing costs nothing", func(t *testing.T) {
		tx, err := db.BeginTx(lazyCtx, nil)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		tx, err = db.BeginTx(lazyCtx, nil)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback())
		assert.Empty(t, sent.take())
	})

	t.Run("three statements, two round trips", func(t *testing.T) {
		tx, err := db.BeginTx(lazyCtx, nil)
		require.NoError(t, err)
		var n int
		require.NoError(t, tx.QueryRowContext(ctx, `INSERT INTO pipelined VALUES (1) RETURNING n`).Scan(&n))
		assert.Equal(t, 1, n)
		res, err := tx.ExecContext(deferCtx, `INSERT INTO pipelined VALUES (2), (3)`)
		require.NoError(t, err)
		affected, _ := res.RowsAffected()
		assert.Zero(t, affected, "not sent yet")
		require.NoError(t, tx.Commit())
		assert.Equal(t, [][]string{
			{"begin", "INSERT INTO pipelined VALUES (1) RETURNING n"},
			{"INSERT INTO pipelined VALUES (2), (3)", "commit"},
		}, sent.take())
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pipelined`).Scan(&n))
		assert.Equal(t, 3, n, "committed")
	})

	t.Run("a held-back statement's error returns from the next, and the transaction rolls back", func(t *testing.T) {
		tx, err := db.BeginTx(lazyCtx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO pipelined VALUES (4)`)
		require.NoError(t, err)
		_, err = tx.ExecContext(deferCtx, `INSERT INTO pipelined VALUES (1)`) // a duplicate
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO pipelined VALUES (5)`)
		require.ErrorContains(t, err, "held-back statement")
		require.ErrorContains(t, err, "23505")
		require.NoError(t, tx.Rollback())
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pipelined`).Scan(&n))
		assert.Equal(t, 3, n, "neither 4 nor 5")
	})

	t.Run("a held-back statement's error returns from the commit, and the connection is left usable", func(t *testing.T) {
		sent.take()
		tx, err := db.BeginTx(lazyCtx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO pipelined VALUES (6)`)
		require.NoError(t, err)
		_, err = tx.ExecContext(deferCtx, `INSERT INTO pipelined VALUES (2)`)
		require.NoError(t, err)
		err = tx.Commit()
		require.ErrorContains(t, err, "23505")
		assert.Equal(t, [][]string{
			{"begin", "INSERT INTO pipelined VALUES (6)"},
			{"INSERT INTO pipelined VALUES (2)", "commit"},
			{"rollback"}, // the server skipped the commit: the transaction is still open, failed
		}, sent.take())
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pipelined`).Scan(&n),
			"the same connection, out of the failed transaction")
		assert.Equal(t, 3, n, "6 rolled back")
	})

	t.Run("a batch that fails before its BEGIN ran fails the rest of the transaction", func(t *testing.T) {
		// pgx prepares a new statement before it runs any of the batch:
		// the BEGIN never ran, and a later statement must not commit
		// on its own.
		tx, err := db.BeginTx(lazyCtx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
		require.ErrorContains(t, err, "42P01")
		_, err = tx.ExecContext(ctx, `INSERT INTO pipelined VALUES (8)`)
		require.ErrorContains(t, err, "42P01", "the transaction's error, not a statement run outside it")
		require.NoError(t, tx.Rollback())
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pipelined WHERE n = 8`).Scan(&n))
		assert.Zero(t, n)
	})

	t.Run("a rollback that fails closes the connection", func(t *testing.T) {
		// The commit's context ends between two statements: its
		// ROLLBACK cannot be sent, and the connection, in a transaction
		// that holds a row's lock, must not go back to the pool.
		ended, cancel := context.WithCancel(lazyCtx)
		tx, err := db.BeginTx(ended, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ended, `INSERT INTO pipelined VALUES (9)`)
		require.NoError(t, err)
		cancel()
		_ = tx.Rollback()
		admin, err := sql.Open("pgx", pgtest.URL(t))
		require.NoError(t, err)
		defer admin.Close()
		var open int
		require.NoError(t, admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&open))
		assert.Zero(t, open, "a connection left in its transaction")
	})

	t.Run("other transactions are pgx's own", func(t *testing.T) {
		sent.take()
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(deferCtx, `INSERT INTO pipelined VALUES (7)`)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		assert.Equal(t, [][]string{{"begin"}, {"INSERT INTO pipelined VALUES (7)"}, {"commit"}}, sent.take())
	})
}
