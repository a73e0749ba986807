package alert

import (
	"context"

	"github.com/errlog/errlog/errlogd/store/sqlstore"
)

// groupTables are alert's tables that hold rows of one group. Deleting
// the group deletes them, so that no group ever finds another's mute,
// ticket, rule state or alerts (whose dedup key names the group's id).
var groupTables = []string{"alert_outbox", "alert_rule_state", "group_alerting", "group_tickets"}

// deleteGroup is alert's sqlstore.GroupDeleteHook: it deletes the
// group's rows in the transaction that deletes the group.
func deleteGroup(ctx context.Context, tx *sqlstore.Tx, groupID int64) error {
	for _, t := range groupTables {
		if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE group_id = ?`, groupID); err != nil {
			return wrap("delete group", err)
		}
	}
	return nil
}

// sweepDeleted deletes the rows of groups that no longer exist: those a
// process without alert's tables open (errlogd without mail or rules)
// left when it deleted a group. The Notifier runs it with its hourly
// prune.
func sweepDeleted(ctx context.Context, t *sqlstore.Tables) error {
	for _, tb := range groupTables {
		if _, err := t.Exec(ctx, `DELETE FROM `+tb+` WHERE NOT EXISTS (SELECT 1 FROM event_groups g WHERE g.id = `+tb+`.group_id)`); err != nil {
			return wrap("sweep deleted groups", err)
		}
	}
	return nil
}
