package dashboard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserLinkFromMail: a developer has the dashboard open in a tab
// and clicks the link of an alert mail in webmail, another site: the
// link opens in a second tab. The dashboard's cookies are SameSite=Strict,
// so that navigation carries neither the session nor the CSRF cookie:
// the second tab asks for the password again although the session is
// valid, and the login page sets a new CSRF cookie over the old one, so
// that every form of the first tab fails with "The form's security token
// is missing or stale" (403). Same without a password: the page the link
// opens replaces the CSRF cookie.
func TestBrowserLinkFromMail(t *testing.T) {
	for _, password := range []string{pw, ""} {
		t.Run(fmt.Sprintf("password=%v", password != ""), func(t *testing.T) {
			st := openStore(t)
			submit(t, st, project(t, st), httpEvent("checkout failed", "*orders.PaymentError", time.Now().Add(-time.Minute)))
			srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Password: password}))
			defer srv.Close()
			base := srv.URL + "/dev/error" // http://127.0.0.1:port
			mail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `<!doctype html><a id="link" href="%s/groups/1">checkout failed</a>`, base)
			}))
			defer mail.Close()
			webmail := strings.Replace(mail.URL, "127.0.0.1", "localhost", 1) // another site

			tabA := newBrowser(t, 1200, 800, false)
			require.NoError(t, chromedp.Do(tabA, chromedp.Navigate(base+"/groups/1")))
			if password != "" {
				require.NoError(t, chromedp.Do(tabA, chromedp.SendKeys("#password", pw), chromedp.Click("#login")))
			}
			waitFor(t, tabA, `!!document.querySelector('#resolve')`)

			tabB, cancel := chromedp.NewContext(tabA)
			defer cancel()
			require.NoError(t, chromedp.Do(tabB, chromedp.Navigate(webmail)))
			require.NoError(t, chromedp.Do(tabB, chromedp.Click("#link")))
			waitFor(t, tabB, `location.pathname.startsWith('/dev/error/')`)
			loc, err := chromedp.Run(tabB, chromedp.Location())
			require.NoError(t, err)
			assert.Equal(t, base+"/groups/1", loc, "the mail's link opens the issue, not the login page")

			require.NoError(t, chromedp.Do(tabA, chromedp.Click("#resolve")))
			waitFor(t, tabA, `!document.querySelector('#resolve') || document.title.startsWith('Forbidden')`)
			title, err := chromedp.Run(tabA, chromedp.Title())
			require.NoError(t, err)
			assert.False(t, strings.HasPrefix(title, "Forbidden"), "the first tab's Resolve: %s", title)
		})
	}
}
