package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPostgresTwoInstances: two errlogd stores (each its own pools, writer
// and notifier) on one PostgreSQL receive the same new error at once, and
// run their senders at once: one notification, one mail, one ticket.
func TestPostgresTwoInstances(t *testing.T) {
	url := pgtest.URL(t)
	var tickets atomic.Int32
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tickets.Add(1)
		time.Sleep(50 * time.Millisecond) // a slow provider: the other sender must not claim meanwhile
		w.WriteHeader(201)
		fmt.Fprint(w, `{"html_url": "https://github.com/acme/shop/issues/1"}`)
	}))
	defer gh.Close()
	cfg := rules(t, `
ticketers:
  gh: {type: github, url: "`+gh.URL+`", repo: acme/shop, token: t}
rules:
  - name: new
    triggers: [{type: new}, {type: regression}]
    actions: [{type: mail}, {type: ticket, ticketer: gh}]
`)
	mail := startSMTP(t, "")
	clk := newClock()
	var ns []*Notifier
	var sts []*postgres.Store
	for i := 0; i < 2; i++ {
		st, err := postgres.Open(ctx, url, postgres.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close(context.Background()) })
		n, err := New(st.DB, cfg, Options{Mail: mailOpts(mail), Now: clk.Now, Manual: true, MailDelay: -1})
		require.NoError(t, err)
		t.Cleanup(func() { n.Close() })
		ns, sts = append(ns, n), append(sts, st)
	}
	p, err := sts[0].CreateProject(ctx, "shop")
	require.NoError(t, err)
	// Words, not numbers: messages that differ by a number are one group.
	roundNames := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		for i := range sts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ev := &event.Event{EventID: event.NewID(), Timestamp: clk.Now(), Level: event.LevelError,
					Exception: []event.Exception{{Value: roundNames[round] + " failed"}}}
				in, err := store.Prepare(p, ev, nil, clk.Now())
				assert.NoError(t, err)
				assert.NoError(t, sts[i].Submit(ctx, in))
			}()
		}
		wg.Wait()
		for i := range ns {
			wg.Add(1)
			go func() { defer wg.Done(); assert.NoError(t, ns[i].RunOnce(ctx)) }()
		}
		wg.Wait()
	}
	page, err := sts[1].ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	require.Len(t, page.Groups, 5)
	for _, g := range page.Groups {
		assert.Equal(t, int64(2), g.Count)
		h, err := ns[1].History(ctx, g.ID, 10)
		require.NoError(t, err)
		assert.Len(t, h, 1, "one notification for %s", g.Title)
		tk, err := ns[0].Ticket(ctx, g.ID)
		require.NoError(t, err)
		assert.Equal(t, "created", tk.State)
	}
	assert.Len(t, mail.Mails(), 5, "one mail per new group")
	assert.Equal(t, int32(5), tickets.Load(), "one ticket per group")
}
