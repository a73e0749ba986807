package alert

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebhookRedirects: a 307 or 308 to another host is not followed, so
// the body and its signature never reach it; a redirect on the same host
// is, as before. Tickets go through the same client.
func TestWebhookRedirects(t *testing.T) {
	var mu sync.Mutex
	var stolen, moved []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		stolen = append(stolen, r.Header)
		mu.Unlock()
	}))
	defer other.Close()
	var hook *httptest.Server
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		case "/away308", "/repos/acme/shop/issues":
			http.Redirect(w, r, other.URL+"/steal", http.StatusPermanentRedirect)
		case "/same":
			http.Redirect(w, r, hook.URL+"/moved", http.StatusTemporaryRedirect)
		case "/moved":
			mu.Lock()
			moved = append(moved, r.Header)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	f := newFixture(t, rules(t, `
ticketers:
  gh: {type: github, url: "`+hook.URL+`", repo: acme/shop, token: ghp_secret}
rules:
  - name: hooks
    triggers: [{type: new}]
    actions:
      - {type: webhook, url: "`+hook.URL+`/away", secret: k}
      - {type: webhook, url: "`+hook.URL+`/away308", secret: k}
      - {type: webhook, url: "`+hook.URL+`/same", secret: k}
`), nil)
	f.send("api", nil)
	err := f.n.RunOnce(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not following a redirect to another host")
	tk, err := f.n.CreateTicket(ctx, f.group("api").ID, "gh")
	require.Error(t, err)
	assert.Contains(t, tk.LastError, "not following a redirect to another host")
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, stolen, "nothing reached the other host")
	require.Len(t, moved, 1, "a redirect on the same host is followed")
	assert.NotEmpty(t, moved[0].Get("X-Errlog-Signature"))
}

// TestURLSchemes: webhook and ticketer URLs are http(s) with a host,
// checked when the rules are loaded rather than when an alert is sent.
func TestURLSchemes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`rules: [{name: a, triggers: [{type: new}], actions: [{type: webhook, url: "file:///etc/passwd"}]}]`, `actions[0].url must be an http(s) URL`},
		{`rules: [{name: a, triggers: [{type: new}], actions: [{type: webhook, url: "http://"}]}]`, `actions[0].url must be an http(s) URL`},
		{`ticketers: {t: {type: webhook, url: "gopher://127.0.0.1:70/x"}}`, `ticketers.t.url must be an http(s) URL`},
		{`ticketers: {t: {type: webhook, url: "file:///etc/passwd"}}`, `ticketers.t.url must be an http(s) URL`},
		{`ticketers: {t: {type: jira, url: "ftp://acme", project: OPS, token: x}}`, `ticketers.t.url must be an http(s) URL`},
		{`ticketers: {t: {type: github, url: "unix:///run/x.sock", repo: a/b, token: x}}`, `ticketers.t.url must be an http(s) URL`},
	} {
		_, err := ParseConfig([]byte(c.in))
		if assert.Error(t, err, c.in) {
			assert.Contains(t, err.Error(), c.want, c.in)
		}
	}
	_, err := ParseConfig([]byte(`ticketers: {t: {type: github, repo: a/b, token: x}}`))
	assert.NoError(t, err, "github's URL has a default")
}
