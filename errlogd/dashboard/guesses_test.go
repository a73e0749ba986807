package dashboard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGuessesShared: one limit of password guesses holds for the JSON API
// and the dashboard together, as errlogd mounts them; a session cookie
// still works while the limit holds; the right password a minute later
// gets in.
func TestGuessesShared(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Now()}
	g := &Guesses{PerMinute: 3}
	mux := http.NewServeMux()
	mux.Handle("/dev/error/api/", api.New(st, api.Options{Prefix: "/dev/error", Password: pw, Now: clk.Now, Guesses: g}))
	mux.Handle("/dev/error/", Handler(st, Options{Prefix: "/dev/error", Password: pw, Now: clk.Now, Guesses: g}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := client(t)

	// The admin logs in.
	_, body := get(t, c, srv.URL+"/dev/error/login")
	token := csrfOf(t, body)
	resp, _ := post(t, c, srv.URL+"/dev/error/login", form("csrf", token, "password", pw))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	// Guesses at the API, from the same address.
	apiGet := func(pass string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/dev/error/api/stats", nil)
		req.SetBasicAuth("admin", pass)
		resp, err := client(t).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := 0; i < 3; i++ {
		assert.Equal(t, http.StatusUnauthorized, apiGet("guess"))
	}
	assert.Equal(t, http.StatusTooManyRequests, apiGet(pw))

	// The dashboard counts them too.
	anon := client(t)
	_, body = get(t, anon, srv.URL+"/dev/error/login")
	resp, _ = post(t, anon, srv.URL+"/dev/error/login", form("csrf", csrfOf(t, body), "password", pw))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the API's guesses count at the dashboard")

	// The session cookie is never held back.
	resp, _ = get(t, c, srv.URL+"/dev/error/")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	clk.Add(61 * time.Second)
	assert.Equal(t, http.StatusOK, apiGet(pw))
	resp, _ = post(t, anon, srv.URL+"/dev/error/login", form("csrf", csrfOf(t, body), "password", pw))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

// TestSafeNext: the page a login returns to stays under the prefix, dot
// segments resolved as a browser resolves them.
func TestSafeNext(t *testing.T) {
	s := &server{prefix: "/dev/error"}
	for in, want := range map[string]string{
		"/dev/error/?level=error":         "/dev/error/?level=error",
		"/dev/error/groups/3":             "/dev/error/groups/3",
		"/dev/error/../../x":              "/dev/error/",
		"/dev/error/%2e%2e/%2e%2e/x":      "/dev/error/",
		"/dev/error/./groups/../rules/":   "/dev/error/rules/",
		"/dev/error/groups/..":            "/dev/error/",
		"/dev/errorx":                     "/dev/error/",
		"//evil.example/":                 "/dev/error/",
		"/dev/error/\\evil":               "/dev/error/",
		"https://evil.example/dev/error/": "/dev/error/",
		"":                                "/dev/error/",
	} {
		assert.Equal(t, want, s.safeNext(in), in)
	}
}
