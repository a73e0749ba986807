package alert

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReceiverErrorRecorded: a webhook and a ticketer that fail with a
// reply the error quotes, of non-ASCII text or of bytes that are not
// UTF-8, have their failure recorded as valid UTF-8 of at most 500 bytes,
// on both databases. The error was cut at byte 500, inside a character;
// PostgreSQL refused it (SQLSTATE 22021), so the failure was never
// recorded: the row was retried every 2 minutes, never marked failed, and
// missing from the dashboard's alert failures.
func TestReceiverErrorRecorded(t *testing.T) {
	replies := map[string]string{
		"euros":        strings.Repeat("€", 300),
		"x, euros":     "x" + strings.Repeat("€", 300),
		"xx, euros":    "xx" + strings.Repeat("€", 300),
		"not UTF-8":    "\xff\xfe refused \xc3",
		"NUL and more": "refused\x00" + strings.Repeat("€", 300),
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			st, sdb := openBoth(t, db)
			for name, reply := range replies {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusInternalServerError)
					w.Write([]byte(reply))
				}))
				defer srv.Close()
				cfg := rules(t, `
ticketers:
  gh: {type: github, url: "`+srv.URL+`", repo: acme/shop, token: t}
rules:
  - name: hook
    triggers: [{type: new}]
    actions: [{type: webhook, url: "`+srv.URL+`/hook"}, {type: ticket, ticketer: gh}]
`)
				clk := newClock()
				n, err := New(sdb, cfg, Options{Now: clk.Now, Manual: true, MailDelay: -1})
				require.NoError(t, err)
				defer n.Close()
				p, err := st.CreateProject(ctx, name)
				require.NoError(t, err)
				in, err := store.Prepare(p, &event.Event{EventID: event.NewID(), Timestamp: clk.Now(), Level: event.LevelError,
					Exception: []event.Exception{{Value: name + " failed"}}}, nil, clk.Now())
				require.NoError(t, err)
				require.NoError(t, st.Submit(ctx, in))
				require.Error(t, n.RunOnce(ctx))
				page, err := st.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID})
				require.NoError(t, err)
				require.Len(t, page.Groups, 1)
				g := page.Groups[0]

				fails, err := n.Failures(ctx, 100)
				require.NoError(t, err)
				var hook *Notification
				for i := range fails {
					if fails[i].GroupID == g.ID {
						hook = &fails[i]
					}
				}
				if assert.NotNil(t, hook, "%s: the webhook's failure is recorded", name) {
					assert.Contains(t, hook.LastError, "500 Internal Server Error", name)
					assert.True(t, utf8.ValidString(hook.LastError), "%s: %q", name, hook.LastError)
					assert.LessOrEqual(t, len(hook.LastError), 500, name)
				}
				tk, err := n.Ticket(ctx, g.ID)
				require.NoError(t, err)
				if assert.NotNil(t, tk, name) {
					assert.Contains(t, tk.LastError, "500 Internal Server Error", "%s: the ticket's failure is recorded", name)
					assert.True(t, utf8.ValidString(tk.LastError), "%s: %q", name, tk.LastError)
					assert.LessOrEqual(t, len(tk.LastError), 500, name)
				}
			}
		})
	}
}

// openBoth opens an empty store on SQLite, or on PostgreSQL (skipping
// without ERRLOG_TEST_POSTGRES).
func openBoth(t *testing.T, db string) (store.Store, *sqlstore.DB) {
	t.Helper()
	if db == "sqlite" {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close(context.Background()) })
		return st, st.DB
	}
	st, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close(context.Background()) })
	return st, st.DB
}
