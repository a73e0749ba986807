package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium returns the browser's path: $ERRLOG_CHROMIUM, else Debian's
// /usr/bin/chromium. Missing, the test skips, except in CI.
func chromium(t *testing.T) string {
	path := os.Getenv("ERRLOG_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is needed in CI (apt-get install chromium): %v", err)
		}
		t.Skipf("no chromium at %s (set ERRLOG_CHROMIUM)", path)
	}
	return path
}

// newBrowser starts a headless Chromium of its own for one test, its
// viewport w×h (a phone's when mobile), stopped when the test ends.
func newBrowser(t *testing.T, w, h int, mobile bool) context.Context {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	t.Cleanup(cancel)
	var viewport []chromedp.EmulateViewportOption
	if mobile {
		viewport = append(viewport, chromedp.EmulateMobile)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h), viewport...)))
	return ctx
}

// screenshotDir is where the browser test writes its screenshots:
// $ERRLOG_SCREENSHOTS, else testdata/screenshots.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("ERRLOG_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// waitFor evaluates js until it is true on a loaded page. (chromedp.Poll builds its
// predicate with new Function, which the dashboard's CSP forbids.)
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		// The new page's URL is set before its document has loaded.
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.readyState === 'complete' && ("+js+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("waited 15s for %s (at %s, last error %v)", js, loc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(screenshotDir(t), name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot %s", path)
}

// TestBrowser drives the dashboard in a real headless Chromium, as a
// developer would: one browser for all the subtests, which run in order.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	for i := 0; i < 14; i++ {
		submit(t, st, p, httpEvent("checkout failed", "*orders.PaymentError", now.Add(-time.Duration(i*i*37)*time.Minute)))
	}
	for i := 0; i < 5; i++ {
		submit(t, st, p, messageEvent("disk almost full on /var", event.LevelWarning, "staging", now.Add(-time.Duration(i*5+1)*time.Hour)))
	}
	submit(t, st, p,
		messageEvent("cache rebuilt slowly", event.LevelInfo, "production", now.Add(-20*time.Minute)),
		messageEvent("worker pool exhausted", event.LevelError, "production", now.Add(-50*time.Hour)),
	)
	xss := messageEvent(`pwned <script>alert("s")</script><img src=x onerror=alert("i")> <a href="javascript:alert('j')">click</a>`, event.LevelError, "production", now.Add(-2*time.Minute))
	xss.Extra = map[string]any{"html": `<img src=x onerror=alert("e")>`, "url": "javascript:alert('u')"}
	xss.Request = &event.Request{Method: "GET", URL: "javascript:alert('r')", Headers: map[string]string{"X-Evil": `"><script>alert("h")</script>`}}
	submit(t, st, p, xss)

	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Password: pw}))
	defer srv.Close()
	base := srv.URL + "/dev/error"

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()

	// Any dialog (alert from injected script) is counted and dismissed.
	var dialogs atomic.Int32
	events := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1400, 900)))

	titles := func() []string {
		return evalJS[[]string](t, ctx, `[...document.querySelectorAll('a.title')].map(a => a.textContent)`)
	}

	t.Run("LoginRedirect", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(loc, base+"/login?next="), loc)
		shoot(t, ctx, "login.png")
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys("#password", "not it"),
			chromedp.Click("#login"),
		))
		waitFor(t, ctx, `!!document.querySelector('#login-error')`)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys("#password", pw),
			chromedp.Click("#login"),
		))
		waitFor(t, ctx, `!!document.querySelector('table.issues')`)
	})

	t.Run("List", func(t *testing.T) {
		got := titles()
		assert.Equal(t, []string{"*orders.PaymentError: checkout failed", "pwned <script>alert(\"s\")</script><img src=x onerror=alert(\"i\")> <a href=\"javascript:alert('j')\">click</a>", "cache rebuilt slowly", "disk almost full on /var", "worker pool exhausted"}, got)
		count := evalJS[string](t, ctx, `document.querySelector('#g1 .count').textContent`)
		assert.Equal(t, "14", count)
		bars := evalJS[int](t, ctx, `document.querySelectorAll('#g1 svg.spark rect:not(.base)').length`)
		assert.Greater(t, bars, 3, "the sparkline has a bar per busy hour")
		shoot(t, ctx, "list-1400.png")
	})

	t.Run("FilterAndSearch", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(`select[name="level"]`, "warning"),
			chromedp.Click(`.filters button[type="submit"]`),
		))
		waitFor(t, ctx, `location.search.includes('level=warning')`)
		assert.Equal(t, []string{"disk almost full on /var"}, titles())

		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(`select[name="environment"]`, "production"),
			chromedp.SendKeys(`input[name="q"]`, "CHECKOUT"),
			chromedp.Click(`.filters button[type="submit"]`),
		))
		waitFor(t, ctx, `location.search.includes('q=CHECKOUT')`)
		assert.Equal(t, []string{"*orders.PaymentError: checkout failed"}, titles())

		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?range=24h&sort=count")))
		assert.Equal(t, []string{"*orders.PaymentError: checkout failed", "disk almost full on /var", "pwned <script>alert(\"s\")</script><img src=x onerror=alert(\"i\")> <a href=\"javascript:alert('j')\">click</a>", "cache rebuilt slowly"}, titles())
	})

	t.Run("GroupPage", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#g1 a.title`)))
		waitFor(t, ctx, `!!document.querySelector('#exception')`)
		inApp := evalJS[[]string](t, ctx, `[...document.querySelectorAll('.frame.inapp .fn')].map(e => e.textContent)`)
		assert.Equal(t, []string{"example.com/shop/orders.(*Service).Checkout"}, inApp)
		weight := evalJS[string](t, ctx, `getComputedStyle(document.querySelector('.frame.inapp .fn')).fontWeight`)
		assert.Equal(t, "700", weight, "the in-app frame is emphasised")
		folded := evalJS[[]bool](t, ctx, `[...document.querySelectorAll('details.lib')].map(d => d.open)`)
		assert.Equal(t, []bool{false, false}, folded, "library frames are folded")
		hidden := evalJS[bool](t, ctx, `!document.querySelector('details.lib .frame').checkVisibility()`)
		assert.True(t, hidden)
		req := evalJS[string](t, ctx, `document.querySelector('#request').innerText`)
		assert.Contains(t, req, "POST https://shop.example.com/checkout")
		assert.Contains(t, req, "coupon")
		extra := evalJS[string](t, ctx, `document.querySelector('#extra').innerText`)
		assert.Contains(t, extra, "order_id")
		assert.Contains(t, extra, "ord_8812")
		shoot(t, ctx, "group-1400.png")

		require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#older`)))
		waitFor(t, ctx, `location.search.includes('event=')`)
		assert.True(t, evalJS[bool](t, ctx, `!!document.querySelector('#newer')`))
	})

	t.Run("Resolve", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/groups/1")))
		assert.Equal(t, "unresolved", evalJS[string](t, ctx, `document.querySelector('#status').textContent`))
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#resolve`)))
		waitFor(t, ctx, `document.querySelector('#status') && document.querySelector('#status').textContent === 'resolved'`)
		assert.Equal(t, store.StatusResolved, groupStatus(t, st, 1))
		assert.True(t, evalJS[bool](t, ctx, `!!document.querySelector('#reopen') && !document.querySelector('#resolve')`))
	})

	t.Run("CSRFRefused", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/groups/1")))
		// A form without its token, as a forged one would arrive.
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#reopen').form.querySelector('[name=csrf]').remove(), true`))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#reopen`)))
		waitFor(t, ctx, `!!document.querySelector('#error-message')`)
		assert.Contains(t, evalJS[string](t, ctx, `document.querySelector('#error-message').textContent`), "security token")
		assert.Equal(t, store.StatusResolved, groupStatus(t, st, 1), "still resolved")
	})

	t.Run("HostileTextInert", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?status=all")))
		href := evalJS[string](t, ctx, `[...document.querySelectorAll('a.title')].find(a => a.textContent.startsWith('pwned')).href`)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(href)))
		waitFor(t, ctx, `!!document.querySelector('#message')`)
		title := evalJS[string](t, ctx, `document.querySelector('#title').textContent`)
		assert.Contains(t, title, `<script>alert("s")</script><img src=x onerror=alert("i")>`, "shown as text")
		injected := evalJS[int](t, ctx, `document.querySelectorAll('script, img[src="x"], [onerror], [onload], a[href^="javascript"], iframe, object, embed').length`)
		assert.Zero(t, injected, "no element injected")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?status=all")))
		assert.Zero(t, evalJS[int](t, ctx, `document.querySelectorAll('script, img[src="x"], [onerror], a[href^="javascript"]').length`))
		time.Sleep(200 * time.Millisecond) // a dialog would be reported by now
		assert.Zero(t, dialogs.Load(), "no dialog opened")
	})

	t.Run("PhoneAndDark", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?status=all")))
		overflow := evalJS[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`)
		assert.False(t, overflow, "the list fits a phone's width")
		shoot(t, ctx, "list-phone.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/groups/1")))
		assert.False(t, evalJS[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`), "the group page fits a phone's width")
		shoot(t, ctx, "group-phone.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1400, 900)))
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?status=all")))
		bg := evalJS[string](t, ctx, `getComputedStyle(document.body).backgroundColor`)
		assert.Equal(t, "rgb(23, 22, 29)", bg, "dark colours")
		shoot(t, ctx, "list-dark.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/groups/1")))
		shoot(t, ctx, "group-dark.png")
	})
	t.Run("RuleEditor", func(t *testing.T) {
		// A second dashboard on the same store, with alerts on, open to
		// this machine (no password).
		n, err := alert.New(st.(*sqlite.Store).DB, nil, alert.Options{Manual: true})
		require.NoError(t, err)
		defer n.Close()
		srv2 := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Alerts: n}))
		defer srv2.Close()
		base2 := srv2.URL + "/dev/error"
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base2+"/rules")))
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#new-rule-1`)))
		waitFor(t, ctx, `!!document.querySelector('#rule-form')`)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(`#name`, "checkout hook"),
			chromedp.Click(`input[name="a_mail"]`),
			chromedp.Click(`input[name="a_webhook"]`),
			chromedp.SetValue(`input[name="webhook_url"]`, "https://hooks.example.com/errlog"),
			chromedp.SetValue(`#webhook_secret`, "browser-secret"),
			chromedp.SetValue(`#interval`, "1m"),
			chromedp.Click(`#save-rule`),
		))
		waitFor(t, ctx, `!!document.querySelector('#rule-error')`)
		assert.Contains(t, evalJS[string](t, ctx, `document.querySelector('#rule-error').textContent`), "Interval: interval must be 5m to 30d")
		shoot(t, ctx, "rule-error.png")
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(`#interval`, "10m"),
			chromedp.SetValue(`#webhook_secret`, "browser-secret"),
			chromedp.Click(`#save-rule`),
		))
		waitFor(t, ctx, `!!document.querySelector('.stored-rule')`)
		row := evalJS[string](t, ctx, `document.querySelector('.stored-rule').innerText`)
		assert.Contains(t, row, "checkout hook")
		assert.Contains(t, row, "webhook https://hooks.example.com/…, signed", "the URL's path, often its secret, is not shown")
		assert.NotContains(t, evalJS[string](t, ctx, `document.body.innerHTML`), "browser-secret")
		shoot(t, ctx, "rules.png")
		rs, err := n.StoredRules(context.Background(), 1)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		assert.Equal(t, "browser-secret", rs[0].Rule.Actions[0].Secret)
	})
	fmt.Fprintln(os.Stderr, "browser test: screenshots in", screenshotDir(t))
}

// Every form control on the group page has a name a screen reader
// announces (a label, aria-label or title), the alert controls' too: the
// mute duration menu, the "N more times" field and the ticketer menu were
// announced as "combo box, 1 hour", "spin button, 100", "combo box".
func TestBrowserGroupControlsLabelled(t *testing.T) {
	st := openStore(t)
	cfg, err := alert.ParseConfig([]byte(`
ticketers:
  jira: {type: webhook, url: "http://127.0.0.1:1/jira"}
  linear: {type: webhook, url: "http://127.0.0.1:1/linear"}
`))
	require.NoError(t, err)
	n, err := alert.New(st.(*sqlite.Store).DB, cfg, alert.Options{Manual: true})
	require.NoError(t, err)
	defer n.Close()
	submit(t, st, project(t, st), httpEvent("checkout failed", "*orders.PaymentError", time.Now().Add(-time.Minute)))
	srv := httptest.NewServer(Handler(st, Options{Alerts: n}))
	defer srv.Close()

	ctx := newBrowser(t, 1400, 900, false)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/groups/1")))
	waitFor(t, ctx, `!!document.querySelector('#alerts')`)
	controls := `[...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]`
	assert.Equal(t, []string{"for", "more", "ticketer"}, evalJS[[]string](t, ctx, controls+`.map(e => e.name)`), "the controls checked")
	unnamed := evalJS[[]string](t, ctx, controls+`
		.filter(e => !((e.labels && [...e.labels].some(l => l.textContent.trim())) || (e.getAttribute('aria-label')||'').trim() || e.getAttribute('aria-labelledby') || (e.title||'').trim()))
		.map(e => e.outerHTML.slice(0, 60))`)
	assert.Empty(t, unnamed, "controls without a name")
}

// Text users wrote in a right-to-left script is laid out right to left
// (dir="auto"), in Chromium: titles on the list and the group page, a
// message, an exception's value, tag values, feedback. Left to right, a
// Hebrew sentence's final "!" was drawn at its right end, where a Hebrew
// reader sees the sentence begin. Latin text stays left to right.
func TestBrowserRightToLeftText(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	msg := messageEvent("התשלום נכשל!", event.LevelError, "production", time.Now().Add(-2*time.Minute))
	msg.Tags = map[string]string{"city": "תל אביב", "route": "/checkout"}
	exc := httpEvent("הכרטיס נדחה", "*orders.PaymentError", time.Now().Add(-time.Minute))
	submit(t, st, p, msg, exc)
	require.NoError(t, st.AddFeedback(context.Background(), &store.Feedback{ProjectID: p.ID, EventID: string(msg.EventID),
		Name: "דנה", Comments: "הכפתור לא עובד!"}))
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()

	ctx := newBrowser(t, 1400, 900, false)
	dirs := func(sel string) []string {
		return evalJS[[]string](t, ctx, `[...document.querySelectorAll(`+"`"+sel+"`"+`)].map(e => e.textContent.trim() + ": " + getComputedStyle(e).direction)`)
	}
	// Whether the sentence's last character is drawn left of its first,
	// as a Hebrew reader expects.
	endsLeft := func(sel string) bool {
		return evalJS[bool](t, ctx, `(el => { const tn = el.firstChild; const r = document.createRange();
			r.setStart(tn, 0); r.setEnd(tn, 1); const first = r.getBoundingClientRect();
			r.setStart(tn, tn.length-1); r.setEnd(tn, tn.length); const last = r.getBoundingClientRect();
			return last.right <= first.left + 1; })(document.querySelector(`+"`"+sel+"`"+`))`)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")))
	waitFor(t, ctx, `!!document.querySelector('a.title')`)
	assert.ElementsMatch(t, []string{"התשלום נכשל!: rtl", "*orders.PaymentError: הכרטיס נדחה: ltr"}, dirs("a.title"))
	assert.True(t, endsLeft(`#g1 a.title`), "the list's title ends at its left")

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/groups/1")))
	waitFor(t, ctx, `!!document.querySelector('#feedback')`)
	assert.Equal(t, []string{"התשלום נכשל!: rtl"}, dirs("#title"))
	assert.True(t, endsLeft(`#title`), "the group's title ends at its left")
	assert.Equal(t, []string{"התשלום נכשל!: rtl"}, dirs("#message pre.msg"))
	assert.Equal(t, []string{"תל אביב: rtl", "/checkout: ltr"}, dirs("#tags .cv"))
	assert.Equal(t, []string{"הכפתור לא עובד!: rtl"}, dirs("#feedback p"))
	assert.Equal(t, []string{"דנה: rtl"}, dirs("#feedback footer bdi"))

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/groups/2")))
	waitFor(t, ctx, `!!document.querySelector('#exception')`)
	assert.Equal(t, []string{"הכרטיס נדחה: rtl", "dial tcp 10.0.0.7:5432: connect: connection refused: ltr"}, dirs(".evalue"))
	shoot(t, ctx, "group-rtl.png")
}
