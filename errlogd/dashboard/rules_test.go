package dashboard

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	errmail "github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/mail/mailtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mailbox is a real SMTP server in the test (mailtest): it keeps each
// mail with its envelope recipients.
type mailbox struct{ *mailtest.Server }

func startMailbox(t testing.TB) *mailbox {
	return &mailbox{mailtest.Start(t, mailtest.Options{})}
}

func (mb *mailbox) Mails() ([]*mail.Message, [][]string) {
	var msgs []*mail.Message
	var rcpts [][]string
	for _, r := range mb.Server.Mails() {
		m, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			panic(err) // package mail wrote it: a test's bug
		}
		msgs, rcpts = append(msgs, m), append(rcpts, r.To)
	}
	return msgs, rcpts
}

// rulesFixture is a store with a notifier (a rules file with one rule
// for every project, and a ticketer) and the dashboard on it.
type rulesFixture struct {
	st   *sqlite.Store
	n    *alert.Notifier
	mb   *mailbox
	srv  *httptest.Server
	c    *http.Client
	base string // the project's rules: /dev/error/projects/ID/rules
}

func newRulesFixture(t *testing.T) *rulesFixture {
	t.Helper()
	st := openStore(t)
	mb := startMailbox(t)
	cfg, err := alert.ParseConfig([]byte(`
ticketers:
  tracker: {type: webhook, url: "http://127.0.0.1:1/tickets"}
rules:
  - name: file-wide
    triggers: [{type: regression}]
    actions: [{type: mail}]
`))
	require.NoError(t, err)
	n, err := alert.New(st.(*sqlite.Store).DB, cfg, alert.Options{Manual: true, MailDelay: -1,
		Mail: errmail.Options{Addr: mb.Addr, NoTLS: true, From: "errlogd@example.com", To: []string{"ops@example.com"}}})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	p := project(t, st)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Alerts: n}))
	t.Cleanup(srv.Close)
	return &rulesFixture{st: st.(*sqlite.Store), n: n, mb: mb, srv: srv, c: client(t),
		base: srv.URL + "/dev/error/projects/" + strconv.FormatInt(p.ID, 10) + "/rules"}
}

// ruleForm is the editor's fields for a rule mailing dev@example.com on
// new issues in production, then kv.
func ruleFields(csrf string, kv ...string) []string {
	return append([]string{"csrf", csrf, "name", "dev mail", "t_new", "1", "environment", "production",
		"interval", "1h", "a_mail", "1", "mail_to", "dev@example.com"}, kv...)
}

// formWith is form() where later keys replace earlier ones.
func formWith(kv ...string) map[string][]string {
	v := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = []string{kv[i+1]}
	}
	return v
}

// TestRulePages: the rules page lists the file's rules (read-only) and
// the project's; the editor creates, edits (keeping the secret, never
// shown), and deletes rules; validation errors come back on the form
// with the field named; a POST without the CSRF token changes nothing;
// a hostile name is escaped.
func TestRulePages(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()
	resp, body := get(t, f.c, f.srv.URL+"/dev/error/rules")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assertHas(t, body, `id="nav-rules"`)
	assertHas(t, body, "file-wide")
	assertHas(t, body, "from file")
	assertHas(t, body, "mail ops@example.com")

	_, body = get(t, f.c, f.base+"/new")
	assertHas(t, body, `id="rule-form"`)
	assertHas(t, body, "<option>tracker</option>")
	csrf := csrfOf(t, body)

	// No token: refused, nothing stored.
	resp, _ = post(t, f.c, f.base, formWith(ruleFields("")...))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	rs, err := f.n.StoredRules(ctx, project(t, f.st).ID)
	require.NoError(t, err)
	assert.Empty(t, rs)

	// Validation errors: shown on the form, the field named, the input kept.
	resp, body = post(t, f.c, f.base, formWith(ruleFields(csrf, "interval", "1m")...))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assertHas(t, body, `id="rule-error"`)
	assertHas(t, body, "Interval: interval must be 5m to 30d, not 1m0s")
	assertHas(t, body, `name="interval" value="1m" size="6" class="invalid"`)
	assertHas(t, body, `value="dev@example.com"`, "the input is kept")
	resp, body = post(t, f.c, f.base, formWith(ruleFields(csrf, "t_frequency", "1", "freq_count", "10", "freq_window", "90d")...))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assertHas(t, body, "Events: in M: triggers[1].window must be 1m to 30d")
	resp, body = post(t, f.c, f.base, formWith(ruleFields(csrf, "a_webhook", "1", "webhook_url", "ftp://hooks.example.com")...))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assertHas(t, body, "Webhook URL: actions[1].url must be an http(s) URL")
	resp, body = post(t, f.c, f.base, formWith(ruleFields(csrf, "t_new", "", "name", "file-wide")...))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assertHas(t, body, "Triggers: triggers: at least one is required")
	resp, body = post(t, f.c, f.base, formWith(ruleFields(csrf, "name", "file-wide")...))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assertHas(t, body, "Name: ")
	assertHas(t, body, "is a rule of the rules file")

	// Create, with a webhook secret and a ticket.
	resp, _ = post(t, f.c, f.base, formWith(ruleFields(csrf, "a_webhook", "1", "webhook_url", "https://hooks.example.com/x",
		"webhook_secret", "hush-hush-42", "a_ticket", "1", "ticketer", "tracker", "tags", "region=eu")...))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dev/error/projects/"+strconv.FormatInt(project(t, f.st).ID, 10)+"/rules", resp.Header.Get("Location"))
	_, body = get(t, f.c, f.base)
	assertHas(t, body, "dev mail")
	assertHas(t, body, "environment production; region=eu")
	assertHas(t, body, "mail dev@example.com")
	assertHas(t, body, "webhook https://hooks.example.com/…, signed")
	assertHasNot(t, body, "hooks.example.com/x")
	assertHas(t, body, "ticket with tracker")
	assertHasNot(t, body, "hush-hush-42")
	rs, err = f.n.StoredRules(ctx, project(t, f.st).ID)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	id := rs[0].ID
	assert.Equal(t, "hush-hush-42", rs[0].Rule.Actions[1].Secret)

	// Edit: the secret and the webhook URL (a Slack URL is a secret)
	// show as "set", never in clear, the URL by its host; blank keeps them.
	edit := f.base + "/" + strconv.FormatInt(id, 10)
	_, body = get(t, f.c, edit)
	assertHas(t, body, `id="secret-set"`)
	assertHasNot(t, body, "hush-hush-42")
	assertHas(t, body, `id="url-set"`)
	assertHas(t, body, `name="webhook_url" value="" autocomplete="off" placeholder="https://hooks.example.com/… set: leave blank to keep it"`)
	assertHasNot(t, body, "hooks.example.com/x")
	assertHas(t, body, `name="interval" value="1h"`)
	resp, _ = post(t, f.c, edit, formWith(ruleFields(csrf, "name", "dev pager", "interval", "2h", "a_webhook", "1",
		"webhook_url", "", "webhook_secret", "")...))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	x, err := f.n.StoredRule(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "dev pager", x.Rule.Name)
	assert.Equal(t, "2h", x.Rule.Interval.String())
	require.Len(t, x.Rule.Actions, 2)
	assert.Equal(t, "https://hooks.example.com/x", x.Rule.Actions[1].URL, "a blank URL keeps the old one")
	assert.Equal(t, "hush-hush-42", x.Rule.Actions[1].Secret, "a blank secret keeps the old one")
	resp, _ = post(t, f.c, edit, formWith(ruleFields(csrf, "a_webhook", "1", "webhook_url", "https://hooks.example.com/y", "webhook_secret_clear", "1")...))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	x, err = f.n.StoredRule(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "https://hooks.example.com/y", x.Rule.Actions[1].URL, "a URL typed replaces the old one")
	assert.Equal(t, "", x.Rule.Actions[1].Secret, "removed")

	// A hostile name is escaped wherever it is shown.
	resp, _ = post(t, f.c, edit, formWith(ruleFields(csrf, "name", `<script>alert("x")</script>`)...))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get(t, f.c, f.base)
	assertHasNot(t, body, "<script>")
	assertHas(t, body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	_, body = get(t, f.c, edit)
	assertHasNot(t, body, "<script>")

	// Delete: without the token refused; with it gone.
	resp, _ = post(t, f.c, edit+"/delete", form())
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = post(t, f.c, edit+"/delete", form("csrf", csrf))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get(t, f.c, f.base)
	assertHasNot(t, body, `class="stored-rule"`)
	resp, _ = get(t, f.c, edit)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = post(t, f.c, edit+"/delete", form("csrf", csrf))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = get(t, f.c, f.srv.URL+"/dev/error/projects/999/rules")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestRuleFromDashboardFires: a rule created through the editor fires on
// the next new issue, with the notifier running all along: one mail to
// the rule's recipients through a real SMTP server.
func TestRuleFromDashboardFires(t *testing.T) {
	f := newRulesFixture(t)
	p := project(t, f.st)
	submit(t, f.st, p, httpEvent("before the rule", "*orders.Error", time.Now()))
	require.NoError(t, f.n.RunOnce(context.Background()))
	mails, _ := f.mb.Mails()
	require.Empty(t, mails, "the file's rule alerts on regressions only")

	_, body := get(t, f.c, f.base+"/new")
	resp, _ := post(t, f.c, f.base, formWith(ruleFields(csrfOf(t, body), "mail_to", "dev@example.com, lead@example.com")...))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	submit(t, f.st, p, httpEvent("card declined", "*payment.Error", time.Now()))
	submit(t, f.st, p, messageEvent("staging only", "error", "staging", time.Now()))
	require.NoError(t, f.n.RunOnce(context.Background()))
	mails, rcpts := f.mb.Mails()
	require.Len(t, mails, 1, "one new production issue, one mail")
	assert.Equal(t, "dev@example.com, lead@example.com", mails[0].Header.Get("To"))
	assert.ElementsMatch(t, []string{"dev@example.com", "lead@example.com"}, rcpts[0])
	assert.True(t, strings.Contains(mails[0].Header.Get("Subject"), "card declined"), mails[0].Header.Get("Subject"))
}

// TestRulesDefault: with mail and no rules file, the list shows the
// default rule as such, for every project.
func TestRulesDefault(t *testing.T) {
	st := openStore(t)
	mb := startMailbox(t)
	n, err := alert.New(st.(*sqlite.Store).DB, nil, alert.Options{Manual: true,
		Mail: errmail.Options{Addr: mb.Addr, NoTLS: true, From: "errlogd@example.com", To: []string{"ops@example.com"}}})
	require.NoError(t, err)
	defer n.Close()
	project(t, st)
	srv := httptest.NewServer(Handler(st, Options{Alerts: n}))
	defer srv.Close()
	_, body := get(t, client(t), srv.URL+"/rules")
	assertHas(t, body, `<span class="badge">default</span>`)
	assertHas(t, body, "new issue, regression")
	assertHas(t, body, "mail ops@example.com")
	assertHasNot(t, body, "from file")

	off := httptest.NewServer(Handler(st, Options{}))
	defer off.Close()
	resp, body := get(t, client(t), off.URL+"/rules")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no alerts, no rules pages")
	assertHasNot(t, body, `id="nav-rules"`)
}

// The rules page shows a webhook by its host: the rest of a Slack or
// Mattermost incoming webhook's URL lets whoever reads it post to the
// channel. It was shown whole, the rules file's too.
func TestRulesPageShowsWebhookHostOnly(t *testing.T) {
	st := openStore(t)
	project(t, st)
	cfg, err := alert.ParseConfig([]byte(`
rules:
  - name: slack
    triggers: [{type: new}]
    actions: [{type: webhook, format: slack, url: "https://hooks.slack.com/services/T0AAAA/B0BBBB/XoXoSecretToken123"}]
`))
	require.NoError(t, err)
	n, err := alert.New(st.(*sqlite.Store).DB, cfg, alert.Options{Manual: true})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Alerts: n}))
	defer srv.Close()
	resp, body := get(t, client(t), srv.URL+"/dev/error/rules")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assertHas(t, body, "webhook https://hooks.slack.com/… (Slack)")
	assertHasNot(t, body, "XoXoSecretToken123")
	assertHasNot(t, body, "T0AAAA")
}
