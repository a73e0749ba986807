package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOnCallRemoveSecretOnRefusedEdit: the on-call person edits a rule,
// ticks "remove it" beside the webhook secret and mistypes the interval.
// The refused form shows the secret as gone (no "set" badge, no "remove
// it" box); they fix the interval and save what the page shows. The
// secret must then be removed, as the page said.
func TestOnCallRemoveSecretOnRefusedEdit(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()
	_, body := get(t, f.c, f.base+"/new")
	csrf := csrfOf(t, body)
	resp, _ := post(t, f.c, f.base, formWith(ruleFields(csrf, "a_webhook", "1", "webhook_url", "https://hooks.example.com/x",
		"webhook_secret", "hush-hush-42")...))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	rs, err := f.n.StoredRules(ctx, project(t, f.st).ID)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	edit := f.base + "/" + strconv.FormatInt(rs[0].ID, 10)

	resp, body = post(t, f.c, edit, formWith(ruleFields(csrf, "a_webhook", "1", "webhook_secret_clear", "1", "interval", "1m")...))
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	shownGone := !assertHas(t, body, `id="secret-set"`, "the refused form should still say the secret is set (it is)")
	// The browser posts back what the page holds: no webhook_secret_clear
	// unless the page still offers the box.
	resp, _ = post(t, f.c, edit, formWith(ruleFields(csrf, "a_webhook", "1", "interval", "1h")...))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	x, err := f.n.StoredRule(ctx, rs[0].ID)
	require.NoError(t, err)
	require.Len(t, x.Rule.Actions, 2)
	if shownGone {
		assert.Empty(t, x.Rule.Actions[1].Secret, "the page showed the secret removed, yet it is still stored")
	}
}

// TestOnCallMutedUntilShowsWhen: a group muted for a day says until
// when, not "until in the future".
func TestOnCallMutedUntilShowsWhen(t *testing.T) {
	st := openStore(t)
	cfg, err := alert.ParseConfig([]byte("rules:\n  - name: n\n    triggers: [{type: new}]\n    actions: [{type: webhook, url: \"http://127.0.0.1:1/\"}]\n"))
	require.NoError(t, err)
	n, err := alert.New(st.(*sqlite.Store).DB, cfg, alert.Options{Manual: true})
	require.NoError(t, err)
	defer n.Close()
	p := project(t, st)
	submit(t, st, p, httpEvent("card declined", "*payment.Error", time.Now()))
	page, err := st.ListGroups(context.Background(), store.GroupQuery{})
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Alerts: n}))
	defer srv.Close()
	c := client(t)
	gu := srv.URL + "/dev/error/groups/" + strconv.FormatInt(page.Groups[0].ID, 10)
	for _, d := range []string{"1h", "24h", "168h"} {
		_, body := get(t, c, gu)
		resp, _ := post(t, c, gu+"/mute", form("csrf", csrfOf(t, body), "for", d))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		_, body = get(t, c, gu)
		assertHas(t, body, `id="muted"`)
		assertHasNot(t, body, "in the future</time>", "muted for "+d+": the page should say until when")
	}
}

// TestOnCallAlertFailuresPhone: the on-call person opens "Alert
// failures" (the link on every group page) on a phone: the table of
// failed notifications fits the screen, as the group page's does.
func TestOnCallAlertFailuresPhone(t *testing.T) {
	st := openStore(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver down", http.StatusBadGateway)
	}))
	defer hook.Close()
	cfg, err := alert.ParseConfig([]byte("rules:\n  - name: pager hook\n    triggers: [{type: new}]\n    actions: [{type: webhook, url: \"" + hook.URL + "/hooks/errlog\"}]\n"))
	require.NoError(t, err)
	n, err := alert.New(st.(*sqlite.Store).DB, cfg, alert.Options{Manual: true})
	require.NoError(t, err)
	defer n.Close()
	p := project(t, st)
	submit(t, st, p, httpEvent("card declined", "*payment.Error", time.Now()))
	require.Error(t, n.RunOnce(context.Background()))
	srv := httptest.NewServer(Handler(st, Options{Alerts: n}))
	defer srv.Close()

	ctx := newBrowser(t, 390, 844, true)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/alerts")))
	waitFor(t, ctx, `!!document.querySelector('#failures table')`)
	width := evalJS[int](t, ctx, `document.documentElement.scrollWidth`)
	assert.LessOrEqual(t, width, 391, "the alert failures page is %dpx wide on a 390px phone", width)
	inside := evalJS[bool](t, ctx, `(() => { const e = document.querySelector('#failures'), t = e.querySelector('table').getBoundingClientRect(), c = e.getBoundingClientRect(); return (t.left >= c.left - 1 && t.right <= c.right + 1) || getComputedStyle(e).overflowX == 'auto'; })()`)
	assert.True(t, inside, "the failures table stays inside its card, or the card scrolls it")
	shoot(t, ctx, "dashflow-alerts-phone.png")
}

// TestOnCallTypedSecretOnRefusedForm: a new rule with a webhook and
// its secret, refused for a mistyped interval. The page does not send the
// secret back (by design), so it must say to type it again: it said
// "none: signs X-Errlog-Signature", and the rule saved after fixing the
// interval had no secret at all (a receiver that verifies signatures
// then refuses every alert).
func TestOnCallTypedSecretOnRefusedForm(t *testing.T) {
	f := newRulesFixture(t)
	_, body := get(t, f.c, f.base+"/new")
	csrf := csrfOf(t, body)
	resp, body := post(t, f.c, f.base, formWith(ruleFields(csrf, "interval", "1m", "a_webhook", "1",
		"webhook_url", "https://hooks.example.com/x", "webhook_secret", "hush-hush-42")...))
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assertHasNot(t, body, "hush-hush-42")
	assertHas(t, body, `id="secret-again"`, "the refused form says the secret typed must be typed again")
}
