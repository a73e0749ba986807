package alert

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ticketServer answers ticket webhooks with status, counting them.
func ticketServer(t *testing.T, status *atomic.Int32, calls *atomic.Int32) *Config {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(int(status.Load()))
		w.Write([]byte(`{"url": "https://tickets.example.com/1"}`))
	}))
	t.Cleanup(srv.Close)
	return rules(t, `
ticketers:
  hook: {type: webhook, url: "`+srv.URL+`"}
rules:
  - name: t
    triggers: [{type: new}]
    actions: [{type: ticket, ticketer: hook}]
`)
}

// TestTicketFailsAfterMaxAttempts: a ticket the provider keeps refusing
// is left failed after Options.MaxAttempts tries, as a notification is,
// and CreateTicket tries it again. It was retried every hour, forever.
func TestTicketFailsAfterMaxAttempts(t *testing.T) {
	var status, calls atomic.Int32
	status.Store(500)
	f := newFixture(t, ticketServer(t, &status, &calls), func(o *Options) { o.MaxAttempts = 3 })
	f.send("flaky", nil)
	g := f.group("flaky")
	for i := 0; i < 10; i++ {
		_ = f.n.RunOnce(ctx) // the refusals' errors
		f.clk.Add(2 * time.Hour)
	}
	assert.Equal(t, int32(3), calls.Load(), "tried MaxAttempts times")
	tk, err := f.n.Ticket(ctx, g.ID)
	require.NoError(t, err)
	require.NotNil(t, tk)
	assert.Equal(t, "failed", tk.State)
	assert.Equal(t, 3, tk.Attempts)
	assert.Contains(t, tk.LastError, "500")

	status.Store(200)
	tk, err = f.n.CreateTicket(ctx, g.ID, "")
	require.NoError(t, err)
	assert.Equal(t, "created", tk.State, "tried again on request")
	assert.Equal(t, "https://tickets.example.com/1", tk.URL)
}

// TestTicketOfDeletedGroupDropped: the pending ticket of a group deleted
// by a process that did not delete alert's rows is dropped at its next
// try, with no error. It went back to pending with "not found", retried
// and reported at every run.
func TestTicketOfDeletedGroupDropped(t *testing.T) {
	var status, calls atomic.Int32
	status.Store(500)
	f := newFixture(t, ticketServer(t, &status, &calls), nil)
	f.send("gone", nil)
	g := f.group("gone")
	require.Error(t, f.n.RunOnce(ctx), "refused: pending, with backoff")
	_, err := f.st.Pool().Exec(fmt.Sprint(`DELETE FROM event_groups WHERE id = `, g.ID))
	require.NoError(t, err)
	f.clk.Add(time.Minute) // past the backoff, before the hourly sweep
	assert.NoError(t, f.n.RunOnce(ctx))
	tk, err := f.n.Ticket(ctx, g.ID)
	require.NoError(t, err)
	assert.Nil(t, tk)
	assert.Equal(t, int32(1), calls.Load())
}
