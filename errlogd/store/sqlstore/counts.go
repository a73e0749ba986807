package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/wire/decode"
)

// Owed counts
//
// A group's counts (event_groups' count, users and last seen, the minute
// and hour buckets, the values seen, the users) are most of what a
// commit writes: at 5 KB events, batches of about ten events fall in
// about ten groups, and each group's rows took as many B-tree updates as
// its events did. A store whose process owns the database (SQLite's
// owner lock: Config.OwesCounts) therefore lets a batch that follows the
// previous one within Linger commit its groups and events only, and owes
// their counts. It writes everything owed with the next batch that does
// not follow so closely, or one that carries a Flush; in a transaction of
// its own Linger after the last batch when none follows, once what is
// owed is MaxOwed old, and when the store closes; and in the transaction
// that changes a group's status (writeAfterCounts). The commit hook
// (alerts) runs then, on the outcomes of every batch owed, in their
// order.
//
// What is owed is only ever the counts of events committed, and it is
// found again after a crash: each group's last_event_id is the newest
// event its counts hold, so the events of a group above it are the events
// owed (loadOwed, at Open, by the owner only). A count, a chart or an
// alert is at most MaxOwed late; an event never is.

// MaxOwed is how long a store may owe the counts of events it has
// committed.
const MaxOwed = 250 * time.Millisecond

// owed is what the writer goroutine owes the group tables; only that
// goroutine (and Open, before it starts) touches it.
type owed struct {
	groups   map[int64]*groupAgg // by group id
	users    map[userPair]struct{}
	outcomes []store.Outcome // per batch and group, not settled
	since    time.Time       // when the oldest counts owed were committed
	// With Dialect.Owners: the events whose counts are owed, each
	// recorded in owed_events under this process's id; and whether
	// owed_events may hold rows of this process that ids does not list
	// (a commit whose answer was lost, an adoption not yet read).
	ids      []int64
	recorded bool
}

// due says whether what is owed must be written by now.
func (o *owed) due(now time.Time) bool {
	return len(o.groups) > 0 && now.Sub(o.since) >= MaxOwed
}

// add takes on the counts of groups (a batch's, committed) and its users.
func (o *owed) add(groups []*groupAgg, users map[userPair]struct{}, now time.Time) {
	if len(groups) == 0 {
		return
	}
	if o.groups == nil {
		o.groups, o.users = map[int64]*groupAgg{}, map[userPair]struct{}{}
	}
	if len(o.groups) == 0 || o.since.After(now) {
		o.since = now // counts found at Open are held no longer
	}
	for _, a := range groups {
		o.outcomes = append(o.outcomes, batchOutcome(a))
		if c := o.groups[a.id]; c != nil {
			c.merge(a)
		} else {
			o.groups[a.id] = a
		}
	}
	for p := range users {
		o.users[p] = struct{}{}
	}
}

func (o *owed) clear() {
	o.ids, o.recorded = nil, false
	if len(o.groups) == 0 {
		return
	}
	o.groups, o.users, o.outcomes, o.since = nil, nil, nil, time.Time{}
}

// deadline is when what is owed must be written; zero when nothing is.
func (o *owed) deadline() time.Time {
	if len(o.groups) == 0 {
		return time.Time{}
	}
	return o.since.Add(MaxOwed)
}

type groupState struct {
	count       int64
	status      string
	statusEvent int64
}

// groupStates reads the count and status of the groups ids that exist.
// With RowLocks (several processes), it locks them first, in the order
// of their keys, as a batch's groups are locked: every count written
// belongs to a group its transaction locked, in that order, so that no
// two processes deadlock, nor read a count another is about to change.
func (db *DB) groupStates(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]groupState, error) {
	out := make(map[int64]groupState, len(ids))
	if db.d.RowLocks && db.d.Arrays && len(ids) > 0 {
		rows, err := tx.QueryContext(ctx, `SELECT id, count, status, status_event FROM event_groups WHERE id = ANY($1) ORDER BY project_id, key FOR UPDATE`, ids)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var s groupState
			if err := rows.Scan(&id, &s.count, &s.status, &s.statusEvent); err != nil {
				return nil, err
			}
			out[id] = s
		}
		return out, rows.Err()
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		in, args := idList(ids[:n])
		rows, err := tx.QueryContext(ctx, db.q(`SELECT id, count, status, status_event FROM event_groups WHERE id IN `+in), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var s groupState
			if err := rows.Scan(&id, &s.count, &s.status, &s.statusEvent); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// settle writes what is owed in a transaction of its own (the writer
// goroutine's, when no batch came to carry it), with also's writes when
// set.
func (db *DB) settle(ctx context.Context, also func(context.Context, *sql.Tx) error) error {
	db.adoptNow(ctx)
	if len(db.owed.groups) == 0 && !db.owed.recorded && also == nil {
		return nil
	}
	if err := db.checkFile(); err != nil {
		return err
	}
	tx, err := db.w.BeginTx(withHint(ctx, lazyBegin), nil)
	if err != nil {
		return wrap("begin", err)
	}
	defer tx.Rollback()
	if len(db.owed.groups) > 0 || db.owed.recorded {
		if err := db.writeCounts(ctx, tx, nil, nil); err != nil {
			return err
		}
	}
	if also != nil {
		if err := also(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap("commit", err)
	}
	db.owed.clear()
	return db.checkFile()
}

// loadOwed finds, at Open, the counts of the events a crash left owed:
// the events of each group above its last_event_id. Every group is
// looked at: an event owed is not always the newest (a process that
// does not own the file counts its own events, newer ones, before the
// next owner opens it). One probe of the index per group.
func (db *DB) loadOwed(ctx context.Context) error {
	// CROSS JOIN: each group's events above its last, through the index
	// on (group_id, id); a plain JOIN scanned every event in id order.
	order, users, err := db.owedEvents(ctx, db.w, `SELECT e.id, e.project_id, e.group_id, g.key, e.ts, e.received, e.level, e.title, g.culprit, e.environment, e.release, e.payload
FROM event_groups g CROSS JOIN events e ON e.group_id = g.id AND e.id > g.last_event_id ORDER BY e.id`)
	if err != nil {
		return err
	}
	db.owed.add(order, users, time.Now())
	// Written with the first batch, a Flush or Close, or after
	// HoldFound: by then the process has set its commit hook, which
	// alerts on them.
	db.owed.since = time.Now().Add(HoldFound - MaxOwed)
	return nil
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// owedEvents reads the counts of the events query selects (id,
// project_id, group_id, the group's key, ts, received, level, title, the
// group's culprit, environment, release, payload; in id order), as a
// batch would have made them.
func (db *DB) owedEvents(ctx context.Context, q queryer, query string, args ...any) ([]*groupAgg, map[userPair]struct{}, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, wrap("owed counts", err)
	}
	defer rows.Close()
	groups := map[int64]*groupAgg{}
	users := map[userPair]struct{}{}
	projects := map[int64]*store.Project{}
	var order []*groupAgg
	for rows.Next() {
		var id, ts, received int64
		var k groupKey
		var gid int64
		var l newest
		var payload []byte
		if err := rows.Scan(&id, &k.project, &gid, &k.key, &ts, &received, &l.level, &l.title, &l.culprit, &l.environment, &l.release, &payload); err != nil {
			return nil, nil, wrap("owed counts", err)
		}
		l.time = time.UnixMilli(ts)
		// The user and tags are in the payload only; an event that no
		// longer reads is counted without them.
		user := ""
		if in, scrubbed := db.reread(ctx, projects, k.project, payload, received); in != nil {
			l.tags, l.culprit = in.Tags, in.Culprit
			if !scrubbed {
				user = in.User
			}
		}
		a := groups[gid]
		if a == nil {
			a = &groupAgg{groupKey: k, id: gid, latest: l, minTS: ts, maxTS: ts}
			groups[gid] = a
			order = append(order, a)
		}
		if ts >= a.maxTS {
			a.latest, a.maxTS = l, ts
		}
		a.minTS = min(a.minTS, ts)
		if user != "" {
			users[userPair{gid, user}] = struct{}{}
		}
		a.add(id, ts, l.environment, l.release, user)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, wrap("owed counts", err)
	}
	return order, users, nil
}

// HoldFound is how long the counts Open found owed may wait for a batch
// to carry them.
const HoldFound = 5 * time.Second

// reread prepares a stored payload again, for what only it holds (the
// user, the tags); nil when it cannot. scrubbed says the user was
// scrubbed on arrival ([Filtered]): ingest counted the user it had, which
// is no longer known.
func (db *DB) reread(ctx context.Context, projects map[int64]*store.Project, project int64, payload []byte, received int64) (in *store.Incoming, scrubbed bool) {
	p, ok := projects[project]
	if !ok {
		p, _ = db.Project(ctx, project)
		projects[project] = p
	}
	if p == nil {
		return nil, false
	}
	js, err := store.Decompress(payload)
	if err != nil {
		return nil, false
	}
	ev, err := decode.Summary(js)
	if err != nil {
		return nil, false
	}
	if u := ev.User; u != nil {
		// The field the user key is made of (store's userKey).
		for _, v := range []string{u.ID, u.Email, u.Username, u.IPAddress} {
			if v != "" {
				scrubbed = v == store.Filtered
				break
			}
		}
	}
	in, err = store.Prepare(p, ev, nil, time.UnixMilli(received))
	if err != nil {
		return nil, false
	}
	return in, scrubbed
}

// writeAfterCounts runs write after what is owed is written, in the same
// transaction on the writer goroutine, where counts written later would
// contradict it: a group resolved before the counts of events that came
// earlier were written would be reopened by them. That is SQLite's way,
// where one process owes counts. On PostgreSQL, where every process may
// owe some, status_event is what keeps counts written later, by this
// process or another, from reopening the group, and write runs in a
// transaction of its own (a settle locks the groups owed, and write
// would lock its own after them, against the key order: a deadlock).
// So it does without counts owed (a process that does not own the
// SQLite file, a PostgreSQL store opened without OweCounts) and once
// the writer has stopped.
func (db *DB) writeAfterCounts(ctx context.Context, write func(context.Context, *sql.Tx) error) error {
	if db.owes && db.owner == nil {
		if err := db.wr.settleNow(ctx, write); !errors.Is(err, errStopped) {
			return err
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := write(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}
