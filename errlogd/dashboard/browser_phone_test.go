package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserPhone: on a 390 px phone, long titles wrap to two lines
// (not cut to a few words), culprits keep their file and line in view,
// the group page's alerts table stays inside its card, and the trace and
// breadcrumbs fit. In Chromium.
func TestBrowserPhone(t *testing.T) {
	st := openStore(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the receiver at hooks.example.com answered 502 Bad Gateway: upstream connect error or disconnect/reset before headers", http.StatusBadGateway)
	}))
	defer hook.Close()
	cfg, err := alert.ParseConfig([]byte(`
rules:
  - name: a rule with a rather long name for a phone
    triggers: [{type: new}]
    actions: [{type: webhook, url: "` + hook.URL + `/a/long/path/for/the/receiver"}]
`))
	require.NoError(t, err)
	n, err := alert.New(st.(*sqlite.Store).DB, cfg, alert.Options{Manual: true})
	require.NoError(t, err)
	defer n.Close()

	p := project(t, st)
	ev := httpEvent("profile unavailable: load profile from the account service: connection refused by 10.0.0.7:5432 after 3 attempts", "*fmt.wrapError", time.Now())
	ev.Exception[1].Stacktrace.Frames[2] = event.Frame{Module: "github.com/acme/shop/internal/accounts/profile", Function: "(*Loader).LoadProfileWithRetries", AbsPath: "/home/builder/work/shop/internal/accounts/profile/loader.go", Lineno: 214, InApp: true}
	ev.Contexts["trace"] = map[string]any{"trace_id": testTrace, "span_id": testSpan, "sampled": true}
	ev.Breadcrumbs = []event.Breadcrumb{{Timestamp: time.Now(), Category: "http.client", Level: event.LevelInfo, Message: "GET https://accounts.internal.example.com/v1/profiles/u-1842?fields=all&expand=preferences,addresses,payment_methods", Data: map[string]any{"status_code": 503, "url": "https://accounts.internal.example.com/v1/profiles/u-1842?fields=all"}}}
	submit(t, st, p, ev)
	require.Error(t, n.RunOnce(context.Background()), "the webhook fails: the history has a row with an error")

	srv := httptest.NewServer(Handler(st, Options{Alerts: n, TraceURL: "https://tempo.example.com/explore?traceId={trace_id}"}))
	defer srv.Close()

	ctx := newBrowser(t, 390, 844, true)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")))
	waitFor(t, ctx, `!!document.querySelector('a.title')`)
	lines := evalJS[float64](t, ctx, `(() => { const a = document.querySelector('a.title'); return a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight); })()`)
	assert.InDelta(t, 2, lines, 0.2, "the title takes two lines")
	where := evalJS[string](t, ctx, `document.querySelector('.issues .culprit .cwhere').textContent`)
	assert.Equal(t, "internal/accounts/profile/loader.go:214", where)
	assert.True(t, evalJS[bool](t, ctx, `(() => { const w = document.querySelector('.issues .culprit .cwhere').getBoundingClientRect(), c = document.querySelector('td.issue').getBoundingClientRect(); return w.width > 0 && w.right <= c.right + 1; })()`), "the file and line are in view")
	assert.False(t, evalJS[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`), "the list fits")
	shoot(t, ctx, "list-phone-titles.png")

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/groups/1")))
	waitFor(t, ctx, `!!document.querySelector('#alerts table')`)
	inside := evalJS[bool](t, ctx, `(() => { const t = document.querySelector('#alerts table').getBoundingClientRect(), c = document.querySelector('#alerts').getBoundingClientRect(); return t.left >= c.left - 1 && t.right <= c.right + 1; })()`)
	assert.True(t, inside, "the alerts table stays inside its card")
	for _, sel := range []string{"#trace", "#traces", "#breadcrumbs"} {
		assert.True(t, evalJS[bool](t, ctx, `(() => { const e = document.querySelector('`+sel+`'); if (!e) return false; const r = e.getBoundingClientRect(); return r.right <= window.innerWidth + 1 && e.scrollWidth <= e.clientWidth + 1; })()`), sel+" fits")
	}
	assert.Equal(t, "https://tempo.example.com/explore?traceId="+testTrace, evalJS[string](t, ctx, `document.querySelector('#trace a.trace-out').href`))
	assert.False(t, evalJS[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`), "the group page fits")
	shoot(t, ctx, "group-phone-alerts.png")

	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1400, 900)))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/groups/1")))
	waitFor(t, ctx, `!!document.querySelector('#trace')`)
	assert.False(t, evalJS[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`), "the alerts table stays in its card on a wide screen too")
	shoot(t, ctx, "group-trace-1400.png")

	// The issue list by trace: the link from the event page.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#trace a.trace-issues`)))
	waitFor(t, ctx, `!!document.querySelector('#trace-filter')`)
	assert.Equal(t, 1, evalJS[int](t, ctx, `document.querySelectorAll('a.title').length`))
}

// On a 390 px phone, a release as mobile SDKs name it
// (package@version+build) and a tag value with no space (a route) wrap
// on the group page: the page is no wider than the screen, and the tag's
// chip shows its whole value. The release made the page wider (a nowrap
// tag), and the chip cut the value off.
func TestBrowserPhoneLongValues(t *testing.T) {
	st := openStore(t)
	ev := httpEvent("checkout failed", "*orders.PaymentError", time.Now().Add(-time.Minute))
	ev.Release = "com.example.shop.android@4.12.0+a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0"
	ev.Tags["route"] = "/api/v1/organizations/{org}/projects/{project}/issues/{issue_id}/events"
	submit(t, st, project(t, st), ev)
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()

	ctx := newBrowser(t, 390, 844, true)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/groups/1")))
	waitFor(t, ctx, `!!document.querySelector('.evnav') && !!document.querySelector('#tags')`)
	shoot(t, ctx, "group-phone-long-values.png")
	width := evalJS[int](t, ctx, `document.documentElement.scrollWidth`)
	assert.LessOrEqual(t, width, 391, "the page is %dpx wide on a 390px phone", width)
	assert.Equal(t, ev.Release, evalJS[string](t, ctx, `document.querySelector('.evnav .tag.rel').textContent`), "the release in full")
	sizes := evalJS[[]int](t, ctx, `(() => { const c = [...document.querySelectorAll('#tags .chip')].find(c => c.textContent.startsWith('route')); const r = c.getBoundingClientRect(); return [c.scrollWidth, c.clientWidth, Math.ceil(r.right)]; })()`)
	assert.LessOrEqual(t, sizes[0], sizes[1]+1, "the route chip's content is %dpx wide in a %dpx chip: cut off", sizes[0], sizes[1])
	assert.LessOrEqual(t, sizes[2], 391, "the route chip ends inside the screen")
}
