package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

// AddFeedback stores f, with the group of its event when that is stored
// already.
func (db *DB) AddFeedback(ctx context.Context, f *store.Feedback) error {
	if id := store.NormalEventID(f.EventID); id != "" {
		f.EventID = id // as its event's was
	} else {
		f.EventID = store.Text(strings.ToLower(f.EventID))
	}
	if f.Received.IsZero() {
		f.Received = time.Now()
	}
	// The group is read in the transaction that inserts, its row locked
	// (PostgreSQL; SQLite's one writer serializes): a DeleteGroup that
	// commits between a read and the insert would leave the feedback
	// filed under a group that no longer exists, never shown nor deleted.
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("add feedback", err)
	}
	defer tx.Rollback()
	lock := ""
	if db.d.RowLocks {
		lock = " FOR KEY SHARE OF g"
	}
	var group int64
	err = tx.QueryRowContext(ctx, db.q(`SELECT g.id FROM events e JOIN event_groups g ON g.id = e.group_id WHERE e.project_id = ? AND e.event_id = ? LIMIT 1`+lock), f.ProjectID, f.EventID).Scan(&group)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrap("add feedback", err)
	}
	err = tx.QueryRowContext(ctx, db.q(`INSERT INTO feedback (project_id, group_id, event_id, name, email, comments, url, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		f.ProjectID, group, f.EventID, store.Text(f.Name), store.Text(f.Email), store.Text(f.Comments), store.Text(f.URL), ms(f.Received)).Scan(&f.ID)
	if err != nil {
		return wrap("add feedback", err)
	}
	return wrap("add feedback", tx.Commit())
}

// GroupFeedback lists the feedback on a group's events: filed under the
// group, or naming one of its events.
func (db *DB) GroupFeedback(ctx context.Context, groupID int64, limit int) ([]store.Feedback, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT id, project_id, event_id, name, email, comments, url, received FROM feedback
WHERE group_id = ? OR (group_id = 0 AND (project_id, event_id) IN (SELECT project_id, event_id FROM events WHERE group_id = ?))
ORDER BY id DESC LIMIT ?`), groupID, groupID, limit)
	if err != nil {
		return nil, wrap("group feedback", err)
	}
	defer rows.Close()
	out := []store.Feedback{}
	for rows.Next() {
		var f store.Feedback
		var at int64
		if err := rows.Scan(&f.ID, &f.ProjectID, &f.EventID, &f.Name, &f.Email, &f.Comments, &f.URL, &at); err != nil {
			return nil, wrap("group feedback", err)
		}
		f.Received = fromMS(at)
		out = append(out, f)
	}
	return out, wrap("group feedback", rows.Err())
}

// GroupFeedbackCount counts the feedback GroupFeedback lists: filed
// under the group (an index range), plus that naming one of its events
// and filed under none.
func (db *DB) GroupFeedbackCount(ctx context.Context, groupID int64) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, db.q(`SELECT (SELECT count(*) FROM feedback WHERE group_id = ?)
+ (SELECT count(*) FROM feedback WHERE group_id = 0 AND (project_id, event_id) IN (SELECT project_id, event_id FROM events WHERE group_id = ?))`), groupID, groupID).Scan(&n)
	return n, wrap("group feedback count", err)
}

// resolveFeedback files under its event's group the feedback that came
// before its event (group_id 0, found through events). Retention runs it
// before it deletes events: without their events such feedback would
// belong to no group, shown nowhere and deleted with nothing. Here, not
// at each commit, so that ingest pays nothing for it.
func resolveFeedback(ctx context.Context, db *DB) error {
	_, err := db.w.ExecContext(ctx, `UPDATE feedback SET group_id = (SELECT e.group_id FROM events e WHERE e.project_id = feedback.project_id AND e.event_id = feedback.event_id)
WHERE group_id = 0 AND EXISTS (SELECT 1 FROM events e WHERE e.project_id = feedback.project_id AND e.event_id = feedback.event_id)`)
	return err
}

// deleteFeedback deletes, in tx, the feedback on a group being deleted:
// filed under it, or naming one of its events (run before they go).
func deleteFeedback(ctx context.Context, db *DB, tx *sql.Tx, groupID int64) error {
	_, err := tx.ExecContext(ctx, db.q(`DELETE FROM feedback WHERE group_id = ?
OR (group_id = 0 AND (project_id, event_id) IN (SELECT project_id, event_id FROM events WHERE group_id = ?))`), groupID, groupID)
	return err
}
