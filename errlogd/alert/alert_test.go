package alert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	errmail "github.com/errlog/errlog/mail"
	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// TestDefaultRule: with nothing configured, a new group and a regression
// each mail once, through STARTTLS and AUTH, as the client's error mail
// with a link to the group's page; repeats mail nothing.
func TestDefaultRule(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.send("payment", nil)
	f.send("payment", nil)
	f.run()
	mails := f.smtp.Mails()
	require.Len(t, mails, 1)
	m := mails[0]
	g := f.group("payment")
	assert.Equal(t, "[errlog] ERROR: payment failed", m.Header.Get("Subject"))
	assert.Equal(t, "<group-"+g.Key+"@errlog>", m.Header.Get("In-Reply-To"))
	assert.Equal(t, "<group-"+g.Key+"@errlog>", m.Header.Get("References"))
	assert.Equal(t, "ops@example.com", m.Header.Get("To"))
	body := mailBody(t, m)
	assert.Contains(t, body, fmt.Sprintf("https://errors.example.com/dev/error/groups/%d", g.ID))
	assert.Contains(t, body, "New error")
	assert.Contains(t, body, "text/html")

	f.send("payment", nil)
	f.run()
	assert.Len(t, f.smtp.Mails(), 1, "a repeat mails nothing")

	require.NoError(t, f.st.SetStatus(ctx, []int64{g.ID}, store.StatusResolved))
	f.send("payment", nil)
	f.run()
	mails = f.smtp.Mails()
	require.Len(t, mails, 2, "a regression mails once")
	body = mailBody(t, mails[1])
	assert.Contains(t, body, "Regression")
	assert.Equal(t, []string{"default/new/payment failed", "default/regression/payment failed"}, f.reasons())
	hist, err := f.n.History(ctx, g.ID, 10)
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Equal(t, "sent", hist[0].State)
}

func rules(t *testing.T, y string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(y))
	require.NoError(t, err)
	return c
}

// TestTriggers drives every trigger, filter, interval, mute and
// acknowledge with the fake clock; the outbox rows say what fired.
func TestTriggers(t *testing.T) {
	c := rules(t, `
rules:
  - name: freq
    triggers: [{type: frequency, count: 3, window: 10m}]
    filter: {environment: [production], level: [error]}
    actions: [{type: mail}]
  - name: every
    triggers: [{type: every}]
    filter: {tags: {team: pay}}
    interval: 5m
    actions: [{type: mail, to: [pay@example.com]}]
  - name: users
    triggers: [{type: users, count: 1, window: 1h}]
    actions: [{type: mail}]
`)
	f := newFixture(t, c, nil)
	var want []string
	check := func(msg string) {
		t.Helper()
		got := f.reasons()
		if got == nil {
			got = []string{}
		}
		if want == nil {
			want = []string{}
		}
		require.Equal(t, want, got, msg)
	}
	// Frequency: strictly more than 3 in 10 minutes; a new group's
	// first event never fires it.
	for i := 0; i < 3; i++ {
		f.send("db", nil)
		f.clk.Add(time.Minute)
	}
	check("3 events are not more than 3")
	f.send("db", func(e *event.Event) { e.Environment = "staging" })
	check("the filter drops staging")
	f.send("db", nil)
	want = append(want, "freq/frequency/db failed")
	check("the 5th in 10 minutes (4 counted in production… and the filter is on the newest)")
	f.send("db", nil)
	check("the interval (default 30m) holds the rule")
	f.clk.Add(31 * time.Minute)
	f.send("db", nil)
	check("10 minutes later the window holds 1 event")

	// Every occurrence, throttled by its 5-minute interval; tag filter.
	// (In staging, out of the frequency rule's way.)
	payEv := func(e *event.Event) { e.Tags = map[string]string{"team": "pay"}; e.Environment = "staging" }
	f.send("pay", payEv)
	want = append(want, "every/every/pay failed")
	check("every: first")
	f.clk.Add(4 * time.Minute)
	f.send("pay", payEv)
	check("every: within the interval")
	f.clk.Add(2 * time.Minute)
	f.send("pay", payEv)
	want = append(want, "every/every/pay failed")
	check("every: after the interval")
	f.send("pay", func(e *event.Event) { e.Environment = "staging" })
	check("tag filter")

	// Mute for a time, then until N more.
	pay := f.group("pay")
	require.NoError(t, f.n.Mute(ctx, pay.ID, f.clk.Now().Add(time.Hour), 0))
	f.clk.Add(10 * time.Minute)
	f.send("pay", payEv)
	check("muted for an hour")
	f.clk.Add(time.Hour)
	require.NoError(t, f.n.Mute(ctx, pay.ID, time.Time{}, 2))
	f.send("pay", payEv)
	check("muted until 2 more: 1 more")
	f.send("pay", payEv)
	want = append(want, "every/every/pay failed")
	check("the 2nd more unmutes")

	// Acknowledged: no every/frequency alerts.
	require.NoError(t, f.n.Acknowledge(ctx, pay.ID, true))
	f.clk.Add(6 * time.Minute)
	f.send("pay", payEv)
	check("acknowledged")
	require.NoError(t, f.n.Acknowledge(ctx, pay.ID, false))
	f.send("pay", payEv)
	want = append(want, "every/every/pay failed")
	check("acknowledgement withdrawn")

	// Users: more than 1 user in the hour.
	u := func(id string) func(*event.Event) {
		return func(e *event.Event) { e.User = &event.User{ID: id} }
	}
	f.send("login", u("a"))
	f.send("login", u("a"))
	check("one user")
	f.send("login", u("b"))
	want = append(want, "users/users/login failed")
	check("two users")

	// The mails: per recipients, one digest each (MailDelay off here, so
	// each run sends what is pending).
	f.run()
	assert.NotEmpty(t, f.smtp.Mails())
}

// TestFrequencyNewGroup: a burst of a new group's first events fires a
// frequency rule only when strictly more than N arrived; N=1 never fires
// on the first event.
func TestFrequencyNewGroup(t *testing.T) {
	f := newFixture(t, rules(t, `
rules:
  - name: f1
    triggers: [{type: frequency, count: 1, window: 1m}]
    actions: [{type: mail}]
`), nil)
	f.send("x", nil)
	assert.Empty(t, f.reasons())
	f.send("x", nil)
	assert.Equal(t, []string{"f1/frequency/x failed"}, f.reasons())
}

// TestDigestStorm: 200 new groups in a minute are two mails: the first
// alert at once, with its whole error, and one digest of the other 199
// when the window ends; the hourly cap holds later mails back, and they
// go out together.
func TestDigestStorm(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.MailDelay = time.Minute; o.MaxMailsPerHour = 2 })
	for i := 0; i < 200; i++ {
		f.send(fmt.Sprintf("job%03d", i), nil)
		if i%20 == 19 {
			f.clk.Add(5 * time.Second)
			f.run()
		}
	}
	mails := f.smtp.Mails()
	require.Len(t, mails, 1, "the first at once, the others gathering for a minute")
	assert.Equal(t, "[errlog] ERROR: job000 failed", mails[0].Header.Get("Subject"))
	f.clk.Add(15 * time.Second)
	f.run()
	mails = f.smtp.Mails()
	require.Len(t, mails, 2)
	assert.Equal(t, "[errlog] ERROR: 199 errors to look at", mails[1].Header.Get("Subject"))
	body := mailBody(t, mails[1])
	assert.Contains(t, body, "job001 failed")
	assert.Contains(t, body, "job199 failed")

	// The cap: nothing more this hour.
	f.send("late1", nil)
	f.clk.Add(2 * time.Minute)
	f.run()
	f.send("late2", nil)
	f.send("late3", nil)
	f.clk.Add(2 * time.Minute)
	f.run()
	require.Len(t, f.smtp.Mails(), 2, "capped")
	f.clk.Add(time.Hour)
	f.run()
	mails = f.smtp.Mails()
	require.Len(t, mails, 3, "held back: one digest after the hour")
	assert.Equal(t, "[errlog] ERROR: 3 errors to look at", mails[2].Header.Get("Subject"))
}

// TestOutboxSurvivesRestart: SMTP is down, the notification waits; the
// process restarts; SMTP comes up; it is delivered once.
func TestOutboxSurvivesRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	var down *smtpServer
	f := newFixture(t, nil, func(o *Options) { o.Mail.Addr = addr })
	down = f.smtp
	f.send("disk", nil)
	require.Error(t, f.n.RunOnce(ctx))
	fails, err := f.n.Failures(ctx, 10)
	require.NoError(t, err)
	require.Len(t, fails, 1)
	assert.Contains(t, fails[0].LastError, "refused")
	f.close()

	up := startSMTP(t, addr)
	f.open(nil, func(o *Options) { o.Mail.Addr = addr; o.Mail.TLSConfig = up.TC })
	f.run()
	assert.Empty(t, up.Mails(), "backoff: not yet")
	f.clk.Add(11 * time.Second)
	f.run()
	require.Len(t, up.Mails(), 1)
	f.clk.Add(time.Hour)
	f.run()
	assert.Len(t, up.Mails(), 1, "sent once")
	assert.Empty(t, down.Mails())
}

// TestWebhooks: the generic JSON is signed and verifies; Slack gets text.
func TestWebhooks(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/json" && fail {
			fail = false
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		got, bodies = append(got, r), append(bodies, b)
	}))
	defer srv.Close()
	f := newFixture(t, rules(t, `
rules:
  - name: hooks
    triggers: [{type: new}]
    actions:
      - {type: webhook, url: "`+srv.URL+`/json", secret: "k3y"}
      - {type: webhook, url: "`+srv.URL+`/slack", format: slack}
`), nil)
	f.send("api", nil)
	err := f.n.RunOnce(ctx)
	require.Error(t, err, "the first POST is answered 503")
	assert.Contains(t, err.Error(), "POST "+srv.URL+"/…: 503")
	assert.NotContains(t, err.Error(), "/json", "a webhook's path can be its secret: errors name the host only")
	f.clk.Add(11 * time.Second)
	f.run()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	var j, s int
	if got[0].URL.Path == "/slack" {
		j, s = 1, 0
	}
	sig := got[j].Header.Get("X-Errlog-Signature")
	assert.True(t, strings.HasPrefix(sig, "sha256="))
	assert.True(t, Verify("k3y", bodies[j], sig))
	assert.False(t, Verify("other", bodies[j], sig))
	var p Payload
	require.NoError(t, json.Unmarshal(bodies[j], &p))
	assert.Equal(t, "api failed", p.Title)
	assert.Equal(t, "new", p.Reason)
	assert.Equal(t, int64(1), p.Count)
	assert.Equal(t, fmt.Sprintf("https://errors.example.com/dev/error/groups/%d", p.GroupID), p.Link)
	var sl map[string]string
	require.NoError(t, json.Unmarshal(bodies[s], &sl))
	assert.Contains(t, sl["text"], "*new* error error: <https://errors.example.com/dev/error/groups/")
	assert.Empty(t, got[s].Header.Get("X-Errlog-Signature"))
}

// TestTickets: GitHub and Jira receive exactly their documented request,
// once per group ever; the URL is stored; a manual ticket is refused a
// second time.
func TestTickets(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls["github"]++
		mu.Unlock()
		if r.Method != "POST" || r.URL.Path != "/repos/acme/shop/issues" ||
			r.Header.Get("Accept") != "application/vnd.github+json" ||
			r.Header.Get("Authorization") != "Bearer ghp_x" ||
			r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" {
			http.Error(w, "bad request shape", 400)
			return
		}
		var b struct {
			Title  string   `json:"title"`
			Body   string   `json:"body"`
			Labels []string `json:"labels"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil || b.Title != "checkout failed" || !strings.Contains(b.Body, "/groups/") || len(b.Labels) != 1 || b.Labels[0] != "bug" {
			http.Error(w, fmt.Sprint("bad body ", err, b), http.StatusUnprocessableEntity)
			return
		}
		w.WriteHeader(201)
		io.WriteString(w, `{"number": 7, "html_url": "https://github.com/acme/shop/issues/7"}`)
	}))
	defer gh.Close()
	jira := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls["jira"]++
		mu.Unlock()
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("bot@acme.com:tok"))
		if r.Method != "POST" || r.URL.Path != "/rest/api/2/issue" || r.Header.Get("Authorization") != want || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request shape", 400)
			return
		}
		var b struct {
			Fields struct {
				Project     struct{ Key string }  `json:"project"`
				Summary     string                `json:"summary"`
				Description string                `json:"description"`
				IssueType   struct{ Name string } `json:"issuetype"`
			} `json:"fields"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Fields.Project.Key != "OPS" || b.Fields.Summary != "refund failed" ||
			b.Fields.IssueType.Name != "Bug" || !strings.Contains(b.Fields.Description, "Culprit") {
			http.Error(w, "bad body", 400)
			return
		}
		w.WriteHeader(201)
		io.WriteString(w, `{"id": "10000", "key": "OPS-24", "self": "x"}`)
	}))
	defer jira.Close()
	f := newFixture(t, rules(t, `
ticketers:
  gh: {type: github, url: "`+gh.URL+`", repo: acme/shop, token: ghp_x, labels: [bug]}
  jira: {type: jira, url: "`+jira.URL+`", user: bot@acme.com, token: tok, project: OPS}
rules:
  - name: tickets
    triggers: [{type: new}, {type: regression}]
    filter: {environment: [production]}
    actions: [{type: ticket, ticketer: gh}]
`), nil)
	f.send("checkout", nil)
	f.run()
	g := f.group("checkout")
	tk, err := f.n.Ticket(ctx, g.ID)
	require.NoError(t, err)
	require.NotNil(t, tk)
	assert.Equal(t, "created", tk.State, tk.LastError)
	assert.Equal(t, "https://github.com/acme/shop/issues/7", tk.URL)
	// A regression does not raise a second ticket; nor does the button.
	require.NoError(t, f.st.SetStatus(ctx, []int64{g.ID}, store.StatusResolved))
	f.send("checkout", nil)
	f.run()
	tk, err = f.n.CreateTicket(ctx, g.ID, "jira")
	require.NoError(t, err)
	assert.Equal(t, "https://github.com/acme/shop/issues/7", tk.URL)
	assert.Equal(t, map[string]int{"github": 1}, calls)

	// Jira, by the button, for another group.
	f.send("refund", func(e *event.Event) { e.Environment = "staging" })
	r := f.group("refund")
	tk, err = f.n.CreateTicket(ctx, r.ID, "jira")
	require.NoError(t, err)
	assert.Equal(t, jira.URL+"/browse/OPS-24", tk.URL)
	assert.Equal(t, map[string]int{"github": 1, "jira": 1}, calls)
}

// TestConfigErrors: the error names the rule and the field.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`rules: [{name: a, triggers: [{type: often}], actions: [{type: mail}]}]`, `rule "a": triggers[0].type "often"`},
		{`rules: [{name: a, triggers: [{type: frequency, count: 3, window: 30s}], actions: [{type: mail}]}]`, `triggers[0].window must be 1m to 30d`},
		{`rules: [{name: a, triggers: [{type: new}], interval: 1m, actions: [{type: mail}]}]`, `rule "a": interval must be 5m to 30d`},
		{`rules: [{name: a, triggers: [{type: new}], actions: [{type: webhook, url: "ftp://x"}]}]`, `actions[0].url must be an http(s) URL`},
		{`rules: [{name: a, triggers: [{type: new}], actions: [{type: ticket, ticketer: gh}]}]`, `actions[0].ticketer "gh" is not in ticketers`},
		{`rules: [{name: a, triggers: [{type: new}], actions: [{type: mail}], colour: red}]`, `field colour not found`},
		{`{"rules": [{"name": "a", "triggers": [{"type": "new"}], "actions": []}]}`, `rule "a": actions: at least one is required`},
		{`ticketers: {gh: {type: github, repo: acme}}`, `ticketers.gh.repo must be owner/name`},
	} {
		_, err := ParseConfig([]byte(c.in))
		require.Error(t, err, c.in)
		assert.Contains(t, err.Error(), c.want)
	}
	_, err := New(nil, nil, Options{Mail: errmail.Options{Addr: "localhost:smtp"}})
	assert.ErrorContains(t, err, `bad port "smtp"`)
	c, err := ParseConfig([]byte(`{"rules": [{"name": "j", "triggers": [{"type": "users", "count": 5, "window": "7d"}], "actions": [{"type": "mail"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, 7*24*time.Hour, time.Duration(c.Rules[0].Triggers[0].Window))
	assert.Equal(t, DefaultInterval, time.Duration(c.Rules[0].Interval))
}

// TestSentryGoEndToEnd: the stock sentry-go SDK reports to errlogd's
// ingest; one mail; the same error again, none; resolved and again, one
// regression mail.
func TestSentryGoEndToEnd(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.Now = time.Now })
	h := ingest.New(f.st, ingest.Options{})
	mux := http.NewServeMux()
	mux.Handle("/api/{project}/envelope/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dsn := fmt.Sprintf("http://%s@%s/%d", f.prj.PublicKey, strings.TrimPrefix(srv.URL, "http://"), f.prj.ID)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Environment: "production"})
	require.NoError(t, err)
	hub := sentry.NewHub(client, sentry.NewScope())
	report := func() {
		hub.CaptureException(errors.New("card declined"))
		require.True(t, client.Flush(5*time.Second))
		f.run()
	}
	report()
	mails := f.smtp.Mails()
	require.Len(t, mails, 1)
	assert.Contains(t, mails[0].Header.Get("Subject"), "card declined")
	report()
	require.Len(t, f.smtp.Mails(), 1, "the same error again: no mail")
	page, err := f.st.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	require.NoError(t, f.st.SetStatus(ctx, []int64{page.Groups[0].ID}, store.StatusResolved))
	report()
	mails = f.smtp.Mails()
	require.Len(t, mails, 2)
	body := mailBody(t, mails[1])
	assert.Contains(t, body, "Regression")
}

// TestInApp: an application's own errors (the store as an
// errlog.EventSink) alert through the same rules and outbox.
func TestInApp(t *testing.T) {
	f := newFixture(t, nil, nil)
	for i := 0; i < 3; i++ {
		f.st.Deliver(&event.Event{EventID: event.NewID(), Timestamp: f.clk.Now(), Level: event.LevelError,
			Exception: []event.Exception{{Value: "in-app failed"}}})
	}
	require.NoError(t, f.st.Flush(ctx))
	f.run()
	mails := f.smtp.Mails()
	require.Len(t, mails, 1)
	assert.Equal(t, "[errlog] ERROR: in-app failed", mails[0].Header.Get("Subject"))
}

// TestHookFailureKeepsEvents: when alerting fails inside a commit, its
// writes roll back to the savepoint and the events are committed (the
// error goes to WriterOptions.OnError).
func TestHookFailureKeepsEvents(t *testing.T) {
	f := newFixture(t, nil, nil)
	require.NoError(t, f.st.ExecSQL(ctx, `DROP TABLE alert_outbox`))
	f.send("lost-alert", nil)
	g := f.group("lost-alert")
	assert.Equal(t, int64(1), g.Count)
	var state int
	require.NoError(t, f.st.Pool().QueryRow(`SELECT count(*) FROM alert_rule_state`).Scan(&state))
	assert.Equal(t, 0, state, "the hook's own writes rolled back")
}

// TestPruneSent: sent notifications older than KeepSent leave the outbox;
// newer and unsent ones stay.
func TestPruneSent(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.send("old", nil)
	f.run()
	require.Len(t, f.smtp.Mails(), 1)
	f.clk.Add(KeepSent + 2*time.Hour)
	f.send("new", nil)
	f.run()
	assert.Equal(t, []string{"default/new/new failed"}, f.reasons())
}

// TestDeletedGroup: a notification of a group deleted before it was sent
// is settled without a mail, not retried.
func TestDeletedGroup(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.send("gone", nil)
	require.NoError(t, f.st.DeleteGroup(ctx, f.group("gone").ID))
	f.run()
	assert.Empty(t, f.smtp.Mails())
	fails, err := f.n.Failures(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, fails)
}

// Webhooks sent one by one stop before their claim runs out (when another
// instance could take the rows) and release the rest: each still goes out
// exactly once.
func TestWebhooksStopBeforeTheLeaseEnds(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	var f *fixture
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Payload
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		got[p.Title]++
		mu.Unlock()
		f.clk.Add(time.Minute) // a slow receiver
	}))
	defer srv.Close()
	f = newFixture(t, rules(t, `
rules:
  - name: hook
    triggers: [{type: new}]
    actions: [{type: webhook, url: "`+srv.URL+`"}]
`), func(o *Options) { o.Lease = 2 * time.Minute })
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		f.send(name, nil)
	}
	require.NoError(t, f.n.RunOnce(ctx))
	mu.Lock()
	assert.Len(t, got, 2, "the third waits: 90 s of the 2 min claim were used")
	mu.Unlock()
	require.NoError(t, f.n.RunOnce(ctx))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{"alpha failed": 1, "bravo failed": 1, "charlie failed": 1}, got)
}

// TestStopKeepsHook: Stop stops the sender but leaves the hook attached,
// so that what the store commits until it closes (errlogd's shutdown: the
// counts it owes, written as it closes) still puts its alerts in the
// outbox; Close detaches it. errlogd detached it before closing the
// store, and the new groups of the counts written then were never
// announced.
func TestStopKeepsHook(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.send("before", nil)
	f.n.Stop()
	f.send("stopped", nil)
	require.NoError(t, f.n.Close())
	f.send("closed", nil)
	assert.Equal(t, []string{"default/new/before failed", "default/new/stopped failed"}, f.reasons())
	f.n.Stop() // after Close: nothing to do, and no panic
	require.NoError(t, f.n.Close())
}
