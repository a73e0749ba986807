package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
)

// Groups are found by key: event_groups.key is the key of the grouping
// that made the group (event_groups.grouping), and group_hashes holds the
// keys of later groupings that found the group by an earlier grouping's
// key (store.Incoming.PrevKeys).
const (
	qGroupByKey = `SELECT key FROM event_groups WHERE project_id = ? AND key = ?
UNION ALL
SELECT g.key FROM group_hashes h JOIN event_groups g ON g.id = h.group_id WHERE h.project_id = ? AND h.hash = ?`
	qGroupIDByKey = `SELECT id, key FROM event_groups WHERE project_id = ? AND key = ?
UNION ALL
SELECT g.id, g.key FROM group_hashes h JOIN event_groups g ON g.id = h.group_id WHERE h.project_id = ? AND h.hash = ?`
	qAddHash = `INSERT INTO group_hashes (project_id, hash, grouping, group_id) VALUES (?, ?, ?, ?)
ON CONFLICT (project_id, hash) DO UPDATE SET grouping = excluded.grouping, group_id = excluded.group_id`
)

// groupKeys remembers which group's key each event key leads to, found
// in the database: after an upgrade, most keys lead to a group of the
// earlier grouping, and each would cost a query per batch.
type groupKeys struct {
	mu sync.Mutex
	m  map[groupKey]string
}

// maxGroupKeys bounds groupKeys; it starts again empty when full.
const maxGroupKeys = 1 << 14

func (c *groupKeys) get(k groupKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *groupKeys) put(k groupKey, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxGroupKeys {
		c.m = map[groupKey]string{}
	}
	c.m[k] = v
}

// forget empties the cache: a group was deleted.
func (c *groupKeys) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// resolveGroups sets each event's GroupKey to the key of the group it
// joins: the group its key leads to (the group's own key or one added to
// it), else the group the first of its PrevKeys leads to, which then
// takes its key too, else a new group of its key. A key of an earlier
// grouping may lead to a group through group_hashes as well: a store
// upgraded twice finds the groups the first grouping made and the second
// never met.
func (db *DB) resolveGroups(ctx context.Context, batch []*store.Incoming) error {
	var seen map[groupKey]string
	for _, in := range batch {
		k := groupKey{in.ProjectID, in.GroupKey}
		if to, ok := seen[k]; ok {
			in.GroupKey = to
			continue
		}
		to, err := db.groupFor(ctx, in)
		if err != nil {
			return wrap("find group", err)
		}
		if seen == nil {
			seen = map[groupKey]string{}
		}
		seen[k] = to
		in.GroupKey = to
	}
	return nil
}

func (db *DB) groupFor(ctx context.Context, in *store.Incoming) (string, error) {
	k := groupKey{in.ProjectID, in.GroupKey}
	if to, ok := db.keys.get(k); ok {
		return to, nil
	}
	var to string
	err := db.w.QueryRowContext(ctx, db.q(qGroupByKey), in.ProjectID, in.GroupKey, in.ProjectID, in.GroupKey).Scan(&to)
	if err == nil {
		db.keys.put(k, to)
		return to, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	for _, prev := range in.PrevKeys {
		var id int64
		err = db.w.QueryRowContext(ctx, db.q(qGroupIDByKey), in.ProjectID, prev, in.ProjectID, prev).Scan(&id, &to)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", err
		}
		// Outside the batch's transaction: should the batch fail, the
		// group keeps a key that leads to it, which is right anyway.
		if _, err := db.w.ExecContext(ctx, db.q(qAddHash), in.ProjectID, in.GroupKey, event.Grouping, id); err != nil {
			return "", err
		}
		db.keys.put(k, to)
		return to, nil
	}
	// A new group. Not remembered: its commit may yet fail.
	return in.GroupKey, nil
}
