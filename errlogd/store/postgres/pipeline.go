package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"

	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// A commit's transaction takes three round trips instead of five: its
// BEGIN goes with its first statement, and a statement whose answer
// nobody waits for (sqlstore.Deferrable: the counts) goes with COMMIT, or
// with whatever the commit hook runs first. The store's single writer
// spends most of its time in commits, whose length bounds the events
// stored per second, and each round trip costs the network's latency:
// through a 2.3 ms round trip, three instead of five gave 1.26 – 1.69×
// the events per second. (On the database's own machine, no difference
// was measured: there a commit waits for the server's share of the CPU.)
//
// It is done in the driver, under database/sql, so that the commit and
// its hook keep using *sql.Tx: conn wraps pgx's database/sql connection
// and holds back what it may until it must send something that has to be
// answered; the held-back statements and that one then go as one pgx
// batch (one write, one Sync). A transaction not begun with
// sqlstore.LazyBegin is pgx's own.

// connector makes conns.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("errlog: store: postgres: driver connection is %T, not pgx's", dc)
	}
	return &conn{Conn: sc}, nil
}

type held struct {
	sql  string
	args []any
}

// conn is a pgx connection whose transactions may begin late and whose
// deferrable statements wait for the next one. database/sql uses a
// connection from one goroutine at a time.
type conn struct {
	*stdlib.Conn
	// inTx: a lazy transaction is open (begun or not); begin: its BEGIN
	// has not been sent; held: statements not sent yet, in order.
	inTx  bool
	begin bool
	held  []held
	// failed: a batch failed before its BEGIN or held-back statements
	// ran (pgx prepares a batch's new statements before it runs any;
	// an ended context sends nothing). The server may then not be in a
	// transaction at all, and what was held back is lost: every later
	// statement of the transaction fails with this error, as the server
	// fails them in an aborted one, until it ends.
	failed error
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if !sqlstore.LazyBegin(ctx) || opts.Isolation != driver.IsolationLevel(sql.LevelDefault) || opts.ReadOnly {
		return c.Conn.BeginTx(ctx, opts)
	}
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	c.end()
	c.inTx, c.begin = true, true
	return &lazyTx{c: c, ctx: ctx}, nil
}

// end forgets the lazy transaction.
func (c *conn) end() {
	clear(c.held) // the held statements' arguments: a batch's arrays
	c.inTx, c.begin, c.held, c.failed = false, false, c.held[:0], nil
}

func args(nv []driver.NamedValue) []any {
	a := make([]any, len(nv))
	for i, v := range nv {
		a[i] = v.Value
	}
	return a
}

func (c *conn) pending() bool { return c.begin || len(c.held) > 0 }

// send sends what is held back and then q, if any, as one batch, and
// reads the held-back statements' results: q's is the caller's to read
// before it closes the batch.
func (c *conn) send(ctx context.Context, q *held) (pgx.BatchResults, error) {
	if c.failed != nil {
		return nil, c.failed
	}
	b := &pgx.Batch{}
	if c.begin {
		b.Queue("begin")
	}
	for _, h := range c.held {
		b.Queue(h.sql, h.args...)
	}
	if q != nil {
		b.Queue(q.sql, q.args...)
	}
	wasBegin, nHeld := c.begin, len(c.held)
	c.begin = false
	clear(c.held)
	c.held = c.held[:0]
	br := c.Conn.Conn().SendBatch(ctx, b)
	fail := func(err error) (pgx.BatchResults, error) {
		br.Close()
		c.failed = sent(err)
		return nil, c.failed
	}
	if wasBegin {
		if _, err := br.Exec(); err != nil {
			return fail(fmt.Errorf("postgres: pipelined batch: %w", err))
		}
	}
	for i := 0; i < nHeld; i++ {
		if _, err := br.Exec(); err != nil {
			return fail(fmt.Errorf("postgres: held-back statement: %w", err))
		}
	}
	return br, nil
}

// sent maps an error that says nothing reached the server to
// driver.ErrBadConn, as pgx's own database/sql driver does, so that
// database/sql tries another connection where it can.
func sent(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

func (c *conn) ExecContext(ctx context.Context, query string, nv []driver.NamedValue) (driver.Result, error) {
	switch {
	case c.failed != nil:
		return nil, c.failed
	case c.inTx && sqlstore.Deferrable(ctx):
		c.held = append(c.held, held{query, args(nv)})
		return driver.RowsAffected(0), nil
	case !c.pending():
		return c.Conn.ExecContext(ctx, query, nv)
	}
	br, err := c.send(ctx, &held{query, args(nv)})
	if err != nil {
		return nil, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, sent(err)
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (c *conn) QueryContext(ctx context.Context, query string, nv []driver.NamedValue) (driver.Rows, error) {
	switch {
	case c.failed != nil:
		return nil, c.failed
	case !c.pending():
		return c.Conn.QueryContext(ctx, query, nv)
	}
	br, err := c.send(ctx, &held{query, args(nv)})
	if err != nil {
		return nil, err
	}
	defer br.Close()
	rs, err := br.Query()
	if err != nil {
		return nil, sent(err)
	}
	defer rs.Close()
	// The batch must be read to its end before the connection takes
	// another statement: the rows are read now, as pgx decodes them
	// (int8 an int64, text a string, bytea a []byte; a numeric would be
	// a pgtype.Numeric, which database/sql cannot scan into a float64).
	// Only sqlstore's commit begins lazily, and its first query returns
	// a few integers and texts per group.
	m := &memRows{}
	for _, f := range rs.FieldDescriptions() {
		m.cols = append(m.cols, f.Name)
	}
	for rs.Next() {
		v, err := rs.Values()
		if err != nil {
			return nil, err
		}
		row := make([]driver.Value, len(v))
		for i := range v {
			row[i] = v[i]
		}
		m.rows = append(m.rows, row)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// flush sends what is held back, before a call that pgx's connection
// makes itself.
func (c *conn) flush(ctx context.Context) error {
	if c.failed != nil {
		return c.failed
	}
	if !c.pending() {
		return nil
	}
	br, err := c.send(ctx, nil)
	if err != nil {
		return err
	}
	return sent(br.Close())
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	return c.Conn.PrepareContext(ctx, query)
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) Ping(ctx context.Context) error {
	if err := c.flush(ctx); err != nil {
		return err
	}
	return c.Conn.Ping(ctx)
}

// IsValid lets database/sql drop a connection as it comes back to the
// pool, rather than at its next use, when a transaction is still open
// on it (and holds its locks): one whose ROLLBACK failed.
func (c *conn) IsValid() bool {
	pc := c.Conn.Conn()
	return !c.inTx && !pc.IsClosed() && pc.PgConn().TxStatus() == 'I'
}

func (c *conn) ResetSession(ctx context.Context) error {
	if c.inTx {
		return driver.ErrBadConn // a transaction never ended: database/sql should not let that happen
	}
	return c.Conn.ResetSession(ctx)
}

// lazyTx ends a lazy transaction. Nothing begun, nothing to end.
type lazyTx struct {
	c   *conn
	ctx context.Context
}

func (t *lazyTx) Commit() error {
	c := t.c
	defer c.end()
	if c.failed != nil {
		err := c.failed
		c.abort(t.ctx)
		return err
	}
	if c.begin && len(c.held) == 0 {
		return nil
	}
	br, err := c.send(t.ctx, &held{sql: "commit"})
	if err != nil {
		c.abort(t.ctx)
		return err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		c.abort(t.ctx)
		return sent(err)
	case tag.String() == "ROLLBACK":
		// The transaction had failed before: COMMIT rolled it back.
		return pgx.ErrTxCommitRollback
	}
	return nil
}

func (t *lazyTx) Rollback() error {
	c := t.c
	defer c.end()
	if c.begin {
		return nil
	}
	return c.abort(t.ctx)
}

// abort ends the transaction open on the server, if one is: a failed
// COMMIT batch leaves it open and failed (the server skipped the
// batch's COMMIT), and database/sql calls no Rollback after a Commit. If
// it cannot, as pgx does, it closes the connection, which then holds no
// lock, and database/sql discards it (IsValid).
func (c *conn) abort(ctx context.Context) error {
	pc := c.Conn.Conn()
	if pc.IsClosed() {
		return driver.ErrBadConn
	}
	if pc.PgConn().TxStatus() == 'I' {
		return nil // the failed batch's BEGIN never ran
	}
	if _, err := pc.Exec(ctx, "rollback"); err != nil {
		c.Conn.Close()
		return driver.ErrBadConn
	}
	return nil
}

// memRows are a query's rows, read.
type memRows struct {
	cols []string
	rows [][]driver.Value
}

func (m *memRows) Columns() []string { return m.cols }
func (m *memRows) Close() error      { m.rows = nil; return nil }

func (m *memRows) Next(dest []driver.Value) error {
	if len(m.rows) == 0 {
		return io.EOF
	}
	copy(dest, m.rows[0])
	m.rows = m.rows[1:]
	return nil
}
