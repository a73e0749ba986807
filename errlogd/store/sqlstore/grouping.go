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
	// qGroupByEarlierKey finds a group by an event's key of an earlier
	// grouping among the groups that grouping or one before it made, or
	// found: a group of a later grouping is another bug, which happens
	// to have that key (groupings 2 and 3 hash alike).
	qGroupByEarlierKey = `SELECT id, key FROM event_groups WHERE project_id = ? AND key = ? AND grouping <= ?
UNION ALL
SELECT g.id, g.key FROM group_hashes h JOIN event_groups g ON g.id = h.group_id WHERE h.project_id = ? AND h.hash = ? AND h.grouping <= ?`
	qEarlierGroups = `SELECT count(*) FROM (SELECT 1 FROM event_groups WHERE grouping < ? LIMIT 1) AS e`
	qAddHash       = `INSERT INTO group_hashes (project_id, hash, grouping, group_id) VALUES (?, ?, ?, ?)
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
// joins:
//
//  1. its group of then: the group the first of its PrevKeys (its keys by
//     the earlier groupings, the latest first) leads to among the groups
//     that grouping or an earlier one made, or found by a later key;
//     which also takes its current key, when that leads nowhere yet. So
//     an upgrade moves no event: where an earlier grouping made two
//     groups of what the current one keys alike (a recursion at two
//     depths), each keeps its own, whichever met the current key first;
//  2. else the group its current key leads to (the group's own key or
//     one added to it);
//  3. else a new group of its key.
//
// A key of an earlier grouping may lead to a group through group_hashes
// as well: a store upgraded twice finds the groups the first grouping
// made and the second never met. A store that holds no group of an
// earlier grouping skips step 1.
func (db *DB) resolveGroups(ctx context.Context, batch []*store.Incoming) error {
	var seen map[groupKey]string
	for _, in := range batch {
		k := keysOf(in)
		if to, ok := seen[k]; ok {
			in.GroupKey = to
			continue
		}
		to, err := db.groupFor(ctx, in, k)
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

// keysOf is what decides in's group: its project, its key and its
// earlier keys.
func keysOf(in *store.Incoming) groupKey {
	k := in.GroupKey
	for _, p := range in.PrevKeys {
		k += "/" + p.Key
	}
	return groupKey{in.ProjectID, k}
}

func (db *DB) groupFor(ctx context.Context, in *store.Incoming, k groupKey) (string, error) {
	if to, ok := db.keys.get(k); ok {
		return to, nil
	}
	earlier, err := db.hasEarlierGroups(ctx)
	if err != nil {
		return "", err
	}
	if earlier {
		id, to, err := db.earlierGroup(ctx, in)
		if err != nil {
			return "", err
		}
		if id != 0 {
			var at string
			err := db.w.QueryRowContext(ctx, db.q(qGroupByKey), in.ProjectID, in.GroupKey, in.ProjectID, in.GroupKey).Scan(&at)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				// Outside the batch's transaction: should the batch
				// fail, the group keeps a key that leads to it, which is
				// right anyway.
				if _, err := db.w.ExecContext(ctx, db.q(qAddHash), in.ProjectID, in.GroupKey, event.Grouping, id); err != nil {
					return "", err
				}
			case err != nil:
				return "", err
			}
			db.keys.put(k, to)
			return to, nil
		}
	}
	var to string
	err = db.w.QueryRowContext(ctx, db.q(qGroupByKey), in.ProjectID, in.GroupKey, in.ProjectID, in.GroupKey).Scan(&to)
	if err == nil {
		db.keys.put(k, to)
		return to, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	// A new group. Not remembered: its commit may yet fail.
	return in.GroupKey, nil
}

// hasEarlierGroups says whether the store holds a group an earlier
// grouping made, asked once: no process makes one any more (a process of
// the previous version, in a rolling upgrade of several on PostgreSQL,
// still may; its groups are found by their current key, which most
// events share).
func (db *DB) hasEarlierGroups(ctx context.Context) (bool, error) {
	switch db.earlier.Load() {
	case 1:
		return true, nil
	case 2:
		return false, nil
	}
	var n int
	if err := db.w.QueryRowContext(ctx, db.q(qEarlierGroups), event.Grouping).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		db.earlier.Store(1)
	} else {
		db.earlier.Store(2)
	}
	return n > 0, nil
}

// earlierGroup returns the id and key of the group the first of in's
// PrevKeys leads to among the groups its grouping or an earlier one made
// or found; 0 when none does.
func (db *DB) earlierGroup(ctx context.Context, in *store.Incoming) (int64, string, error) {
	for _, prev := range in.PrevKeys {
		var id int64
		var key string
		err := db.w.QueryRowContext(ctx, db.q(qGroupByEarlierKey), in.ProjectID, prev.Key, prev.Grouping, in.ProjectID, prev.Key, prev.Grouping).Scan(&id, &key)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, "", err
		}
		return id, key, nil
	}
	return 0, "", nil
}
