package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Owed counts of several processes
//
// Several processes may share a PostgreSQL database, so the events above
// a group's last_event_id are not the owed events of one of them: another
// process's counts move last_event_id past them. Each process that owes
// counts (Config.OwesCounts with Dialect.Owners) therefore records the
// events it owes in owed_events under an id of its own, in the
// transaction that commits them, and deletes its rows in the transaction
// that writes their counts. While it lives it holds a lock on its id
// (PostgreSQL: an advisory lock, released by the server when the
// process's session ends, killed or not).
//
// A process adopts the rows of every owner whose lock it can take (a
// dead one) when it opens the store and every AdoptInterval after: it
// moves them to its own id, reads their events again and owes their
// counts as its own.
//
// The lock only spares a live owner that work; the counts do not depend
// on it. The transaction that writes a process's counts deletes its rows
// and compares what it deleted with the events it owes: if another
// process adopted some meanwhile (a lock lost with its connection), or a
// commit whose answer was lost recorded more, it counts the events it
// deleted, read again, and no others. Each owed event is therefore
// counted once, by the process that deletes its row.

// AdoptInterval is how often a process looks for the owed counts of
// processes that stopped; read when a store opens. The pool of a store
// that owes counts holds a connection for its lock and another for
// adopting, besides its writer's and readers'.
var AdoptInterval = time.Minute

const (
	qOwe         = `INSERT INTO owed_events (owner, event_id) SELECT $1, unnest($2::bigint[])`
	qClaimOwed   = `DELETE FROM owed_events WHERE owner = $1 RETURNING event_id`
	qOwners      = `SELECT DISTINCT owner FROM owed_events WHERE owner <> $1`
	qAdopt       = `UPDATE owed_events SET owner = $1 WHERE owner = $2 RETURNING event_id`
	qOwedByEvent = `SELECT e.id, e.project_id, e.group_id, g.key, e.ts, e.received, e.level, e.title, g.culprit, e.environment, e.release, e.payload
FROM events e JOIN event_groups g ON g.id = e.group_id WHERE e.id = ANY($1) ORDER BY e.id`
)

// ownerLock is this process's id among owners, and the connection that
// holds its lock.
type ownerLock struct {
	id    int64
	conn  *sql.Conn // nil while the lock is lost (keep)
	locks *OwnerLocks
	every time.Duration // AdoptInterval when the store opened
}

// session sets the lock connection's session up (OwnerLocks.Session).
func (l *OwnerLocks) session(ctx context.Context, conn *sql.Conn) {
	if l.Session != "" {
		_, _ = conn.ExecContext(ctx, l.Session)
	}
}

// discard closes a lock connection instead of giving it back to the
// pool: its session was set up for the lock (named so), and another use
// must not look like the lock's holder.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// takeOwnerLock picks an id no live process holds and locks it.
func (db *DB) takeOwnerLock(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return wrap("owner lock", err)
	}
	db.d.Owners.session(ctx, conn)
	for range 10 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := int64(binary.BigEndian.Uint64(b[:]) >> 1)
		var took bool
		if err := conn.QueryRowContext(ctx, db.d.Owners.TryLock, id).Scan(&took); err != nil {
			discard(conn)
			return wrap("owner lock", err)
		}
		if took {
			db.owner = &ownerLock{id: id, conn: conn, locks: db.d.Owners, every: AdoptInterval}
			return nil
		}
	}
	discard(conn)
	return wrap("owner lock", errors.New("no free id in 10 tries"))
}

// release frees the lock: a process that stopped before writing what it
// owed leaves it to the next that adopts.
func (o *ownerLock) release() {
	if o == nil || o.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = o.conn.ExecContext(ctx, o.locks.Unlock, o.id) // a broken connection has lost it already
	discard(o.conn)
}

// adopt takes on the counts owed by the processes that hold no lock any
// more (they stopped), holding them for hold (Open: until the commit
// hook is set; HoldFound). The writer goroutine's, or Open's.
func (db *DB) adopt(ctx context.Context, hold time.Duration) error {
	db.adopted = time.Now()
	rows, err := db.w.QueryContext(ctx, qOwners, db.owner.id)
	if err != nil {
		return wrap("owed counts", err)
	}
	var owners []int64
	for rows.Next() {
		var o int64
		if err := rows.Scan(&o); err != nil {
			rows.Close()
			return wrap("owed counts", err)
		}
		owners = append(owners, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("owed counts", err)
	}
	for _, o := range owners {
		if err := db.adoptOwner(ctx, o, hold); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) adoptOwner(ctx context.Context, other int64, hold time.Duration) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return wrap("owed counts", err)
	}
	defer conn.Close()
	var free bool
	if err := conn.QueryRowContext(ctx, db.d.Owners.TryLock, other).Scan(&free); err != nil {
		return wrap("owed counts", err)
	}
	if !free {
		return nil // alive
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), db.d.Owners.Unlock, other)

	// From its commit the rows are this process's: if it stops before
	// counting them, the next process adopts them from it. (On the lock's
	// connection: a pool of few connections has no other to spare.)
	db.owed.recorded = true
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return wrap("owed counts", err)
	}
	defer tx.Rollback()
	ids, err := scanIDs(tx.QueryContext(ctx, qAdopt, db.owner.id, other))
	if err != nil {
		return wrap("owed counts", err)
	}
	if err := tx.Commit(); err != nil {
		return wrap("owed counts", err)
	}
	if len(ids) == 0 {
		return nil
	}
	order, users, err := db.owedEvents(ctx, db.w, qOwedByEvent, ids)
	if err != nil {
		return err // recorded: the next settle reads them
	}
	db.owed.add(order, users, time.Now())
	db.owed.ids = append(db.owed.ids, ids...)
	if hold > 0 {
		db.owed.since = time.Now().Add(hold - MaxOwed)
	}
	return nil
}

// claimOwed deletes, in tx, the rows of owed_events this process holds,
// and makes what is owed the counts of exactly the events they name: the
// ones it knew of unless another process adopted some, or a commit whose
// answer was lost recorded others.
func (db *DB) claimOwed(ctx context.Context, tx *sql.Tx) error {
	got, err := scanIDs(tx.QueryContext(ctx, qClaimOwed, db.owner.id))
	if err != nil {
		return wrap("owed counts", err)
	}
	want := slices.Clone(db.owed.ids)
	slices.Sort(got)
	slices.Sort(want)
	if slices.Equal(got, want) {
		return nil
	}
	var order []*groupAgg
	var users map[userPair]struct{}
	if len(got) > 0 {
		if order, users, err = db.owedEvents(ctx, tx, qOwedByEvent, got); err != nil {
			return err
		}
	}
	since := db.owed.since
	db.owed = owed{}
	db.owed.add(order, users, since)
	db.owed.ids, db.owed.recorded = got, false
	return nil
}

// scanIDs reads the ids (of events, of groups) rows select.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// adoptNow runs adopt when about AdoptInterval has passed since the last
// time, on the writer goroutine: between batches, or when asked by
// adoptEvery through a settle.
func (db *DB) adoptNow(life context.Context) {
	if db.owner == nil || time.Since(db.adopted) < db.owner.every/2 {
		return
	}
	ctx, cancel := context.WithTimeout(life, 30*time.Second)
	defer cancel()
	db.owner.keep(ctx, db.w)
	if err := db.adopt(ctx, 0); err != nil {
		db.hookErr(fmt.Errorf("errlog: store: counts owed by processes that stopped: %w", err))
	}
}

// keep takes the lock again, on a new connection, when the server ended
// the session that held it: others would otherwise adopt this process's
// counts every AdoptInterval (correct, and wasted). When another holds
// it (adopting them now), the next AdoptInterval tries again.
func (o *ownerLock) keep(ctx context.Context, pool *sql.DB) {
	if o.conn != nil && o.conn.PingContext(ctx) == nil {
		return
	}
	if o.conn != nil {
		discard(o.conn)
		o.conn = nil
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return
	}
	o.locks.session(ctx, conn)
	var took bool
	if err := conn.QueryRowContext(ctx, o.locks.TryLock, o.id).Scan(&took); err != nil || !took {
		discard(conn)
		return
	}
	o.conn = conn
}

// adoptEvery has the writer goroutine look for dead owners every
// AdoptInterval, batches or not, until it stops.
func (db *DB) adoptEvery() {
	t := time.NewTicker(db.owner.every)
	defer t.Stop()
	for {
		select {
		case <-db.wr.stopped:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = db.wr.settleNow(ctx, nil) // a failure is the writer's to report
		cancel()
	}
}
