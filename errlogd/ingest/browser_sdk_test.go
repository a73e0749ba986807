package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserSDK: the stock browser SDK (@sentry/browser, bundled with
// esbuild) in headless Chromium reports to errlogd from a page on another
// origin: the CORS preflight passes and the events are stored.
func TestBrowserSDK(t *testing.T) {
	mods := os.Getenv("ERRLOG_TEST_NODE_MODULES")
	_, err := os.Stat(filepath.Join(mods, "node_modules", "@sentry", "browser"))
	esbuild := filepath.Join(mods, "node_modules", ".bin", "esbuild")
	_, esErr := os.Stat(esbuild)
	const chromium = "/usr/bin/chromium"
	_, chErr := os.Stat(chromium)
	needSDK(t, "@sentry/browser and esbuild (ERRLOG_TEST_NODE_MODULES) and Chromium", mods != "" && err == nil && esErr == nil && chErr == nil)

	entry := filepath.Join(mods, fmt.Sprintf("errlog-browser-%d.js", os.Getpid()))
	require.NoError(t, os.WriteFile(entry, []byte("import * as Sentry from '@sentry/browser';\nwindow.Sentry = Sentry;\n"), 0o644))
	defer os.Remove(entry)
	bundle := filepath.Join(t.TempDir(), "sentry.js")
	run(t, mods, nil, esbuild, entry, "--bundle", "--format=iife", "--log-level=warning", "--outfile="+bundle)

	st, _, dsn := sdkServer(t)
	page := `<!doctype html><title>app</title><script src="/sentry.js"></script><script>
Sentry.init({dsn: ` + fmt.Sprintf("%q", dsn) + `, release: "web@1", environment: "production", sendClientReports: false});
Sentry.setUser({id: 42});
Sentry.setTag("tenant", "acme");
function renderCart() { return undefinedCartHelper(); }
try { renderCart(); } catch (e) { Sentry.captureException(e); }
Sentry.captureMessage("cart emptied in the browser", "warning");
Sentry.flush(10000).then(function (ok) { document.title = ok ? "sent" : "failed"; });
</script>`
	mux := http.NewServeMux()
	mux.HandleFunc("/sentry.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, bundle) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, page) })
	web := httptest.NewServer(mux) // another origin than ingest's
	defer web.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	c, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	require.NoError(t, chromedp.Do(c, chromedp.Navigate(web.URL)))
	var title string
	for title == "" || title == "app" {
		title, err = chromedp.Run(c, chromedp.Evaluate[string]("document.title"))
		require.NoError(t, err)
		if title == "app" {
			time.Sleep(20 * time.Millisecond) // the SDK is sending
		}
	}
	require.Equal(t, "sent", title)

	checkSDKGroups(t, st, map[string]string{
		"ReferenceError: undefinedCartHelper is not defined": "renderCart (" + web.URL + "/",
		"cart emptied in the browser":                        "",
	}, "")
	page2, err := st.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	assert.Len(t, page2.Groups, 2)
}
