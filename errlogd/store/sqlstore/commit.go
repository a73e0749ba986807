package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/errlog/errlog/errlogd/store"
)

type groupKey struct {
	project int64
	key     string
}

type groupAgg struct {
	groupKey
	latest       *store.Incoming // newest timestamp: title, culprit, level
	minTS, maxTS int64
	id           int64
	prevCount    int64
	n            int64
	lastEvent    int64
	buckets      map[int64]int64 // minute → n
	hours        map[int64]int64
	seen         map[seenKey]*seenAgg
}

type seenKey struct{ kind, value string }

type seenAgg struct {
	n, first, last int64
}

const (
	qUpsertGroup = `INSERT INTO event_groups (project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id)
VALUES (?, ?, ?, ?, ?, 0, ?, ?, 'unresolved', 0, 0)
ON CONFLICT (project_id, key) DO UPDATE SET count = event_groups.count
RETURNING id, count`
	qInsertEvent = `INSERT INTO events (project_id, group_id, event_id, ts, received, level, title, environment, release, size, stored, payload)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (project_id, event_id) DO NOTHING
RETURNING id`
	qUpdateGroup = `UPDATE event_groups SET
  count = count + ?,
  first_seen = {least}(first_seen, ?),
  last_seen = {greatest}(last_seen, ?),
  title = CASE WHEN last_seen <= ? THEN ? ELSE title END,
  culprit = CASE WHEN last_seen <= ? THEN ? ELSE culprit END,
  level = CASE WHEN last_seen <= ? THEN ? ELSE level END,
  regression = CASE WHEN status = 'resolved' THEN 1 ELSE regression END,
  status = CASE WHEN status = 'resolved' THEN 'unresolved' ELSE status END,
  last_event_id = {greatest}(last_event_id, ?)
WHERE id = ?`
	qCountMinute = `INSERT INTO group_minutes (group_id, bucket, n) VALUES (?, ?, ?)
ON CONFLICT (group_id, bucket) DO UPDATE SET n = group_minutes.n + excluded.n`
	qCountHour = `INSERT INTO group_hours (group_id, bucket, n) VALUES (?, ?, ?)
ON CONFLICT (group_id, bucket) DO UPDATE SET n = group_hours.n + excluded.n`
	qSeen = `INSERT INTO group_seen (group_id, kind, value, n, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (group_id, kind, value) DO UPDATE SET n = group_seen.n + excluded.n,
  first_seen = {least}(group_seen.first_seen, excluded.first_seen),
  last_seen = {greatest}(group_seen.last_seen, excluded.last_seen)`
	qDeleteEmpty = `DELETE FROM event_groups WHERE id = ? AND count = 0`
)

var writeQueries = []string{qUpsertGroup, qInsertEvent, qUpdateGroup, qCountMinute, qCountHour, qSeen}

// commit writes a batch in one transaction. Groups are locked in (project,
// key) order and count rows in (group, bucket) order, so that two
// processes committing at once on PostgreSQL never deadlock.
func (db *DB) commit(ctx context.Context, batch []*store.Incoming) error {
	aggs := map[groupKey]*groupAgg{}
	for _, in := range batch {
		k := groupKey{in.ProjectID, in.GroupKey}
		a := aggs[k]
		ts := ms(in.Timestamp)
		if a == nil {
			a = &groupAgg{groupKey: k, latest: in, minTS: ts, maxTS: ts}
			aggs[k] = a
		}
		if ts >= a.maxTS {
			a.latest, a.maxTS = in, ts
		}
		if ts < a.minTS {
			a.minTS = ts
		}
	}
	order := make([]*groupAgg, 0, len(aggs))
	for _, a := range aggs {
		order = append(order, a)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].project != order[j].project {
			return order[i].project < order[j].project
		}
		return order[i].key < order[j].key
	})

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin", err)
	}
	defer tx.Rollback()

	upsert, err := db.stmt(ctx, tx, qUpsertGroup)
	if err != nil {
		return wrap("prepare", err)
	}
	for _, a := range order {
		l := a.latest
		if err := upsert.QueryRowContext(ctx, a.project, a.key, l.Title, l.Culprit, l.Level, a.minTS, a.maxTS).Scan(&a.id, &a.prevCount); err != nil {
			return wrap("upsert group", err)
		}
	}

	ins, err := db.stmt(ctx, tx, qInsertEvent)
	if err != nil {
		return wrap("prepare", err)
	}
	for _, in := range batch {
		a := aggs[groupKey{in.ProjectID, in.GroupKey}]
		ts := ms(in.Timestamp)
		var id int64
		err := ins.QueryRowContext(ctx, in.ProjectID, a.id, in.EventID, ts, ms(in.Received), in.Level, in.Title,
			in.Environment, in.Release, in.Size, len(in.Payload), in.Payload).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue // a duplicate: stored before
		}
		if err != nil {
			return wrap("insert event", err)
		}
		a.n++
		if id > a.lastEvent {
			a.lastEvent = id
		}
		if a.buckets == nil {
			a.buckets, a.hours, a.seen = map[int64]int64{}, map[int64]int64{}, map[seenKey]*seenAgg{}
		}
		sec := ts / 1000
		a.buckets[sec-sec%60]++
		a.hours[sec-sec%3600]++
		for _, s := range [...]seenKey{{"environment", in.Environment}, {"release", in.Release}} {
			if s.value == "" {
				continue
			}
			sa := a.seen[s]
			if sa == nil {
				sa = &seenAgg{first: ts, last: ts}
				a.seen[s] = sa
			}
			sa.n++
			sa.first = min(sa.first, ts)
			sa.last = max(sa.last, ts)
		}
	}

	upd, err := db.stmt(ctx, tx, qUpdateGroup)
	if err != nil {
		return wrap("prepare", err)
	}
	type bucket struct{ group, at, n int64 }
	var minutes, hours []bucket
	type seenRow struct {
		group int64
		seenKey
		*seenAgg
	}
	var seen []seenRow
	for _, a := range order {
		if a.n == 0 {
			if a.prevCount == 0 {
				// Created for duplicates only (an event id resent with
				// other contents): leave no empty group behind.
				if _, err := tx.ExecContext(ctx, db.q(qDeleteEmpty), a.id); err != nil {
					return wrap("delete empty group", err)
				}
			}
			continue
		}
		l := a.latest
		if _, err := upd.ExecContext(ctx, a.n, a.minTS, a.maxTS, a.maxTS, l.Title, a.maxTS, l.Culprit, a.maxTS, l.Level, a.lastEvent, a.id); err != nil {
			return wrap("update group", err)
		}
		for at, n := range a.buckets {
			minutes = append(minutes, bucket{a.id, at, n})
		}
		for at, n := range a.hours {
			hours = append(hours, bucket{a.id, at, n})
		}
		for k, s := range a.seen {
			seen = append(seen, seenRow{a.id, k, s})
		}
	}
	for _, t := range []struct {
		table string
		rows  []bucket
		query string
	}{{"group_minutes", minutes, qCountMinute}, {"group_hours", hours, qCountHour}} {
		rows := t.rows
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].group != rows[j].group {
				return rows[i].group < rows[j].group
			}
			return rows[i].at < rows[j].at
		})
		st, err := db.stmt(ctx, tx, t.query)
		if err != nil {
			return wrap("prepare", err)
		}
		for _, b := range rows {
			if _, err := st.ExecContext(ctx, b.group, b.at, b.n); err != nil {
				return wrap("count "+t.table, err)
			}
		}
	}
	sort.Slice(seen, func(i, j int) bool {
		if seen[i].group != seen[j].group {
			return seen[i].group < seen[j].group
		}
		if seen[i].kind != seen[j].kind {
			return seen[i].kind < seen[j].kind
		}
		return seen[i].value < seen[j].value
	})
	if len(seen) > 0 {
		st, err := db.stmt(ctx, tx, qSeen)
		if err != nil {
			return wrap("prepare", err)
		}
		for _, s := range seen {
			if _, err := st.ExecContext(ctx, s.group, s.kind, s.value, s.n, s.first, s.last); err != nil {
				return wrap("seen", err)
			}
		}
	}
	return wrap("commit", tx.Commit())
}

// stmt returns the statement for query in tx, prepared by Open on the
// write pool and reused: on SQLite's single write connection it is never
// parsed again. (It cannot be prepared here: tx holds that connection.)
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	v, ok := db.stmts.Load(query)
	if !ok {
		return nil, fmt.Errorf("statement not prepared: %.60s", query)
	}
	return tx.StmtContext(ctx, v.(*sql.Stmt)), nil
}

// prepareWrites prepares every statement commit uses.
func (db *DB) prepareWrites(ctx context.Context) error {
	for _, q := range writeQueries {
		st, err := db.w.PrepareContext(ctx, db.q(q))
		if err != nil {
			return wrap("prepare", err)
		}
		db.stmts.Store(q, st)
	}
	return nil
}
