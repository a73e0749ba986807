package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pw = "correct horse battery staple"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func groupStatus(t *testing.T, st store.Store, id int64) store.Status {
	t.Helper()
	g, err := st.Group(context.Background(), id)
	require.NoError(t, err)
	return g.Status
}

// Every answer, page or error, carries the security headers.
func TestSecurityHeaders(t *testing.T) {
	st := openStore(t)
	submit(t, st, project(t, st), httpEvent("boom", "*app.Error", time.Now().Add(-time.Minute)))
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	c := client(t)
	for _, path := range []string{"/dev/error/", "/dev/error/groups/1", "/dev/error/groups/999", "/dev/error/nope", "/dev/error/?status=bogus"} {
		resp, _ := get(t, c, srv.URL+path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		assert.Contains(t, csp, "default-src 'none'", path)
		assert.Contains(t, csp, "frame-ancestors 'none'", path)
		assert.NotContains(t, csp, "script-src", path, "no script is allowed at all")
		assert.NotContains(t, csp, "unsafe-inline", path)
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"), path)
		assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"), path)
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), path)
		assert.Equal(t, "no-store", h.Get("Cache-Control"), path)
	}
	resp, _ := get(t, c, srv.URL+"/dev/error/groups/999")
	assert.Equal(t, 404, resp.StatusCode)
	resp, body := get(t, c, srv.URL+"/dev/error/?status=bogus")
	assert.Equal(t, 400, resp.StatusCode)
	assertHas(t, body, "Unknown status &#34;bogus&#34;")
	resp, _ = get(t, c, srv.URL+"/dev/error")
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	assert.Equal(t, "/dev/error/", resp.Header.Get("Location"))
	resp, css := get(t, c, srv.URL+"/dev/error/static/style.css")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, css, "prefers-color-scheme: dark")
	assert.NotContains(t, css, "http", "no asset is fetched from elsewhere")
}

// TestFilterNotText: a filter holding a NUL byte or bytes that are not
// UTF-8 (typed, pasted or in a link) is answered 400 with a page that
// says so, on both databases: SQLite's full-text MATCH failed on NUL,
// PostgreSQL refused both (SQLSTATE 22021), and the dashboard answered
// its 500 page.
func TestFilterNotText(t *testing.T) {
	for db, open := range map[string]func(testing.TB) store.Store{"sqlite": openStore, "postgres": openPostgres} {
		t.Run(db, func(t *testing.T) {
			st := open(t)
			submit(t, st, project(t, st), httpEvent("boom", "*app.Error", time.Now().Add(-time.Minute)))
			srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
			defer srv.Close()
			c := client(t)
			for _, bad := range []string{"q=boom%00", "q=%FFboom", "level=%00", "environment=%FF", "release=a%00"} {
				resp, body := get(t, c, srv.URL+"/dev/error/?"+bad)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
				assertHas(t, body, "is not text: it holds a NUL byte, or bytes that are not UTF-8.")
			}
			resp, body := get(t, c, srv.URL+"/dev/error/?q=boom")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assertHas(t, body, "boom")
		})
	}
}

// The login form opens a session whose cookie is locked down; sessions
// expire and end at logout.
func TestLoginSession(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Now()}
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Password: pw, Now: clk.Now, SessionTTL: time.Hour}))
	defer srv.Close()
	c := client(t)

	resp, _ := get(t, c, srv.URL+"/dev/error/?level=error")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a page without login redirects")
	loc := resp.Header.Get("Location")
	assert.Equal(t, "/dev/error/login?next="+url.QueryEscape("/dev/error/?level=error"), loc)

	resp, body := get(t, c, srv.URL+loc)
	require.Equal(t, 200, resp.StatusCode)
	token := csrfOf(t, body)

	resp, body = post(t, c, srv.URL+"/dev/error/login", form("csrf", token, "password", "wrong", "next", "/dev/error/?level=error"))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assertHas(t, body, "Wrong password.")

	resp, _ = post(t, c, srv.URL+"/dev/error/login", form("password", pw))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the login form needs its CSRF token too")

	resp, _ = post(t, c, srv.URL+"/dev/error/login", form("csrf", token, "password", pw, "next", "/dev/error/?level=error"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dev/error/?level=error", resp.Header.Get("Location"))
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	require.NotNil(t, sess)
	assert.True(t, sess.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, sess.SameSite)
	assert.False(t, sess.Secure, "plain HTTP: a Secure cookie would never come back")
	assert.Equal(t, "/dev/error/", sess.Path)
	assert.Equal(t, 3600, sess.MaxAge)

	resp, body = get(t, c, srv.URL+"/dev/error/")
	require.Equal(t, 200, resp.StatusCode)
	assertHas(t, body, "Log out")

	clk.Add(time.Hour + time.Second)
	resp, _ = get(t, c, srv.URL+"/dev/error/")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the session expired")

	// Log in again, then out.
	_, body = get(t, c, srv.URL+"/dev/error/login")
	resp, _ = post(t, c, srv.URL+"/dev/error/login", form("csrf", csrfOf(t, body), "password", pw, "next", "//evil.example/"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dev/error/", resp.Header.Get("Location"), "no open redirect")
	_, body = get(t, c, srv.URL+"/dev/error/")
	resp, _ = post(t, c, srv.URL+"/dev/error/logout", form("csrf", csrfOf(t, body)))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = get(t, c, srv.URL+"/dev/error/")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "logged out")

	// Behind TLS (a proxy says so) the cookies are Secure.
	_, body = get(t, c, srv.URL+"/dev/error/login")
	req, err := http.NewRequest("POST", srv.URL+"/dev/error/login", strings.NewReader(form("csrf", csrfOf(t, body), "password", pw).Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err = c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	secure := false
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			secure = ck.Secure
		}
	}
	assert.True(t, secure)
}

// Failed logins are limited per address; a minute later they are allowed
// again.
func TestLoginRateLimit(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Now()}
	srv := httptest.NewServer(Handler(st, Options{Password: pw, Now: clk.Now, LoginAttempts: 3}))
	defer srv.Close()
	c := client(t)
	_, body := get(t, c, srv.URL+"/login")
	token := csrfOf(t, body)
	for i := 0; i < 3; i++ {
		resp, _ := post(t, c, srv.URL+"/login", form("csrf", token, "password", "guess"+strconv.Itoa(i)))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp, _ := post(t, c, srv.URL+"/login", form("csrf", token, "password", pw))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "even the right password waits")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	basic := func(pass string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.SetBasicAuth("admin", pass)
		resp, err := client(t).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusTooManyRequests, basic(pw), "Basic auth shares the limit")
	clk.Add(61 * time.Second)
	resp, _ = post(t, c, srv.URL+"/login", form("csrf", token, "password", pw))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for i := 0; i < 3; i++ {
		assert.Equal(t, http.StatusUnauthorized, basic("guess"))
	}
	assert.Equal(t, http.StatusTooManyRequests, basic(pw), "Basic guesses count too")
	clk.Add(61 * time.Second)
	assert.Equal(t, http.StatusOK, basic(pw))
}

// HTTP Basic with user admin works on every page, for scripts.
func TestBasicAuth(t *testing.T) {
	st := openStore(t)
	submit(t, st, project(t, st), httpEvent("boom", "*app.Error", time.Now().Add(-time.Minute)))
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Password: pw}))
	defer srv.Close()
	try := func(user, pass, path string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.SetBasicAuth(user, pass)
		resp, err := client(t).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		if resp.StatusCode == 401 {
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
		}
		return resp.StatusCode
	}
	assert.Equal(t, 200, try("admin", pw, "/dev/error/"))
	assert.Equal(t, 200, try("admin", pw, "/dev/error/groups/1"))
	assert.Equal(t, 200, try("admin", pw, "/dev/error/events/1/json"))
	assert.Equal(t, 401, try("admin", "nope", "/dev/error/"))
	assert.Equal(t, 401, try("root", pw, "/dev/error/"))
}

// Every state change needs the form's CSRF token, bound to the browser's
// cookie.
func TestCSRF(t *testing.T) {
	st := openStore(t)
	submit(t, st, project(t, st), httpEvent("boom", "*app.Error", time.Now().Add(-time.Minute)))
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	c := client(t)
	_, body := get(t, c, srv.URL+"/dev/error/groups/1")
	token := csrfOf(t, body)

	for name, v := range map[string]url.Values{
		"no token":    form("status", "resolved"),
		"wrong token": form("status", "resolved", "csrf", "AAAA"+token[4:]),
	} {
		resp, body := post(t, c, srv.URL+"/dev/error/groups/1/status", v)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, name)
		assertHas(t, body, "security token", name)
	}
	// Another browser's (the attacker's) valid token is no good here.
	other := client(t)
	_, obody := get(t, other, srv.URL+"/dev/error/")
	resp, _ := post(t, c, srv.URL+"/dev/error/groups/1/status", form("status", "resolved", "csrf", csrfOf(t, obody)))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = post(t, c, srv.URL+"/dev/error/groups/1/delete", form())
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = post(t, c, srv.URL+"/dev/error/groups/status", form("status", "resolved", "id", "1"))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	// A cross-site form post is refused by the browser's own headers too.
	req, _ := http.NewRequest("POST", srv.URL+"/dev/error/groups/1/status", strings.NewReader("status=resolved&csrf="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, store.StatusUnresolved, groupStatus(t, st, 1), "nothing changed")

	// A GET never changes anything.
	resp, _ = get(t, c, srv.URL+"/dev/error/groups/1/status?status=resolved")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, store.StatusUnresolved, groupStatus(t, st, 1))

	resp, _ = post(t, c, srv.URL+"/dev/error/groups/1/status", form("status", "resolved", "csrf", token, "return", "https://evil.example/"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dev/error/", resp.Header.Get("Location"), "no open redirect")
	assert.Equal(t, store.StatusResolved, groupStatus(t, st, 1))
}

// Without a password or Authorize, only this machine is served.
func TestInAppAccess(t *testing.T) {
	st := openStore(t)
	serve := func(h http.Handler, remote string, hdr ...string) int {
		req := httptest.NewRequest("GET", "http://localhost:8080/dev/error/", nil)
		req.RemoteAddr = remote
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Host" {
				req.Host = hdr[i+1]
				continue
			}
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	open := Handler(st, Options{Prefix: "/dev/error"})
	assert.Equal(t, 200, serve(open, "127.0.0.1:5555"))
	assert.Equal(t, 200, serve(open, "[::1]:5555"))
	assert.Equal(t, 403, serve(open, "203.0.113.9:5555"))
	assert.Equal(t, 403, serve(open, "127.0.0.1:5555", "X-Forwarded-For", "203.0.113.9"), "a local proxy forwards anyone")
	assert.Equal(t, 403, serve(open, "127.0.0.1:5555", "Forwarded", "for=203.0.113.9"))
	assert.Equal(t, 403, serve(open, "127.0.0.1:5555", "Host", "rebound.evil.example:8080"), "DNS rebinding: another site's name")

	admin := Handler(st, Options{Prefix: "/dev/error", Authorize: func(r *http.Request) bool { return r.Header.Get("X-Admin") == "yes" }})
	assert.Equal(t, 200, serve(admin, "203.0.113.9:5555", "X-Admin", "yes"))
	assert.Equal(t, 403, serve(admin, "203.0.113.9:5555"))
	assert.Equal(t, 403, serve(admin, "127.0.0.1:5555"), "with Authorize, loopback is no pass")

	both := Handler(st, Options{Prefix: "/dev/error", Password: pw, Authorize: func(r *http.Request) bool { return false }})
	assert.Equal(t, http.StatusSeeOther, serve(both, "203.0.113.9:5555"), "the password's login remains")
	assert.Equal(t, http.StatusSeeOther, serve(both, "127.0.0.1:5555"))
}

// Hostile text in an event is shown as text.
func TestEscaping(t *testing.T) {
	st := openStore(t)
	ev := httpEvent(`<script>alert("x")</script><img src=x onerror=alert(2)>`, "*app.Error", time.Now().Add(-time.Minute))
	ev.Request.URL = "javascript:alert(3)"
	ev.Extra["link"] = "javascript:alert(4)"
	ev.Extra["<b>key</b>"] = `"><svg onload=alert(5)>`
	ev.Tags["x"] = "</span><script>alert(6)</script>"
	ev.Environment = `prod"><script>alert(7)</script>`
	submit(t, st, project(t, st), ev)
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()
	for _, path := range []string{"/", "/groups/1", "/?q=" + url.QueryEscape(`"><script>alert(8)</script>`)} {
		resp, body := get(t, client(t), srv.URL+path)
		require.Equal(t, 200, resp.StatusCode)
		assertHasNot(t, body, "<script>alert", path)
		assertHasNot(t, body, "<img src=x", path)
		assertHasNot(t, body, "<svg onload", path)
		assertHasNot(t, body, `href="javascript:`, path)
		assert.Equal(t, 0, strings.Count(body, "<script"), path)
	}
	_, body := get(t, client(t), srv.URL+"/groups/1")
	assertHas(t, body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")
	assertHas(t, body, "javascript:alert(3)", "shown as text")
}

// The list filters, searches, sorts and pages.
func TestListFilters(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	submit(t, st, p,
		messageEvent("disk almost full", event.LevelWarning, "production", now.Add(-3*time.Hour)),
		messageEvent("cache miss storm", event.LevelInfo, "staging", now.Add(-2*time.Minute)),
		httpEvent("card declined", "*pay.Declined", now.Add(-30*time.Hour)),
	)
	for i := 0; i < 3; i++ {
		submit(t, st, p, messageEvent("cache miss storm", event.LevelInfo, "staging", now.Add(-time.Minute)))
	}
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()
	c := client(t)
	titles := func(q string) []string {
		resp, body := get(t, c, srv.URL+"/"+q)
		require.Equal(t, 200, resp.StatusCode, q)
		var out []string
		for _, part := range strings.Split(body, `class="title" href="`)[1:] {
			part = part[strings.Index(part, ">")+1:]
			out = append(out, part[:strings.Index(part, "<")])
		}
		return out
	}
	assert.Equal(t, []string{"cache miss storm", "disk almost full", "*pay.Declined: card declined"}, titles(""))
	assert.Equal(t, []string{"disk almost full"}, titles("?level=warning"))
	assert.Equal(t, []string{"cache miss storm"}, titles("?environment=staging"))
	assert.Equal(t, []string{"*pay.Declined: card declined"}, titles("?q=DECLINED"))
	assert.Equal(t, []string{"*pay.Declined: card declined"}, titles("?q=checkout"), "the culprit is searched too")
	assert.Equal(t, []string{"cache miss storm", "disk almost full"}, titles("?range=24h"))
	assert.Equal(t, []string{"cache miss storm"}, titles("?range=1h"))
	assert.Equal(t, []string{"cache miss storm", "*pay.Declined: card declined", "disk almost full"}, titles("?sort=count"), "ties: newest group first")
	assert.Equal(t, []string{"cache miss storm", "disk almost full", "*pay.Declined: card declined"}, titles("?sort=first_seen"))
	assert.Equal(t, []string{"cache miss storm"}, titles("?sort=first_seen&range=1h"))
	_, body := get(t, c, srv.URL+"/?sort=count")
	assertHas(t, body, `title="4 events">4</td>`)
	assert.Empty(t, titles("?q=nothing-like-this"))

	// Bulk resolve two; the default list (unresolved) keeps one.
	_, body = get(t, c, srv.URL+"/")
	resp, _ := post(t, c, srv.URL+"/groups/status", form("csrf", csrfOf(t, body), "status", "resolved", "id", "1", "id", "2", "return", "/?level=info"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/?level=info", resp.Header.Get("Location"))
	assert.Equal(t, []string{"*pay.Declined: card declined"}, titles(""))
	assert.Equal(t, []string{"cache miss storm", "disk almost full"}, titles("?status=resolved"))
	assert.Len(t, titles("?status=all"), 3)
	_, body = get(t, c, srv.URL+"/")
	resp, _ = post(t, c, srv.URL+"/groups/status", form("csrf", csrfOf(t, body), "status", "ignored", "id", "3"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, []string{"*pay.Declined: card declined"}, titles("?status=ignored"))

	// A regression is flagged.
	submit(t, st, p, messageEvent("disk almost full", event.LevelWarning, "production", now))
	_, body = get(t, c, srv.URL+"/")
	assertHas(t, body, `<span class="badge reg">regression</span>`)
}

// distinctFailures is a store of n issues, one error each, a minute apart.
func distinctFailures(t *testing.T, n int) store.Store {
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	var evs []*event.Event
	for i := 0; i < n; i++ {
		evs = append(evs, messageEvent("distinct failure "+strings.Repeat("x", i), event.LevelError, "production", now.Add(-time.Duration(i)*time.Minute)))
	}
	submit(t, st, p, evs...)
	return st
}

// Pages follow the cursor to the end, without repeats.
func TestListPaging(t *testing.T) {
	st := distinctFailures(t, 57)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	c := client(t)
	seen := map[string]bool{}
	next := "/dev/error/"
	pages := 0
	for next != "" {
		_, body := get(t, c, srv.URL+next)
		pages++
		for _, part := range strings.Split(body, `<tr class="row`)[1:] {
			id := part[strings.Index(part, `id="`)+4:]
			id = id[:strings.Index(id, `"`)]
			assert.False(t, seen[id], "repeated %s", id)
			seen[id] = true
		}
		next = ""
		if i := strings.Index(body, `rel="next"`); i >= 0 {
			h := body[:i]
			h = h[strings.LastIndex(h, `href="`)+6:]
			next = strings.ReplaceAll(h[:strings.Index(h, `"`)], "&amp;", "&")
		}
		assert.Equal(t, pages > 1, strings.Contains(body, "« First page"), "a first-page link after the first page")
	}
	assert.Equal(t, 2, pages)
	assert.Len(t, seen, 57)
}

// Resolving the rows of a later page comes back to the first page of
// the same filters, where the issues left are; the later page, now
// empty, says so and links to the first.
func TestBulkActionOnLaterPage(t *testing.T) {
	st := distinctFailures(t, 57)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	c := client(t)
	_, body := get(t, c, srv.URL+"/dev/error/?level=error")
	i := strings.Index(body, `" rel="next"`)
	require.Greater(t, i, 0, "a next page")
	page2 := body[:i]
	page2 = strings.ReplaceAll(page2[strings.LastIndex(page2, `href="`)+6:], "&amp;", "&")
	_, body = get(t, c, srv.URL+page2)
	v := form("csrf", csrfOf(t, body), "status", "resolved")
	for _, part := range strings.Split(body, `name="id" value="`)[1:] {
		v.Add("id", part[:strings.Index(part, `"`)])
	}
	require.Len(t, v["id"], 7)
	ret := body[strings.Index(body, `name="return" value="`)+21:]
	v.Set("return", strings.ReplaceAll(ret[:strings.Index(ret, `"`)], "&amp;", "&"))
	resp, _ := post(t, c, srv.URL+"/dev/error/groups/status", v)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dev/error/?level=error", resp.Header.Get("Location"), "the first page, same filters")

	_, body = get(t, c, srv.URL+page2)
	assertHas(t, body, `<p class="empty" id="past-end">No more issues here.</p>`)
	assertHasNot(t, body, "Nothing has broken yet", "50 issues are unresolved")
	assertHas(t, body, `<a href="/dev/error/?level=error">« First page</a>`)
}

// An event stamped a little ahead of the server's clock, as ingest keeps
// it (up to store.MaxFuture), was seen "just now", and is drawn in the
// charts, though it falls in the next hour: at hh:59:45, stamped 30 s
// ahead.
func TestEventAheadOfTheClock(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now().UTC().Truncate(time.Hour).Add(time.Hour - 15*time.Second)
	in, err := store.Prepare(p, messageEvent("payment provider timed out", event.LevelError, "production", now.Add(30*time.Second)), nil, now)
	require.NoError(t, err)
	require.NoError(t, st.Submit(context.Background(), in))
	srv := httptest.NewServer(Handler(st, Options{Now: func() time.Time { return now }}))
	defer srv.Close()
	c := client(t)
	_, body := get(t, c, srv.URL+"/")
	assertHasNot(t, body, "in the future", "the list")
	assertHas(t, body, ">just now</time>")
	assertHas(t, body, `title="1 event">1</td>`)
	assertHas(t, body, `aria-label="1 event in 24 hours"`, "the sparkline beside the count")
	_, body = get(t, c, srv.URL+"/groups/1")
	assertHasNot(t, body, "in the future", "the group page")
	assertHas(t, body, `id="count">1<`)
	assertHas(t, body, `Last 14 days, per hour (1 event)`, "the chart beside the count")

	assert.Equal(t, "just now", relTime(now, now.Add(store.MaxFuture)))
	assert.Equal(t, "in the future", relTime(now, now.Add(store.MaxFuture+time.Second)), "further ahead than ingest keeps")
}

// The group page shows the event and navigates through the others.
func TestGroupPage(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	for i := 0; i < 3; i++ {
		ev := httpEvent("checkout failed", "*orders.PaymentError", now.Add(time.Duration(i-5)*time.Minute))
		ev.Extra["attempt"] = i
		submit(t, st, p, ev)
	}
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()
	c := client(t)
	_, body := get(t, c, srv.URL+"/groups/1")
	assertHas(t, body, `<div class="frame inapp">`)
	assertHas(t, body, `(*Service).Checkout</span> <span class="file">orders/checkout.go:87</span> <span class="badge app">in app</span>`)
	assertHas(t, body, `<details class="lib"><summary>2 library frames</summary>`, "library frames folded; the module-cache frame too, whatever the SDK said")
	assertHas(t, body, `<span class="method">POST</span> <code class="url">https://shop.example.com/checkout?step=pay&amp;coupon=SPRING</code>`)
	assertHas(t, body, `<tr><th>attempt</th><td><pre>2</pre></td></tr>`, "the latest event first")
	assertHas(t, body, `<span class="off">Newer →</span>`)
	assertHas(t, body, `id="count">3<`)
	assertHas(t, body, `id="users">1<`, "one user, three times")
	older := body[strings.Index(body, `id="older"`)-40:]
	older = older[strings.Index(older, `href="`)+6:]
	older = strings.ReplaceAll(older[:strings.Index(older, `"`)], "&amp;", "&")
	assert.Equal(t, "/groups/1?event=2", older)
	_, body = get(t, c, srv.URL+older)
	assertHas(t, body, `<tr><th>attempt</th><td><pre>1</pre></td></tr>`)
	assertHas(t, body, `href="/groups/1?event=3" id="newer"`)
	assertHas(t, body, `href="/groups/1?event=1" id="older"`)

	resp, js := get(t, c, srv.URL+"/events/2/json")
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &got))
	assert.Equal(t, "shop@1.4.2", got["release"])

	resp, _ = get(t, c, srv.URL+"/groups/1?event=999")
	assert.Equal(t, 404, resp.StatusCode)

	// Delete.
	resp, _ = post(t, c, srv.URL+"/groups/1/delete", form("csrf", csrfOf(t, body)))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = get(t, c, srv.URL+"/groups/1")
	assert.Equal(t, 404, resp.StatusCode)
}

// Exception groups are drawn as a tree; frames carry their source lines.
func TestExceptionGroupTree(t *testing.T) {
	st := openStore(t)
	raw := []byte(`{"event_id":"0123456789abcdef0123456789abcdef","timestamp":` + strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10) + `,"level":"error","platform":"python",
"exception":{"values":[
 {"type":"ValueError","value":"bad row 7","mechanism":{"type":"chained","exception_id":2,"parent_id":0}},
 {"type":"KeyError","value":"'sku'","mechanism":{"type":"chained","exception_id":1,"parent_id":0}},
 {"type":"ExceptionGroup","value":"import failed (2 sub-exceptions)","mechanism":{"type":"generic","handled":false,"exception_id":0,"is_exception_group":true},
  "stacktrace":{"frames":[{"function":"main","module":"shop.cli","filename":"cli.py","lineno":12,"in_app":true,"pre_context":["def main():"],"context_line":"    run_import()","post_context":["    return 0"],"vars":{"path":"'/tmp/x.csv'"}}]}}
]},
"threads":{"values":[{"id":7,"name":"importer","crashed":true,"stacktrace":{"frames":[{"function":"run","module":"threading","filename":"threading.py","lineno":975},{"function":"work","module":"shop.jobs","filename":"jobs.py","lineno":33,"in_app":true}]}}]}}`)
	ev, err := decode.Event(raw)
	require.NoError(t, err)
	in, err := store.Prepare(project(t, st), ev, raw, time.Now())
	require.NoError(t, err)
	require.NoError(t, st.Submit(context.Background(), in))
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()
	resp, body := get(t, client(t), srv.URL+"/groups/1")
	require.Equal(t, 200, resp.StatusCode)
	root := strings.Index(body, `<span class="etype">ExceptionGroup</span>`)
	children := strings.Index(body, `<div class="children">`)
	key := strings.Index(body, `<span class="etype">KeyError</span>`)
	val := strings.Index(body, `<span class="etype">ValueError</span>`)
	require.True(t, root >= 0 && children > root && key > children && val > key, "group, then its members in order, nested")
	assertHas(t, body, `<span class="badge">generic, unhandled</span>`)
	assertHas(t, body, `<ol class="src" start="11"><li><code>def main():</code></li><li class="hl"><code>    run_import()</code></li>`)
	assertHas(t, body, `<tr><th>path</th><td><pre>&#39;/tmp/x.csv&#39;</pre></td></tr>`)
	assertHas(t, body, `<h2>Thread importer <span class="badge reg">crashed</span></h2>`)
	assertHas(t, body, `<span class="mod">shop.jobs.</span>work</span>`)
}
