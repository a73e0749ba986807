package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
)

type groupKey struct {
	project int64
	key     string
}

// groupAgg is what events add to one group: its count, users, time
// buckets and values seen.
type groupAgg struct {
	groupKey
	latest       newest // of the newest timestamp: title, culprit, level
	minTS, maxTS int64
	id           int64
	prevCount    int64
	prevStatus   string
	statusEvent  int64 // the newest event when its status last changed
	n            int64
	lastEvent    int64
	users        int64
	buckets      map[int64]int64 // minute → n
	hours        map[int64]int64
	seen         map[seenKey]*seenAgg
}

// newest is what a group takes of its newest event, and an alert rule
// filters on: copied, so that what the writer owes keeps no payload.
type newest struct {
	title, culprit, level string
	environment, release  string
	tags                  map[string]string
	time                  time.Time
}

func newestOf(in *store.Incoming) newest {
	return newest{in.Title, in.Culprit, in.Level, in.Environment, in.Release, in.Tags, in.Timestamp}
}

type seenKey struct{ kind, value string }

type seenAgg struct {
	n, first, last int64
}

type userPair struct {
	group int64
	user  string
}

// add counts one stored event (store id id, timestamp ts ms) into a.
func (a *groupAgg) add(id, ts int64, environment, release, user string) {
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
	for _, s := range [...]seenKey{{"environment", environment}, {"release", release}, {"user", user}} {
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

// merge adds b's counts to a (b unchanged).
func (a *groupAgg) merge(b *groupAgg) {
	if b.maxTS >= a.maxTS {
		a.latest, a.maxTS = b.latest, b.maxTS
	}
	a.minTS = min(a.minTS, b.minTS)
	a.n += b.n
	a.lastEvent = max(a.lastEvent, b.lastEvent)
	if a.buckets == nil {
		a.buckets, a.hours, a.seen = map[int64]int64{}, map[int64]int64{}, map[seenKey]*seenAgg{}
	}
	for at, n := range b.buckets {
		a.buckets[at] += n
	}
	for at, n := range b.hours {
		a.hours[at] += n
	}
	for k, s := range b.seen {
		if t := a.seen[k]; t != nil {
			t.n += s.n
			t.first = min(t.first, s.first)
			t.last = max(t.last, s.last)
		} else {
			c := *s
			a.seen[k] = &c
		}
	}
}

// clone is a copy of a that merging into leaves a as it is.
func (a *groupAgg) clone() *groupAgg {
	c := &groupAgg{groupKey: a.groupKey, latest: a.latest, minTS: a.minTS, maxTS: a.maxTS, id: a.id, prevCount: a.prevCount, prevStatus: a.prevStatus, statusEvent: a.statusEvent}
	c.merge(a)
	return c
}

const (
	qInsertEventsHead = `INSERT INTO events (project_id, group_id, event_id, ts, received, level, title, environment, release, size, stored, payload, trace_id)`
	qInsertEventsTail = `ON CONFLICT (project_id, event_id) DO NOTHING RETURNING id, project_id, event_id`
	// qUpdateGroupsHead VALUES (…), … qUpdateGroupsTail updates every
	// group of a batch in one statement (UPDATE … FROM; SQLite 3.33+).
	// SET expressions read the row's old values. One statement: on
	// SQLite, FTS5 flushes its pending index data at each statement, so
	// one UPDATE per group wrote one tiny index segment per group; on
	// PostgreSQL (in qCountsArrays), a statement per group took a round
	// trip each, ten per batch at 5 KB events.
	qUpdateGroupsHead = `WITH v(id, n, users, min_ts, max_ts, title, culprit, level, last_event) AS (`
	qUpdateGroupsTail = `) UPDATE event_groups SET
  count = event_groups.count + v.n,
  users = event_groups.users + v.users,
  first_seen = {least}(event_groups.first_seen, v.min_ts),
  last_seen = {greatest}(event_groups.last_seen, v.max_ts),
  title = CASE WHEN event_groups.last_seen <= v.max_ts THEN v.title ELSE event_groups.title END,
  culprit = CASE WHEN event_groups.last_seen <= v.max_ts THEN v.culprit ELSE event_groups.culprit END,
  level = CASE WHEN event_groups.last_seen <= v.max_ts THEN v.level ELSE event_groups.level END,
  regression = CASE WHEN event_groups.status = 'resolved' AND v.last_event > event_groups.status_event THEN 1 ELSE event_groups.regression END,
  status = CASE WHEN event_groups.status = 'resolved' AND v.last_event > event_groups.status_event THEN 'unresolved' ELSE event_groups.status END,
  last_event_id = {greatest}(event_groups.last_event_id, v.last_event)
FROM v WHERE event_groups.id = v.id`
	// qDeleteEmpty deletes a group a batch created for duplicates only;
	// not one with events, whose counts another process may owe.
	qDeleteEmpty = `DELETE FROM event_groups WHERE id = ? AND count = 0 AND NOT EXISTS (SELECT 1 FROM events WHERE group_id = ?)`
)

// multiRow is a statement head VALUES (…), (…) tail, of one column per
// letter of types: i a 64-bit integer, t text, b bytes. With a
// Dialect's Arrays, it is head SELECT * FROM unnest(…) tail instead, of
// one array parameter per column, whatever the number of rows.
type multiRow struct {
	head  string
	types string
	tail  string
}

var (
	// mGroups creates the batch's new groups and locks and reads all of
	// them (a conflict "updates" count to itself, so that RETURNING gives
	// the row): one statement, and on PostgreSQL one round trip, where a
	// statement per group took ten.
	mGroups = multiRow{`INSERT INTO event_groups (project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id, grouping)`, "ittttiiitiii",
		`ON CONFLICT (project_id, key) DO UPDATE SET count = event_groups.count
RETURNING id, count, status, status_event, project_id, key`}
	// mFindGroups reads the batch's groups that exist, without writing
	// them (OneWriter: no lock to take); mGroups then creates the others.
	mFindGroups   = multiRow{`SELECT id, count, status, status_event, project_id, key FROM event_groups WHERE (project_id, key) IN (`, "it", `)`}
	mEvents       = multiRow{qInsertEventsHead, "iitiittttiibt", qInsertEventsTail}
	mUsers        = multiRow{`INSERT INTO group_users (group_id, user_key)`, "it", `ON CONFLICT (group_id, user_key) DO NOTHING RETURNING group_id`}
	mUpdateGroups = multiRow{qUpdateGroupsHead, "iiiiittti", qUpdateGroupsTail}
	mMinutes      = multiRow{`INSERT INTO group_minutes (group_id, bucket, n)`, "iii", `ON CONFLICT (group_id, bucket) DO UPDATE SET n = group_minutes.n + excluded.n`}
	mHours        = multiRow{`INSERT INTO group_hours (group_id, bucket, n)`, "iii", `ON CONFLICT (group_id, bucket) DO UPDATE SET n = group_hours.n + excluded.n`}
	mSeen         = multiRow{`INSERT INTO group_seen (group_id, kind, value, n, first_seen, last_seen)`, "ittiii", `ON CONFLICT (group_id, kind, value) DO UPDATE SET n = group_seen.n + excluded.n,
  first_seen = {least}(group_seen.first_seen, excluded.first_seen),
  last_seen = {greatest}(group_seen.last_seen, excluded.last_seen)`}
	// multiRows are prepared once on SQLite (see prepareWrites).
	multiRows = []multiRow{mFindGroups, mGroups, mEvents, mUsers, mUpdateGroups, mMinutes, mHours, mSeen}
)

// qCountsArrays is, for a Dialect with Arrays, mUsers, mUpdateGroups,
// mMinutes, mHours and mSeen in one statement: data-modifying WITH
// clauses, each on its own table, each run to its end though nothing
// reads it. A group's new users are counted from what the insert into
// group_users returns (v.users is 0). No array may hold a key twice (an
// UPDATE … FROM would apply one of the rows, ON CONFLICT DO UPDATE
// fails): each comes from a Go map. Every row written belongs to a group
// the transaction locked before, in the order of their keys, so the
// clauses' order cannot deadlock two processes.
var qCountsArrays = `WITH us AS (` + mUsers.arrayText() + `
), nu AS (SELECT group_id, count(*) AS n FROM us GROUP BY group_id
), v AS (SELECT v.id, v.n, v.users + COALESCE(nu.n, 0) AS users, v.min_ts, v.max_ts, v.title, v.culprit, v.level, v.last_event
  FROM (` + mUpdateGroups.unnest() + `) AS v(id, n, users, min_ts, max_ts, title, culprit, level, last_event)
  LEFT JOIN nu ON nu.group_id = v.id
), u AS (` + strings.TrimPrefix(qUpdateGroupsTail, ") ") + `
), m AS (` + mMinutes.arrayText() + `
), h AS (` + mHours.arrayText() + `
) ` + mSeen.arrayText()

// perStatement is how many rows of m one statement of VALUES takes: at
// most 400 parameters.
func (m multiRow) perStatement() int { return max(1, 400/len(m.types)) }

// text is m's statement for n rows, before rebinding.
func (m multiRow) text(n int) string {
	one := "(" + strings.Repeat("?, ", len(m.types)-1) + "?)"
	var q strings.Builder
	q.WriteString(m.head)
	q.WriteString(" VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(one)
	}
	q.WriteString(" ")
	q.WriteString(m.tail)
	return q.String()
}

// unnest is the SELECT of m's rows from one array parameter per column.
func (m multiRow) unnest() string {
	casts := make([]string, len(m.types))
	for i, t := range m.types {
		if casts[i] = arrayParam[t]; casts[i] == "" {
			panic(fmt.Sprintf("sqlstore: type %q of %.40s", t, m.head)) // at init: a typo in types
		}
	}
	return "SELECT * FROM unnest(" + strings.Join(casts, ", ") + ")"
}

var arrayParam = map[rune]string{'i': "?::bigint[]", 't': "?::text[]", 'b': "?::bytea[]"}

// arrayText is m's statement with Arrays, before rebinding.
func (m multiRow) arrayText() string { return m.head + " " + m.unnest() + " " + m.tail }

// arrays are rows as m's array parameters, one per column: []int64,
// []string or [][]byte.
func (m multiRow) arrays(rows [][]any) ([]any, error) {
	cols := make([]any, len(m.types))
	ints := func(c int) []int64 { col := make([]int64, len(rows)); cols[c] = col; return col }
	texts := func(c int) []string { col := make([]string, len(rows)); cols[c] = col; return col }
	blobs := func(c int) [][]byte { col := make([][]byte, len(rows)); cols[c] = col; return col }
	for i, r := range rows {
		if len(r) != len(m.types) {
			return nil, fmt.Errorf("row %d of %.40s…: %d values for %d columns", i, m.head, len(r), len(m.types))
		}
	}
	for c, t := range m.types {
		bad := -1
		switch t {
		case 'i':
			col := ints(c)
			for i, r := range rows {
				switch v := r[c].(type) {
				case int64:
					col[i] = v
				case int:
					col[i] = int64(v)
				default:
					bad = i
				}
			}
		case 't':
			col := texts(c)
			for i, r := range rows {
				v, ok := r[c].(string)
				if !ok {
					bad = i
				}
				col[i] = v
			}
		case 'b':
			col := blobs(c)
			for i, r := range rows {
				v, ok := r[c].([]byte)
				if !ok {
					bad = i
				}
				col[i] = v
			}
		}
		if bad >= 0 {
			return nil, fmt.Errorf("row %d, column %d of %.40s…: %T, not of type %c", bad, c, m.head, rows[bad][c], t)
		}
	}
	return cols, nil
}

// commit writes a batch in one transaction. Groups are locked in (project,
// key) order and count rows in (group, bucket) order, so that two
// processes committing at once on PostgreSQL never deadlock.
//
// On a OneWriter store, the batch's counts may be owed rather than
// written (counts.go): unless settle is set, or the counts owed are
// MaxOwed old, the transaction writes the groups and events only, and
// the counts join what is owed once it has committed.
func (db *DB) commit(ctx context.Context, batch []*store.Incoming, settle bool) error {
	if err := db.resolveGroups(ctx, batch); err != nil {
		return err
	}
	// Whether what is owed is written is decided once: a batch whose
	// groups are locked must not then lock others (below).
	settle = settle || db.owed.due(time.Now())
	if db.owner != nil && settle {
		// Several processes (owners.go): what is owed is written in a
		// transaction of its own, which locks its groups in the order of
		// their keys; locked after the batch's, they would not be in
		// that order.
		if err := db.settle(ctx, nil); err != nil {
			return err
		}
		settle = true
	}
	aggs := map[groupKey]*groupAgg{}
	for _, in := range batch {
		k := groupKey{in.ProjectID, in.GroupKey}
		a := aggs[k]
		ts := ms(in.Timestamp)
		if a == nil {
			a = &groupAgg{groupKey: k, latest: newestOf(in), minTS: ts, maxTS: ts}
			aggs[k] = a
		}
		if ts >= a.maxTS {
			a.latest, a.maxTS = newestOf(in), ts
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

	if err := db.checkFile(); err != nil {
		return err
	}
	tx, err := db.w.BeginTx(withHint(ctx, lazyBegin), nil)
	if err != nil {
		return wrap("begin", err)
	}
	defer tx.Rollback()

	// Groups, created or locked (in the order of their keys) and read.
	// With OneWriter, the groups that exist are read first, and only the
	// others written: an upsert rewrote each group's row and its count
	// index entry in every batch.
	readGroup := func(r *sql.Rows) error {
		var k groupKey
		var id, count, statusEvent int64
		var status string
		if err := r.Scan(&id, &count, &status, &statusEvent, &k.project, &k.key); err != nil {
			return err
		}
		if a := aggs[k]; a != nil {
			a.id, a.prevCount, a.prevStatus, a.statusEvent = id, count, status, statusEvent
		}
		return nil
	}
	create := order
	if db.d.OneWriter {
		find := make([][]any, len(order))
		for i, a := range order {
			find[i] = []any{a.project, a.key}
		}
		if err := db.insertRows(ctx, tx, mFindGroups, find, readGroup); err != nil {
			return wrap("find groups", err)
		}
		create = nil
		for _, a := range order {
			if a.id == 0 {
				create = append(create, a)
			}
		}
	}
	groupRows := make([][]any, len(create))
	for i, a := range create {
		l := a.latest
		groupRows[i] = []any{a.project, a.key, l.title, l.culprit, l.level, 0, a.minTS, a.maxTS, string(store.StatusUnresolved), 0, 0, event.Grouping}
	}
	if err := db.insertRows(ctx, tx, mGroups, groupRows, readGroup); err != nil {
		return wrap("upsert groups", err)
	}
	for _, a := range order {
		if a.id == 0 {
			return wrap("upsert groups", fmt.Errorf("group %q not returned", a.key))
		}
	}

	// Events, many rows per statement; RETURNING names the ones
	// inserted, the others being duplicates stored before (or earlier in
	// this batch).
	type evKey struct {
		project int64
		id      string
	}
	inserted := make(map[evKey]int64, len(batch))
	users := map[userPair]struct{}{}
	rows := make([][]any, 0, len(batch))
	for _, in := range batch {
		a := aggs[groupKey{in.ProjectID, in.GroupKey}]
		rows = append(rows, []any{in.ProjectID, a.id, in.EventID, ms(in.Timestamp), ms(in.Received), in.Level, in.Title,
			in.Environment, in.Release, in.Size, len(in.Payload), in.Payload, in.TraceID})
	}
	err = db.insertRows(ctx, tx, mEvents, rows, func(r *sql.Rows) error {
		var k evKey
		var id int64
		if err := r.Scan(&id, &k.project, &k.id); err != nil {
			return err
		}
		inserted[k] = id
		return nil
	})
	if err != nil {
		return wrap("insert events", err)
	}
	ids := make([]int64, 0, len(batch))
	for _, in := range batch {
		k := evKey{in.ProjectID, in.EventID}
		id, ok := inserted[k]
		if !ok {
			continue // a duplicate
		}
		delete(inserted, k) // a second copy in this batch is not counted
		ids = append(ids, id)
		a := aggs[groupKey{in.ProjectID, in.GroupKey}]
		if in.User != "" {
			users[userPair{a.id, in.User}] = struct{}{}
		}
		a.add(id, ms(in.Timestamp), in.Environment, in.Release, in.User)
	}
	var counted []*groupAgg
	for _, a := range order {
		if a.n > 0 {
			counted = append(counted, a)
			continue
		}
		if a.prevCount == 0 && db.owed.groups[a.id] == nil {
			// Created for duplicates only (an event id resent with
			// other contents): leave no empty group behind.
			if _, err := tx.ExecContext(ctx, db.q(qDeleteEmpty), a.id, a.id); err != nil {
				return wrap("delete empty group", err)
			}
		}
	}

	if db.owes && !settle {
		if db.owner != nil && len(ids) > 0 {
			// Recorded before the commit's answer: one that is lost may
			// have committed them.
			db.owed.recorded = true
			if _, err := tx.ExecContext(withHint(ctx, deferrable), qOwe, db.owner.id, ids); err != nil {
				return wrap("owed counts", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return wrap("commit", err)
		}
		db.owed.add(counted, users, time.Now())
		if db.owner != nil {
			db.owed.ids = append(db.owed.ids, ids...)
		}
		return db.checkFile()
	}
	if err := db.writeCounts(ctx, tx, counted, users); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrap("commit", err)
	}
	db.owed.clear()
	// Acknowledged only if the file committed to is still the one a
	// reader (or a restart) finds.
	return db.checkFile()
}

// writeCounts writes, in tx, the counts of batch (its groups, each with
// prevCount and prevStatus read in tx) and those owed, and runs the
// commit hook on their outcomes. What is owed is left as it is: the
// caller clears it once tx has committed.
func (db *DB) writeCounts(ctx context.Context, tx *sql.Tx, batch []*groupAgg, batchUsers map[userPair]struct{}) error {
	if db.owner != nil && (len(db.owed.ids) > 0 || db.owed.recorded) {
		if err := db.claimOwed(ctx, tx); err != nil {
			return err
		}
	}
	groups := make(map[int64]*groupAgg, len(batch)+len(db.owed.groups))
	for _, a := range batch {
		groups[a.id] = a
	}
	if len(db.owed.groups) > 0 {
		// Groups owed counts and not in this batch: read now; one deleted
		// since (DeleteGroup) is left out, with its counts.
		var ids []int64
		for id := range db.owed.groups {
			if groups[id] == nil {
				ids = append(ids, id)
			}
		}
		prev, err := db.groupStates(ctx, tx, ids)
		if err != nil {
			return wrap("owed counts", err)
		}
		for id, o := range db.owed.groups {
			if a := groups[id]; a != nil {
				c := o.clone()
				c.groupKey, c.prevCount, c.prevStatus, c.statusEvent = a.groupKey, a.prevCount, a.prevStatus, a.statusEvent
				c.merge(a)
				groups[id] = c
			} else if p, ok := prev[id]; ok {
				c := o.clone()
				c.prevCount, c.prevStatus, c.statusEvent = p.count, p.status, p.statusEvent
				groups[id] = c
			}
		}
	}
	// The outcomes of the batches owed, in their order, then this
	// batch's.
	outs := make([]store.Outcome, 0, len(db.owed.outcomes)+len(batch))
	for _, o := range db.owed.outcomes {
		if groups[o.GroupID] != nil {
			outs = append(outs, o)
		}
	}
	for _, a := range batch {
		outs = append(outs, batchOutcome(a))
	}
	outcomes := settle(outs, groups)
	order := make([]*groupAgg, 0, len(groups))
	for _, a := range groups {
		a.users = 0 // counted below, again if an earlier try rolled back
		order = append(order, a)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].id < order[j].id })

	// Users: the pairs new to group_users are new users of their group.
	// (With Arrays, qCountsArrays inserts and counts them.)
	pairs := make([]userPair, 0, len(batchUsers)+len(db.owed.users))
	for p := range batchUsers {
		pairs = append(pairs, p)
	}
	for p := range db.owed.users {
		if _, ok := batchUsers[p]; !ok && groups[p.group] != nil {
			pairs = append(pairs, p)
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].group != pairs[j].group {
			return pairs[i].group < pairs[j].group
		}
		return pairs[i].user < pairs[j].user
	})
	userRows := make([][]any, len(pairs))
	for i, p := range pairs {
		userRows[i] = []any{p.group, p.user}
	}
	if len(pairs) > 0 && !db.d.Arrays {
		err := db.insertRows(ctx, tx, mUsers, userRows, func(r *sql.Rows) error {
			var g int64
			if err := r.Scan(&g); err != nil {
				return err
			}
			groups[g].users++
			return nil
		})
		if err != nil {
			return wrap("users", err)
		}
	}

	var updRows [][]any
	type bucket struct{ group, at, n int64 }
	var minutes, hours []bucket
	type seenRow struct {
		group int64
		seenKey
		*seenAgg
	}
	var seen []seenRow
	for _, a := range order {
		l := a.latest
		updRows = append(updRows, []any{a.id, a.n, a.users, a.minTS, a.maxTS, l.title, l.culprit, l.level, a.lastEvent})
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
	byBucket := func(rows []bucket) {
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].group != rows[j].group {
				return rows[i].group < rows[j].group
			}
			return rows[i].at < rows[j].at
		})
	}
	byBucket(minutes)
	byBucket(hours)
	sort.Slice(seen, func(i, j int) bool {
		if seen[i].group != seen[j].group {
			return seen[i].group < seen[j].group
		}
		if seen[i].kind != seen[j].kind {
			return seen[i].kind < seen[j].kind
		}
		return seen[i].value < seen[j].value
	})

	minuteRows := make([][]any, len(minutes))
	for i, b := range minutes {
		minuteRows[i] = []any{b.group, b.at, b.n}
	}
	hourRows := make([][]any, len(hours))
	for i, b := range hours {
		hourRows[i] = []any{b.group, b.at, b.n}
	}
	seenRows := make([][]any, len(seen))
	for i, s := range seen {
		seenRows[i] = []any{s.group, s.kind, s.value, s.n, s.first, s.last}
	}
	if db.d.Arrays {
		// One statement of one text, whatever the batch: one round trip
		// where five took one each, and a statement the server keeps
		// prepared.
		var args []any
		for _, t := range []struct {
			m    multiRow
			rows [][]any
		}{{mUsers, userRows}, {mUpdateGroups, updRows}, {mMinutes, minuteRows}, {mHours, hourRows}, {mSeen, seenRows}} {
			a, err := t.m.arrays(t.rows)
			if err != nil {
				return wrap("counts", err)
			}
			args = append(args, a...)
		}
		if _, err := tx.ExecContext(withHint(ctx, deferrable), db.q(qCountsArrays), args...); err != nil {
			return wrap("counts", err)
		}
	} else {
		for _, t := range []struct {
			m    multiRow
			rows [][]any
			what string
		}{{mUpdateGroups, updRows, "update groups"}, {mMinutes, minuteRows, "count"}, {mHours, hourRows, "count"}, {mSeen, seenRows, "seen"}} {
			if err := db.insertRows(ctx, tx, t.m, t.rows, nil); err != nil {
				return wrap(t.what, err)
			}
		}
	}
	return db.runHook(ctx, tx, outcomes)
}

// batchOutcome is a's outcome before it is settled: the batch's count and
// newest event.
func batchOutcome(a *groupAgg) store.Outcome {
	l := a.latest
	return store.Outcome{ProjectID: a.project, GroupID: a.id, Count: a.n, LastEventID: a.lastEvent,
		Title: l.title, Culprit: l.culprit, Level: l.level, Environment: l.environment, Release: l.release,
		Tags: l.tags, Time: l.time}
}

// settle says what each outcome means (outs in the order of their
// batches; groups holds each one's group, with the count, status and
// status_event it had before the counts written): new for the group's
// first outcome; a regression for the outcome that reopens a resolved
// group, the one whose events are the first newer than the status
// change (status_event: only such an event reopens it, as the update of
// its row says; outcomes adopted from another process come after this
// process's own, so the first in the list need not be that one); and
// the group's total after it.
func settle(outs []store.Outcome, groups map[int64]*groupAgg) []store.Outcome {
	reopener := map[int64]int64{} // the LastEventID of the outcome reopening each group
	for _, o := range outs {
		g := groups[o.GroupID]
		if g.prevStatus == string(store.StatusResolved) && o.LastEventID > g.statusEvent {
			if r, ok := reopener[o.GroupID]; !ok || o.LastEventID < r {
				reopener[o.GroupID] = o.LastEventID
			}
		}
	}
	total := make(map[int64]int64, len(groups))
	for i := range outs {
		o := &outs[i]
		g := groups[o.GroupID]
		t, seen := total[o.GroupID]
		if !seen {
			o.New = g.prevCount == 0
			t = g.prevCount
		}
		if r, ok := reopener[o.GroupID]; ok && r == o.LastEventID {
			o.Regression = true
			delete(reopener, o.GroupID)
		}
		t += o.Count
		total[o.GroupID] = t
		o.Total = t
	}
	return outs
}

// idle runs Dialect.CatchUp once a CatchUpInterval has passed since the
// last time, on the writer goroutine between batches.
func (db *DB) idle(life context.Context) {
	db.adoptNow(life)
	if db.d.CatchUp != nil && time.Since(db.caughtUp) >= CatchUpInterval {
		ctx, cancel := context.WithTimeout(life, 30*time.Second)
		defer cancel()
		db.catchUp(ctx)
	}
}

// catchUp runs Dialect.CatchUp in a transaction of its own: its failure
// costs no event, and is reported to OnError.
func (db *DB) catchUp(ctx context.Context) {
	if db.d.CatchUp == nil {
		return
	}
	db.caughtUp = time.Now()
	err := func() error {
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := db.d.CatchUp(ctx, tx); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		db.hookErr(fmt.Errorf("errlog: store: catch up: %w", err))
	}
}

// prepareWrites prepares, on SQLite (one write connection), the
// multi-row statements for 1, 2, 4, … rows, which insertRows splits its
// rows into: parsing a statement of 30 rows on each commit cost a sixth
// of the writer's time. (PostgreSQL's driver prepares each statement of
// arrays on first use, on each connection: one text whatever the batch.)
func (db *DB) prepareWrites(ctx context.Context) error {
	if !db.fixedRows() {
		return nil
	}
	for _, m := range multiRows {
		for n := 1; n <= m.perStatement(); n *= 2 {
			q := db.q(m.text(n))
			st, err := db.w.PrepareContext(ctx, q)
			if err != nil {
				return wrap("prepare", err)
			}
			db.stmts.Store(q, st)
		}
	}
	return nil
}

// fixedRows says whether insertRows uses statements of VALUES of 2^k
// rows prepared by prepareWrites (SQLite, OneWriter) rather than
// statements of arrays (PostgreSQL, Arrays). Open requires one of the two.
func (db *DB) fixedRows() bool { return db.d.OneWriter && !db.d.Arrays }

// maxArrayBytes bounds the bytes (payloads) of one statement of arrays:
// PostgreSQL refuses a message of 1 GB, and each statement's arguments
// are held twice while it is sent.
const maxArrayBytes = 16 << 20

// arrayRows is how many of rows one statement of arrays takes: rows
// until their bytes ([]byte values) reach max, that row included; one
// at least.
func arrayRows(rows [][]any, max int) int {
	n, size := 0, 0
	for n < len(rows) && (n == 0 || size < max) {
		for _, v := range rows[n] {
			if b, ok := v.([]byte); ok {
				size += len(b)
			}
		}
		n++
	}
	return n
}

// insertRows runs m for rows, each statement, when scan is set, a query
// whose rows scan reads (RETURNING): with Arrays, one statement of
// arrays for up to maxArrayBytes of payloads; else statements of VALUES
// of 2^k rows and at most 400 parameters, prepared once.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, m multiRow, rows [][]any, scan func(*sql.Rows) error) error {
	for len(rows) > 0 {
		var query string
		var args []any
		var n int
		if db.fixedRows() {
			n = min(m.perStatement(), len(rows))
			for n&(n-1) != 0 {
				n &= n - 1 // the largest power of two ≤ n
			}
			query = db.q(m.text(n))
			args = make([]any, 0, n*len(m.types))
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
		} else {
			n = arrayRows(rows, maxArrayBytes)
			var err error
			if args, err = m.arrays(rows[:n]); err != nil {
				return err
			}
			query = db.q(m.arrayText())
		}
		var st *sql.Stmt
		if v, ok := db.stmts.Load(query); ok {
			st = tx.StmtContext(ctx, v.(*sql.Stmt))
		}
		if scan == nil {
			var err error
			if st != nil {
				_, err = st.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, query, args...)
			}
			if err != nil {
				return err
			}
		} else {
			var rs *sql.Rows
			var err error
			if st != nil {
				rs, err = st.QueryContext(ctx, args...)
			} else {
				rs, err = tx.QueryContext(ctx, query, args...)
			}
			if err != nil {
				return err
			}
			for rs.Next() {
				if err := scan(rs); err != nil {
					rs.Close()
					return err
				}
			}
			if err := rs.Close(); err != nil {
				return err
			}
			if err := rs.Err(); err != nil {
				return err
			}
		}
		rows = rows[n:]
	}
	return nil
}
