package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeleteGroupDeletesAlertRows: deleting a group deletes its outbox
// rows, rule state, mute and ticket in the same transaction, and leaves
// the other groups' alone; rows of a group deleted by a process without
// alert's tables open are swept by the Notifier's next run. They were
// left keyed by the id, for a group that took it to inherit.
func TestDeleteGroupDeletesAlertRows(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close(context.Background()) })
		checkDeleteGroup(t, st.DB)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close(context.Background()) })
		checkDeleteGroup(t, st.DB)
	})
}

func checkDeleteGroup(t *testing.T, db *sqlstore.DB) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"url": "https://tickets.example.com/1"}`))
	}))
	t.Cleanup(srv.Close)
	cfg := rules(t, `
ticketers:
  hook: {type: webhook, url: "`+srv.URL+`"}
rules:
  - name: new
    triggers: [{type: new}]
    actions: [{type: webhook, url: "`+srv.URL+`"}, {type: ticket, ticketer: hook}]
`)
	n, err := New(db, cfg, Options{Manual: true})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	p, err := db.CreateProject(ctx, "app")
	require.NoError(t, err)
	ids := map[string]int64{}
	for _, name := range []string{"kept", "deleted", "swept"} {
		ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Fingerprint: []string{name},
			Exception: []event.Exception{{Value: name + " failed"}}}
		in, err := store.Prepare(p, ev, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, db.Submit(ctx, in))
		page, err := db.ListGroups(ctx, store.GroupQuery{Text: name + " failed"})
		require.NoError(t, err)
		require.Len(t, page.Groups, 1)
		ids[name] = page.Groups[0].ID
		require.NoError(t, n.Mute(ctx, ids[name], time.Now().Add(time.Hour), 0))
	}
	rowsOf := func(id int64) map[string]int {
		out := map[string]int{}
		for _, tb := range groupTables {
			var c int
			require.NoError(t, db.Pool().QueryRow(fmt.Sprint(`SELECT count(*) FROM `, tb, ` WHERE group_id = `, id)).Scan(&c))
			out[tb] = c
		}
		return out
	}
	all := map[string]int{"alert_outbox": 1, "alert_rule_state": 1, "group_alerting": 1, "group_tickets": 1}
	none := map[string]int{"alert_outbox": 0, "alert_rule_state": 0, "group_alerting": 0, "group_tickets": 0}
	require.Equal(t, all, rowsOf(ids["deleted"]), "the rule's webhook and ticket, its state, the mute")

	require.NoError(t, db.DeleteGroup(ctx, ids["deleted"]))
	assert.Equal(t, none, rowsOf(ids["deleted"]))
	assert.Equal(t, all, rowsOf(ids["kept"]))

	// Deleted where no Notifier's hook ran (a process without alerts).
	_, err = db.Pool().Exec(fmt.Sprint(`DELETE FROM event_groups WHERE id = `, ids["swept"]))
	require.NoError(t, err)
	require.Equal(t, all, rowsOf(ids["swept"]))
	require.NoError(t, n.RunOnce(ctx))
	assert.Equal(t, none, rowsOf(ids["swept"]))
	kept := rowsOf(ids["kept"])
	assert.Equal(t, 1, kept["group_tickets"], "the other group's ticket stays (created now)")
	assert.Equal(t, 1, kept["alert_outbox"], "and its alert (sent now)")
}
