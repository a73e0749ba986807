package alert

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/event"
	errmail "github.com/errlog/errlog/mail"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStoredRules: a project's rule saved in the store (as the dashboard
// does) fires at once, with no restart, mailing its own recipients; an
// edit and a delete take effect at once; its JSON reads back as a rules
// file's rule; validation names the field.
func TestStoredRules(t *testing.T) {
	f := newFixture(t, rules(t, `
rules:
  - name: elsewhere
    project: another
    triggers: [{type: new}]
    actions: [{type: mail}]
`), nil)
	r := Rule{Name: "dev mail", Triggers: []Trigger{{Type: TriggerNew}}, Actions: []Action{{Type: ActionMail, To: []string{"dev@example.com"}}}}
	id, err := f.n.SaveRule(ctx, f.prj.ID, 0, r)
	require.NoError(t, err)
	f.send("payment", nil)
	f.run()
	mails := f.smtp.Mails()
	require.Len(t, mails, 1)
	assert.Equal(t, "dev@example.com", mails[0].Header.Get("To"))
	assert.Equal(t, []string{"dev mail/new/payment failed"}, f.reasons())

	got, err := f.n.StoredRule(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, Duration(DefaultInterval), got.Rule.Interval, "the default is filled and stored")
	assert.Equal(t, "30m", got.Rule.Interval.String())

	// Edit: only staging now; a production group mails nothing.
	r.Filter.Environment = []string{"staging"}
	_, err = f.n.SaveRule(ctx, f.prj.ID, id, r)
	require.NoError(t, err)
	f.send("refund", nil)
	f.send("stock", func(e *event.Event) { e.Environment = "staging" })
	f.run()
	require.Len(t, f.smtp.Mails(), 2)
	assert.Equal(t, []string{"dev mail/new/payment failed", "dev mail/new/stock failed"}, f.reasons())

	// Delete: nothing more.
	require.NoError(t, f.n.DeleteRule(ctx, f.prj.ID, id))
	f.send("basket", func(e *event.Event) { e.Environment = "staging" })
	f.run()
	assert.Len(t, f.smtp.Mails(), 2)
	rs, err := f.n.StoredRules(ctx, f.prj.ID)
	require.NoError(t, err)
	assert.Empty(t, rs)
	assert.Error(t, f.n.DeleteRule(ctx, f.prj.ID, id))

	// Validation: the field is named; a file rule's name is refused.
	bad := r
	bad.Interval = Duration(time.Minute)
	_, err = f.n.SaveRule(ctx, f.prj.ID, 0, bad)
	assert.ErrorContains(t, err, "interval must be 5m to 30d")
	bad = r
	bad.Actions = []Action{{Type: ActionWebhook, URL: "ftp://x"}}
	_, err = f.n.SaveRule(ctx, f.prj.ID, 0, bad)
	assert.ErrorContains(t, err, "actions[0].url")
	bad = r
	bad.Actions = []Action{{Type: ActionTicket, Ticketer: "none"}}
	_, err = f.n.SaveRule(ctx, f.prj.ID, 0, bad)
	assert.ErrorContains(t, err, `actions[0].ticketer "none"`)
	other, err := f.st.CreateProject(ctx, "another")
	require.NoError(t, err)
	bad = r
	bad.Name = "elsewhere"
	_, err = f.n.SaveRule(ctx, other.ID, 0, bad)
	assert.True(t, errors.Is(err, ErrRuleName), "%v", err)
	_, err = f.n.SaveRule(ctx, f.prj.ID, 0, bad)
	assert.NoError(t, err, "the file's rule is another project's")
	_, err = f.n.SaveRule(ctx, f.prj.ID, 0, bad)
	assert.True(t, errors.Is(err, ErrRuleName), "two rules of a project have one name: %v", err)
}

// TestPostgresStoredRuleOtherInstance: a rule saved through one errlogd
// process is used by another on the same PostgreSQL at its next poll,
// with no restart.
func TestPostgresStoredRuleOtherInstance(t *testing.T) {
	url := pgtest.URL(t)
	mail := startSMTP(t, "")
	clk := newClock()
	// The file's one rule is another project's: no default rule.
	cfg := rules(t, `
rules:
  - name: elsewhere
    project: nobody
    triggers: [{type: new}]
    actions: [{type: webhook, url: "http://127.0.0.1:1/"}]
`)
	var ns []*Notifier
	var sts []*postgres.Store
	for i := 0; i < 2; i++ {
		st, err := postgres.Open(ctx, url, postgres.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close(context.Background()) })
		n, err := New(st.DB, cfg, Options{Mail: errmail.Options{Addr: mail.Addr, TLSConfig: mail.TC, Username: "user", Password: "s3cret", From: "errlogd@example.com"}, Now: clk.Now, Manual: true, MailDelay: -1})
		require.NoError(t, err)
		t.Cleanup(func() { n.Close() })
		ns, sts = append(ns, n), append(sts, st)
	}
	p, err := sts[0].CreateProject(ctx, "rules-other-instance")
	require.NoError(t, err)
	_, err = ns[0].SaveRule(ctx, p.ID, 0, Rule{Name: "ops", Triggers: []Trigger{{Type: TriggerNew}}, Actions: []Action{{Type: ActionMail, To: []string{"ops@example.com"}}}})
	require.NoError(t, err)
	require.NoError(t, ns[1].RunOnce(ctx), "the poll reloads the rules")
	ev := &event.Event{EventID: event.NewID(), Timestamp: clk.Now(), Level: event.LevelError, Exception: []event.Exception{{Value: "stored rule fired"}}}
	in, err := store.Prepare(p, ev, nil, clk.Now())
	require.NoError(t, err)
	require.NoError(t, sts[1].Submit(ctx, in))
	require.NoError(t, ns[1].RunOnce(ctx))
	mails := mail.Mails()
	require.Len(t, mails, 1)
	assert.Equal(t, "ops@example.com", mails[0].Header.Get("To"))
}
