package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

const groupCols = `g.id, g.project_id, g.key, g.title, g.culprit, g.level, g.count, g.users, g.first_seen, g.last_seen, g.status, g.regression, g.last_event_id`

func scanGroup(sc interface{ Scan(...any) error }) (store.Group, error) {
	var g store.Group
	var first, last, regression int64
	var status string
	err := sc.Scan(&g.ID, &g.ProjectID, &g.Key, &g.Title, &g.Culprit, &g.Level, &g.Count, &g.Users, &first, &last, &status, &regression, &g.LastEventID)
	g.FirstSeen, g.LastSeen, g.Status, g.Regression = fromMS(first), fromMS(last), store.Status(status), regression != 0
	return g, err
}

// LikePattern is the LIKE … ESCAPE '\' pattern of the strings containing
// s: its %, _ and \ are literal.
func LikePattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// ListGroups pages through groups with keyset pagination: the cursor is
// the last row's sort value and id.
func (db *DB) ListGroups(ctx context.Context, q store.GroupQuery) (*store.GroupPage, error) {
	col := "last_seen"
	switch q.Sort {
	case "", store.SortLastSeen:
	case store.SortFirstSeen:
		col = "first_seen"
	case store.SortCount:
		col = "count"
	default:
		return nil, fmt.Errorf("errlog: store: unknown sort %q", q.Sort)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if q.ProjectID != 0 {
		add("g.project_id = ?", q.ProjectID)
	}
	if q.Status != "" {
		add("g.status = ?", string(q.Status))
	}
	if q.Level != "" {
		add("g.level = ?", q.Level)
	}
	if q.Environment != "" {
		add("EXISTS (SELECT 1 FROM group_seen s WHERE s.group_id = g.id AND s.kind = 'environment' AND s.value = ?)", q.Environment)
	}
	if q.Release != "" {
		add("EXISTS (SELECT 1 FROM group_seen s WHERE s.group_id = g.id AND s.kind = 'release' AND s.value = ?)", q.Release)
	}
	if q.TraceID != "" {
		// "" (malformed) matches nothing: no event is stored with a
		// trace of "" in this index's rows.
		add("g.id IN (SELECT e.group_id FROM events e WHERE e.trace_id = ? AND e.trace_id <> '')", store.NormalizeTraceID(q.TraceID))
	}
	if !q.Since.IsZero() {
		add("g.last_seen >= ?", ms(q.Since))
	}
	if !q.Until.IsZero() {
		add("g.first_seen <= ?", ms(q.Until))
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		cond, cargs := "", []any(nil)
		if db.d.Search != nil {
			var err error
			if cond, cargs, err = db.d.Search(ctx, db.r, t); err != nil {
				return nil, wrap("search", err)
			}
		}
		if cond != "" {
			add(cond, cargs...)
		} else {
			p := LikePattern(t)
			add(`(g.title {ilike} ? ESCAPE '\' OR g.culprit {ilike} ? ESCAPE '\')`, p, p)
		}
	}
	if q.Cursor != "" {
		v, id, err := parseCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		add("(g."+col+" < ? OR (g."+col+" = ? AND g.id < ?))", v, v, id)
	}
	s := `SELECT ` + groupCols + ` FROM event_groups g`
	if len(where) > 0 {
		s += " WHERE " + strings.Join(where, " AND ")
	}
	s += " ORDER BY g." + col + " DESC, g.id DESC LIMIT " + strconv.Itoa(limit+1)
	rows, err := db.r.QueryContext(ctx, db.q(s), args...)
	if err != nil {
		return nil, wrap("list groups", err)
	}
	defer rows.Close()
	page := &store.GroupPage{Groups: []store.Group{}}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, wrap("list groups", err)
		}
		page.Groups = append(page.Groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list groups", err)
	}
	if len(page.Groups) > limit {
		page.Groups = page.Groups[:limit]
		last := page.Groups[limit-1]
		var v int64
		switch col {
		case "last_seen":
			v = ms(last.LastSeen)
		case "first_seen":
			v = ms(last.FirstSeen)
		default:
			v = last.Count
		}
		page.Next = strconv.FormatInt(v, 10) + "." + strconv.FormatInt(last.ID, 10)
	}
	return page, nil
}

func parseCursor(c string) (int64, int64, error) {
	a, b, ok := strings.Cut(c, ".")
	v, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("errlog: store: bad cursor %q", c)
	}
	return v, id, nil
}

// Group returns one group.
func (db *DB) Group(ctx context.Context, id int64) (*store.Group, error) {
	g, err := scanGroup(db.r.QueryRowContext(ctx, db.q(`SELECT `+groupCols+` FROM event_groups g WHERE g.id = ?`), id))
	if err != nil {
		return nil, wrap("group", err)
	}
	return &g, nil
}

const eventCols = `id, project_id, group_id, event_id, ts, received, level, title, environment, release, size, stored, trace_id`

func scanEvent(sc interface{ Scan(...any) error }, extra ...any) (store.EventRow, error) {
	var e store.EventRow
	var ts, rec int64
	err := sc.Scan(append([]any{&e.ID, &e.ProjectID, &e.GroupID, &e.EventID, &ts, &rec, &e.Level, &e.Title, &e.Environment, &e.Release, &e.Size, &e.Stored, &e.TraceID}, extra...)...)
	e.Timestamp, e.Received = fromMS(ts), fromMS(rec)
	return e, err
}

// GroupEvents pages through a group's events by id.
func (db *DB) GroupEvents(ctx context.Context, groupID int64, q store.EventQuery) ([]store.EventRow, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	s := `SELECT ` + eventCols + ` FROM events WHERE group_id = ?`
	args := []any{groupID}
	switch {
	case q.After > 0:
		s += ` AND id > ? ORDER BY id ASC`
		args = append(args, q.After)
	case q.Before > 0:
		s += ` AND id < ? ORDER BY id DESC`
		args = append(args, q.Before)
	default:
		s += ` ORDER BY id DESC`
	}
	s += " LIMIT " + strconv.Itoa(limit)
	rows, err := db.r.QueryContext(ctx, db.q(s), args...)
	if err != nil {
		return nil, wrap("group events", err)
	}
	defer rows.Close()
	out := []store.EventRow{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, wrap("group events", err)
		}
		out = append(out, e)
	}
	return out, wrap("group events", rows.Err())
}

func (db *DB) oneEvent(ctx context.Context, where string, args ...any) (*store.StoredEvent, error) {
	var payload []byte
	row := db.r.QueryRowContext(ctx, db.q(`SELECT `+eventCols+`, payload FROM events WHERE `+where), args...)
	e, err := scanEvent(row, &payload)
	if err != nil {
		return nil, wrap("event", err)
	}
	js, err := store.Decompress(payload)
	if err != nil {
		return nil, err
	}
	return &store.StoredEvent{EventRow: e, JSON: js}, nil
}

// Event returns an event with its JSON.
func (db *DB) Event(ctx context.Context, id int64) (*store.StoredEvent, error) {
	return db.oneEvent(ctx, `id = ?`, id)
}

// EventByEventID finds an event by its event_id.
func (db *DB) EventByEventID(ctx context.Context, projectID int64, eventID string) (*store.StoredEvent, error) {
	eventID = strings.ToLower(strings.ReplaceAll(eventID, "-", ""))
	if projectID == 0 {
		// project_id IN (…) lets the (project_id, event_id) index serve.
		return db.oneEvent(ctx, `project_id IN (SELECT id FROM projects) AND event_id = ? ORDER BY id LIMIT 1`, eventID)
	}
	return db.oneEvent(ctx, `project_id = ? AND event_id = ?`, projectID, eventID)
}

func idList(ids []int64) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i], args[i] = "?", id
	}
	return "(" + strings.Join(ph, ", ") + ")", args
}

// SetStatus changes the status of groups and clears their regression
// flag.
func (db *DB) SetStatus(ctx context.Context, ids []int64, status store.Status) error {
	if !status.Valid() {
		return fmt.Errorf("errlog: store: unknown status %q", status)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := db.checkFile(); err != nil {
		return err
	}
	// Counts owed are of events that came before: written after the new
	// status, they would reopen a group resolved now.
	in, args := idList(ids)
	var n int64
	err := db.writeAfterCounts(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// status_event: the events stored by now came before the change,
		// counted or not; only a newer one reopens a group resolved now.
		// On PostgreSQL the groups are locked first, in key order as
		// every writer locks them; the UPDATE, a statement of its own,
		// then reads max(id) once no commit holds them: an event a
		// commit added to them meanwhile counts as before the change.
		if db.d.RowLocks && db.d.Arrays {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM event_groups WHERE id = ANY($1) ORDER BY project_id, key FOR UPDATE`, ids); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, db.q(`UPDATE event_groups SET status = ?, regression = 0,
  status_event = (SELECT COALESCE(max(id), 0) FROM events) WHERE id IN `+in), append([]any{string(status)}, args...)...)
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return wrap("set status", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteGroup removes a group with its events and counts.
func (db *DB) DeleteGroup(ctx context.Context, id int64) (err error) {
	if err := db.checkFile(); err != nil {
		return err
	}
	// Most of its events go first, 250 at a time with waits between, as
	// retention deletes them: one transaction deleting a group of 62,000
	// events held SQLite's writer, and ingest with it, for 6.9 s.
	// Feedback that names one of its events is first filed under it, as
	// retention files it, so that it goes with the group, not with the
	// events.
	// upTo is read before resolveFeedback: a batch committing between
	// the two would put events at or below upTo that resolveFeedback did
	// not see, and the batches would delete them, leaving the feedback
	// that came before them behind, naming deleted events.
	var upTo int64
	switch err := db.r.QueryRowContext(ctx, db.q(`SELECT last_event_id FROM event_groups WHERE id = ?`), id).Scan(&upTo); {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return wrap("delete group", err)
	}
	if err := resolveFeedback(ctx, db); err != nil {
		return wrap("delete group", err)
	}
	// The batches take only the events the group's counts hold (up to
	// its last_event_id, all there when resolveFeedback ran) and none
	// whose counts are owed (owed_events, on PostgreSQL: another
	// process's counts may have moved last_event_id past them). The
	// others, and those that come meanwhile with the feedback that names
	// them, go in the transaction below. Should the batches delete an
	// owed event and then the deletion stop, the owner's settle would
	// point the group at it again; should feedback come before its event
	// and the event between two batches, the feedback would stay behind
	// the group, naming a deleted event.
	notOwed := ""
	if db.d.Owners != nil {
		notOwed = ` AND NOT EXISTS (SELECT 1 FROM owed_events o WHERE o.event_id = events.id)`
	}
	const batch = 250
	n, _, _, err := db.deleteBatches(ctx, batch, groupDeleteShare, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE group_id = ? AND id <= ?`+notOwed+` ORDER BY id LIMIT `+strconv.Itoa(batch)+`)`, id, upTo)
	if n > 0 {
		// If it stops from here on (cancelled, or the transaction
		// below failed), the group stays with fewer events, as retention
		// leaves one, and its last event is repaired as retention does.
		defer func() {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lastEventsTimeout)
				err = errors.Join(err, wrap("delete group", lastEvents(lctx, db)))
				cancel()
			}
		}()
	}
	if err != nil {
		return wrap("delete group", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("delete group", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, db.q(`DELETE FROM event_groups WHERE id = ?`), id)
	if err != nil {
		return wrap("delete group", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if err := deleteFeedback(ctx, db, tx, id); err != nil {
		return wrap("delete group", err)
	}
	for _, t := range []string{"events", "group_minutes", "group_hours", "group_seen", "group_users", "group_hashes"} {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM `+t+` WHERE group_id = ?`), id); err != nil {
			return wrap("delete group", err)
		}
	}
	if err := db.runDeleteHooks(ctx, tx, id); err != nil {
		return wrap("delete group", err)
	}
	err = tx.Commit()
	db.keys.forget() // after the commit: no lookup finds the group again
	return wrap("delete group", err)
}

func (db *DB) counts(ctx context.Context, table string, ids []int64, from, to time.Time) (map[int64][]store.Count, error) {
	out := map[int64][]store.Count{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := idList(ids)
	args = append(args, from.Unix(), to.Unix())
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT group_id, bucket, n FROM `+table+` WHERE group_id IN `+in+` AND bucket >= ? AND bucket < ? ORDER BY group_id, bucket`), args...)
	if err != nil {
		return nil, wrap(table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, at, n int64
		if err := rows.Scan(&g, &at, &n); err != nil {
			return nil, wrap(table, err)
		}
		out[g] = append(out[g], store.Count{Time: time.Unix(at, 0).UTC(), Count: n})
	}
	return out, wrap(table, rows.Err())
}

// HourlyCounts returns per-hour counts.
func (db *DB) HourlyCounts(ctx context.Context, ids []int64, from, to time.Time) (map[int64][]store.Count, error) {
	return db.counts(ctx, "group_hours", ids, from.Truncate(time.Hour), to)
}

// MinuteCounts returns per-minute counts.
func (db *DB) MinuteCounts(ctx context.Context, ids []int64, from, to time.Time) (map[int64][]store.Count, error) {
	return db.counts(ctx, "group_minutes", ids, from.Truncate(time.Minute), to)
}

// GroupSeen lists a group's environments and releases, most recent first.
func (db *DB) GroupSeen(ctx context.Context, groupID int64) ([]store.Seen, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT kind, value, n, first_seen, last_seen FROM group_seen WHERE group_id = ? AND kind IN ('environment', 'release') ORDER BY kind, last_seen DESC, value`), groupID)
	if err != nil {
		return nil, wrap("group seen", err)
	}
	defer rows.Close()
	out := []store.Seen{}
	for rows.Next() {
		var s store.Seen
		var f, l int64
		if err := rows.Scan(&s.Kind, &s.Value, &s.Count, &f, &l); err != nil {
			return nil, wrap("group seen", err)
		}
		s.FirstSeen, s.LastSeen = fromMS(f), fromMS(l)
		out = append(out, s)
	}
	return out, wrap("group seen", rows.Err())
}

// GroupUsers counts the distinct users of each group: their rows in
// group_seen, of kind "user".
func (db *DB) GroupUsers(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := idList(ids)
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT group_id, count(*) FROM group_seen WHERE kind = 'user' AND group_id IN `+in+` GROUP BY group_id`), args...)
	if err != nil {
		return nil, wrap("group users", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, n int64
		if err := rows.Scan(&g, &n); err != nil {
			return nil, wrap("group users", err)
		}
		out[g] = n
	}
	return out, wrap("group users", rows.Err())
}

// Facets lists environments and releases.
func (db *DB) Facets(ctx context.Context, projectID int64) (*store.Facets, error) {
	s := `SELECT DISTINCT s.kind, s.value FROM group_seen s`
	var args []any
	if projectID != 0 {
		s += ` JOIN event_groups g ON g.id = s.group_id WHERE g.project_id = ? AND s.kind IN ('environment', 'release')`
		args = append(args, projectID)
	} else {
		s += ` WHERE s.kind IN ('environment', 'release')`
	}
	s += ` ORDER BY s.kind, s.value`
	rows, err := db.r.QueryContext(ctx, db.q(s), args...)
	if err != nil {
		return nil, wrap("facets", err)
	}
	defer rows.Close()
	f := &store.Facets{Environments: []string{}, Releases: []string{}}
	for rows.Next() {
		var kind, v string
		if err := rows.Scan(&kind, &v); err != nil {
			return nil, wrap("facets", err)
		}
		if kind == "environment" {
			f.Environments = append(f.Environments, v)
		} else {
			f.Releases = append(f.Releases, v)
		}
	}
	return f, wrap("facets", rows.Err())
}

// Retain deletes old events in batches, each its own transaction, and
// waits after each (Retention.Share) so that ingest commits in between.
// Back to back, the batches held SQLite's one writer connection nearly
// all the time: a store of 700,000 events deleting 200,000 of them
// processed 36 – 79 events/s instead of 3,800, answering in 1 – 2 s, for
// as long as retention ran.
func (db *DB) Retain(ctx context.Context, r store.Retention) (*store.RetentionResult, error) {
	if err := db.checkFile(); err != nil {
		return nil, err
	}
	batch := r.BatchSize
	if batch <= 0 {
		batch = 250
	}
	share := r.Share
	if share <= 0 {
		share = 0.25
	}
	res := &store.RetentionResult{}
	loop := func(query string, args ...any) (int64, error) {
		n, runs, busy, err := db.deleteBatches(ctx, batch, share, query, args...)
		res.Batches += runs
		res.Busy += busy
		return n, err
	}
	if r.MaxAge > 0 || r.MaxPerGroup > 0 {
		if err := resolveFeedback(ctx, db); err != nil {
			return res, wrap("retain: feedback", err)
		}
	}
	now := time.Now()
	if r.MaxAge > 0 || r.MaxPerGroup > 0 {
		err := deleteEvents(ctx, loop, db, r, now, batch, res)
		// Even when the run was cancelled or failed after some batches,
		// and when it deleted nothing (a run before may have failed
		// here): the events deleted are gone, and no group may go on
		// pointing at them.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lastEventsTimeout)
		err = errors.Join(err, lastEvents(lctx, db))
		cancel()
		if err != nil {
			return res, wrap("retain", err)
		}
	}
	sec := now.Unix()
	m, err := db.w.ExecContext(ctx, db.q(`DELETE FROM group_minutes WHERE bucket < ?`), sec-24*3600)
	if err != nil {
		return res, wrap("retain", err)
	}
	res.Minutes, _ = m.RowsAffected()
	h, err := db.w.ExecContext(ctx, db.q(`DELETE FROM group_hours WHERE bucket < ?`), sec-90*24*3600)
	if err != nil {
		return res, wrap("retain", err)
	}
	res.Hours, _ = h.RowsAffected()
	if db.d.AfterRetain != nil {
		if err := db.d.AfterRetain(ctx, db.w); err != nil {
			return res, wrap("retain", err)
		}
	}
	return res, nil
}

// deleteBatches runs query, a delete statement of at most batch rows,
// until it deletes fewer, each run its own transaction, and waits after
// each (1-share)/share times as long as it took (share ≥ 1: no wait). It
// returns the rows deleted, the runs and the time they took together.
func (db *DB) deleteBatches(ctx context.Context, batch int, share float64, query string, args ...any) (total int64, runs int, busy time.Duration, err error) {
	for {
		n, took, err := db.deleteBatch(ctx, query, args...)
		total += n
		runs++
		busy += took
		if err != nil {
			return total, runs, busy, err
		}
		if n < int64(batch) || ctx.Err() != nil {
			return total, runs, busy, ctx.Err()
		}
		if share < 1 {
			if err := sleep(ctx, time.Duration(float64(took)*(1-share)/share)); err != nil {
				return total, runs, busy, err
			}
		}
	}
}

// deleteBatch runs one of deleteBatches' statements on a connection of
// its own and returns the rows it deleted and the time the statement
// took once it had the connection (on SQLite, once ingest's commit
// before it let go of the writer).
func (db *DB) deleteBatch(ctx context.Context, query string, args ...any) (int64, time.Duration, error) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	start := time.Now()
	out, err := conn.ExecContext(ctx, db.q(query), args...)
	took := time.Since(start)
	if err != nil {
		return 0, took, err
	}
	n, err := out.RowsAffected()
	return n, took, err
}

// groupDeleteShare is DeleteGroup's Retention.Share: someone waits for
// the page, so it takes half of the writer's time, not a quarter.
const groupDeleteShare = 0.5

// sleep waits for d or until ctx is done, and returns ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// deleteEvents deletes the events older than r.MaxAge, then those beyond
// r.MaxPerGroup in each group, in batches.
func deleteEvents(ctx context.Context, loop func(string, ...any) (int64, error), db *DB, r store.Retention, now time.Time, batch int, res *store.RetentionResult) error {
	if r.MaxAge > 0 {
		cutoff := ms(now.Add(-r.MaxAge))
		n, err := loop(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received < ? ORDER BY id LIMIT `+strconv.Itoa(batch)+`)`, cutoff)
		res.Events += n
		if err != nil {
			return err
		}
	}
	if r.MaxPerGroup > 0 {
		ids, err := scanIDs(db.r.QueryContext(ctx, db.q(`SELECT id FROM event_groups WHERE count > ?`), r.MaxPerGroup))
		if err != nil {
			return err
		}
		for _, g := range ids {
			var cut int64
			err := db.r.QueryRowContext(ctx, db.q(`SELECT id FROM events WHERE group_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?`), g, r.MaxPerGroup).Scan(&cut)
			if err == sql.ErrNoRows {
				continue
			}
			if err != nil {
				return err
			}
			n, err := loop(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE group_id = ? AND id <= ? ORDER BY id LIMIT `+strconv.Itoa(batch)+`)`, g, cut)
			res.Events += n
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// lastEventsTimeout bounds lastEvents when it runs past the cancellation
// of the retention that deleted the events.
const lastEventsTimeout = 30 * time.Second

// lastEvents points each group whose last event is gone (deleted by
// retention) at its newest event left before it, or 0 when none is: an
// event after it is one whose counts the group does not hold yet (a
// commit on PostgreSQL, counts owed), and last_event_id must not say
// they are held (counts.go).
//
// On PostgreSQL the groups are locked first, in the order every writer
// locks them (project_id, key), and updated by a second statement: its
// snapshot, taken once the locks are held, sees the event of any commit
// that moved a group's last event meanwhile, so such a group is left
// alone; one statement would lock them in the order of its scan and
// deadlock with a batch.
func lastEvents(ctx context.Context, db *DB) error {
	const gone = `last_event_id <> 0 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = event_groups.last_event_id)`
	const update = `UPDATE event_groups SET last_event_id = COALESCE((SELECT max(e.id) FROM events e WHERE e.group_id = event_groups.id AND e.id < event_groups.last_event_id), 0) WHERE `
	if !db.d.RowLocks || !db.d.Arrays {
		_, err := db.w.ExecContext(ctx, update+gone)
		return err
	}
	// OFFSET 0: one probe of the primary key per group. Without it
	// PostgreSQL made the NOT EXISTS an anti join that read the whole
	// events heap, payloads and all: 0.7 – 1.3 s for 100,000 groups and
	// 2,000,000 small events, against 0.11 s.
	const goneProbe = `last_event_id <> 0 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = event_groups.last_event_id OFFSET 0)`
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ids, err := scanIDs(tx.QueryContext(ctx, `SELECT id FROM event_groups WHERE `+goneProbe+` ORDER BY project_id, key FOR UPDATE`))
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		if _, err := tx.ExecContext(ctx, update+`id = ANY($1) AND `+goneProbe, ids); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Stats sums up the store.
func (db *DB) Stats(ctx context.Context) (*store.Stats, error) {
	s := &store.Stats{Dropped: db.wr.Dropped()}
	var eb, sb sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM event_groups), count(*), sum(size), sum(stored) FROM events`).
		Scan(&s.Projects, &s.Groups, &s.Events, &eb, &sb)
	if err != nil {
		return nil, wrap("stats", err)
	}
	s.EventBytes, s.StoredBytes = eb.Int64, sb.Int64
	if db.d.DiskBytes != nil {
		if s.DiskBytes, err = db.d.DiskBytes(ctx, db.r); err != nil {
			return nil, wrap("stats", err)
		}
	}
	return s, nil
}
