package alert

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	errmail "github.com/errlog/errlog/mail"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTicketWebhookNoBody: a ticket webhook that takes the ticket
// (2xx) but answers no JSON (204 No Content, or an empty 200) must not
// be raised again: each retry opened another ticket.
func TestTicketWebhookNoBody(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		calls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	f := newFixture(t, rules(t, `
ticketers:
  hook: {type: webhook, url: "`+srv.URL+`"}
rules:
  - name: t
    triggers: [{type: new}]
    actions: [{type: ticket, ticketer: hook}]
`), func(o *Options) { o.MaxAttempts = 5 })
	f.send("noanswer", nil)
	for i := 0; i < 6; i++ {
		_ = f.n.RunOnce(ctx)
		f.clk.Add(2 * time.Hour)
	}
	assert.Equal(t, int32(1), calls.Load(), "the receiver took the ticket once; it was raised again and again")
}

// TestWebhookRedirect302: a webhook receiver that answers a POST
// with 301/302/303 (http to https, a trailing slash) makes Go re-send a
// GET with no body; its 200 marked the alert sent though the alert never
// reached anyone.
func TestWebhookRedirect302(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var hook *httptest.Server
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
		if r.URL.Path == "/hook" {
			http.Redirect(w, r, hook.URL+"/hook/", http.StatusMovedPermanently)
			return
		}
		w.Write([]byte("<html>the receiver's page</html>"))
	}))
	defer hook.Close()
	f := newFixture(t, rules(t, `
rules:
  - name: hooks
    triggers: [{type: new}]
    actions:
      - {type: webhook, url: "`+hook.URL+`/hook", secret: k}
`), nil)
	f.send("api", nil)
	_ = f.n.RunOnce(ctx)
	h, err := f.n.History(ctx, f.group("api").ID, 10)
	require.NoError(t, err)
	require.Len(t, h, 1)
	mu.Lock()
	t.Logf("receiver saw: %q", got)
	mu.Unlock()
	assert.NotEqual(t, "sent", h[0].State, "the alert's body never reached the receiver, yet it is marked sent")
}

// TestWebhookSettledAfterStop: a receiver that took the alert (its
// 200 is in) while errlogd shuts down: the sender's context is cancelled
// before the row is marked sent, so the next start sends it again. A
// success is settled whatever the context.
func TestWebhookSettledAfterStop(t *testing.T) {
	var calls atomic.Int32
	headersOut := make(chan struct{}, 4)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusOK) // taken
			w.(http.Flusher).Flush()
			headersOut <- struct{}{}
			<-release // the rest of the answer is slow
		}
	}))
	defer srv.Close()
	defer close(release)
	f := newFixture(t, rules(t, `
rules:
  - name: hooks
    triggers: [{type: new}]
    actions:
      - {type: webhook, url: "`+srv.URL+`/hook"}
`), nil)
	f.send("api", nil)
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		<-headersOut
		time.Sleep(50 * time.Millisecond)
		cancel() // errlogd stops: Notifier.Stop cancels the sender's context
	}()
	_ = f.n.RunOnce(rctx)
	cancel()
	f.clk.Add(10 * time.Minute) // past the lease: a next start
	_ = f.n.RunOnce(ctx)
	assert.Equal(t, int32(1), calls.Load(), "the receiver answered 200 to the first POST, and got the alert again")
}

// TestTicketStuckAfterStop: errlogd stopping (SIGTERM) while a
// ticket provider is slow to answer: the request is cancelled, nothing
// was raised, yet the ticket stays "creating" for ever: never retried,
// and the group page's "create ticket" (CreateTicket) cannot raise it.
func TestTicketStuckAfterStop(t *testing.T) {
	var calls atomic.Int32
	arrived := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if calls.Add(1) == 1 {
			arrived <- struct{}{}
			<-r.Context().Done() // slow: the client gives up first
			return
		}
		w.Write([]byte(`{"url": "https://tickets.example.com/1"}`))
	}))
	defer srv.Close()
	f := newFixture(t, rules(t, `
ticketers:
  hook: {type: webhook, url: "`+srv.URL+`"}
rules:
  - name: t
    triggers: [{type: new}]
    actions: [{type: ticket, ticketer: hook}]
`), nil)
	f.send("slowticket", nil)
	g := f.group("slowticket")
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		<-arrived
		cancel() // Notifier.Stop cancels the sender's context
	}()
	_ = f.n.RunOnce(rctx)
	cancel()
	for i := 0; i < 3; i++ { // the next start, hours later
		f.clk.Add(2 * time.Hour)
		_ = f.n.RunOnce(ctx)
	}
	tk, err := f.n.CreateTicket(ctx, g.ID, "hook") // the button
	t.Logf("ticket: %+v, err %v, calls %d", tk, err, calls.Load())
	require.NotNil(t, tk)
	assert.Equal(t, "created", tk.State, "a ticket whose request was cancelled is never raised")
}

// TestRuleEditShiftsWebhook: a webhook alert waiting for its retry
// names its action by index; the rule edited on the dashboard (mail
// unticked, so the webhook moves from actions[1] to actions[0]) leaves
// it "no longer configured": it is never sent, though the receiver is
// back and the rule still has the very same webhook.
func TestRuleEditShiftsWebhook(t *testing.T) {
	var status, calls atomic.Int32
	status.Store(503)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		calls.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	f := newFixture(t, nil, func(o *Options) { o.MaxAttempts = 4 })
	hook := Action{Type: ActionWebhook, URL: srv.URL + "/hook"}
	id, err := f.n.SaveRule(ctx, f.prj.ID, 0, Rule{Name: "pager", Triggers: []Trigger{{Type: TriggerNew}},
		Actions: []Action{{Type: ActionMail}, hook}})
	require.NoError(t, err)
	f.send("edited", nil)
	_ = f.n.RunOnce(ctx) // mail sent; the webhook answered 503
	_, err = f.n.SaveRule(ctx, f.prj.ID, id, Rule{Name: "pager", Triggers: []Trigger{{Type: TriggerNew}}, Actions: []Action{hook}})
	require.NoError(t, err)
	status.Store(200)
	for i := 0; i < 5; i++ {
		f.clk.Add(2 * time.Hour)
		_ = f.n.RunOnce(ctx)
	}
	h, err := f.n.History(ctx, f.group("edited").ID, 10)
	require.NoError(t, err)
	for _, x := range h {
		t.Logf("%s %s attempts %d %q", x.Dest, x.State, x.Attempts, x.LastError)
	}
	assert.Equal(t, int32(2), calls.Load(), "the receiver, back up, never got the alert")
}

// slowTransport is a mail transport during whose send another errlogd
// process's sender runs.
type slowTransport struct {
	errmailTransport
	during func()
}

func (s *slowTransport) Send(c context.Context, m *errmail.Message) error {
	s.during()
	return s.errmailTransport.Send(c, m)
}

// TestClaimLeaseFromRunStart: two errlogd processes on one store
// (PostgreSQL). Each destination's rows are claimed with a lease that
// ends 2 min after the sender's run STARTED, not after the claim: when
// the mail to one list took its time (a slow SMTP server, 100 s), the
// next list's rows are claimed with 20 s of lease left, and while its
// mail takes 25 s the other process's sender claims the same rows and
// mails them too.
func TestClaimLeaseFromRunStart(t *testing.T) {
	cfg := rules(t, `
rules:
  - name: a
    triggers: [{type: new}]
    actions: [{type: mail, to: [a@example.com]}]
  - name: b
    triggers: [{type: new}]
    actions: [{type: mail, to: [b@example.com]}]
`)
	f := newFixture(t, cfg, nil)
	f.send("dup", nil)
	other, err := New(f.st.DB, cfg, Options{Mail: mailOpts(f.smtp), Now: f.clk.Now, Manual: true, MailDelay: -1})
	require.NoError(t, err)
	defer other.Close()
	calls := 0
	f.n.transport = &slowTransport{errmailTransport: f.n.transport, during: func() {
		calls++
		if calls == 1 {
			f.clk.Add(100 * time.Second) // the first list's mail: a slow server
			return
		}
		f.clk.Add(25 * time.Second) // the second's
		_ = other.RunOnce(ctx)      // the other process polls meanwhile
	}}
	require.NoError(t, f.n.RunOnce(ctx))
	var to []string
	for _, m := range f.smtp.Server.Mails() {
		to = append(to, m.To...)
	}
	assert.ElementsMatch(t, []string{"a@example.com", "b@example.com"}, to, "one alert to each list")
}

type errmailTransport = errmail.Transport
