package main

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the quickstart's routes the way a visitor would and
// checks what errlog wrote: the log file and the mails.
func TestQuickstart(t *testing.T) {
	dir, st, h := startQuickstart(t)

	srv := httptest.NewServer(errlog.Middleware(newMux(st)))
	defer srv.Close()
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, get("/"))
	assert.Equal(t, 502, get("/error"))
	assert.Equal(t, 500, get("/panic"))
	assert.Equal(t, 503, get("/status/503"))
	assert.Equal(t, 200, get("/capture?order=42"))
	resp, err := http.PostForm(srv.URL+"/login", url.Values{"username": {"ann"}, "password": {"hunter2"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Close(ctx))

	logText, err := os.ReadFile(filepath.Join(dir, "quickstart.log"))
	require.NoError(t, err)
	log := string(logText)
	for _, want := range []string{
		"ERROR: profile unavailable [in ",
		"ERROR: panic: assignment to entry in nil map",
		"ERROR: HTTP 503 Service Unavailable",
		"ERROR: payment gateway timeout",
		"ERROR: login failed",
		"main.go:",
	} {
		assert.Contains(t, log, want)
	}
	assert.NotContains(t, log, "hunter2", "the password is masked in the file")

	mails, err := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	require.NoError(t, err)
	require.NotEmpty(t, mails, "errors are mailed as .eml files")
	subjects := ""
	for _, name := range mails {
		f, err := os.Open(name)
		require.NoError(t, err)
		m, err := mail.ReadMessage(f)
		require.NoError(t, err, name)
		body, _ := io.ReadAll(m.Body)
		f.Close()
		assert.NotContains(t, string(body), "hunter2", "the password is masked in mail")
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		require.NoError(t, err)
		subjects += subject + "\n"
	}
	assert.Contains(t, subjects, "profile unavailable")
	assert.NotContains(t, subjects, "HTTP 502", "GET /error is one failure, reported once")
	assert.NotContains(t, log, "HTTP 502")
	assert.True(t, strings.Contains(subjects, "panic"), subjects)
}

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "quickstart.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// startQuickstart wires errlog as the quickstart's main does, into dir:
// its defaults, a log file, mail as .eml files, a spool, and its SQLite
// store as an event sink; errlog is the default logger until the test
// ends.
func startQuickstart(t *testing.T) (dir string, st store.Store, h *errlog.Handler) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("ERRLOG_FILE", filepath.Join(dir, "quickstart.log"))
	t.Setenv("ERRLOG_MAIL_DIR", filepath.Join(dir, "mail"))
	t.Setenv("ERRLOG_SPOOL_DIR", filepath.Join(dir, "spool"))
	applyDefaults(defaults)
	opts := errlog.FromEnv()
	opts.Console = io.Discard
	st = openStore(t, dir)
	opts.Sinks = append(opts.Sinks, st)
	h = errlog.NewHandler(opts)
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return dir, st, h
}

// TestQuickstartDashboard triggers errors through the quickstart's routes
// and finds them in its own dashboard at /dev/error, then resolves one
// there, as a developer would.
func TestQuickstartDashboard(t *testing.T) {
	_, st, h := startQuickstart(t)
	defer h.Close(context.Background())

	srv := httptest.NewServer(errlog.Middleware(newMux(st)))
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		resp, err := c.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/error")
	assert.Equal(t, 502, code)
	code, _ = get("/capture?order=42")
	assert.Equal(t, 200, code)
	code, _ = get("/panic")
	assert.Equal(t, 500, code)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(ctx))

	code, body := get("/dev/error/")
	require.Equal(t, 200, code, "served to this machine without a password")
	assert.True(t, strings.Contains(body, "profile unavailable"), "profile unavailable")
	assert.True(t, strings.Contains(body, "payment gateway timeout"), "payment gateway timeout")
	assert.True(t, strings.Contains(body, "assignment to entry in nil map"), "assignment to entry in nil map")
	assert.True(t, strings.Contains(body, "quickstart errors"), "quickstart errors")

	i := strings.Index(body, "payment gateway timeout")
	require.Positive(t, i)
	link := body[:i]
	link = link[strings.LastIndex(link, `href="`)+6:]
	link = link[:strings.Index(link, `"`)]
	code, page := get(link)
	require.Equal(t, 200, code)
	assert.True(t, strings.Contains(page, "/capture?order=42"), "the request")
	assert.True(t, strings.Contains(page, "acme-pay"), "the extras")
	assert.True(t, strings.Contains(page, `<div class="frame inapp">`), "the quickstart's own frame")

	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, token)
	resp, err := c.PostForm(srv.URL+link+"/status", url.Values{"csrf": {token[1]}, "status": {"resolved"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get("/dev/error/")
	assert.False(t, strings.Contains(body, "payment gateway timeout"), "resolved: off the default list")
	_, body = get("/dev/error/?status=resolved")
	assert.True(t, strings.Contains(body, "payment gateway timeout"), "payment gateway timeout")

	// Another machine is refused.
	req := httptest.NewRequest("GET", "/dev/error/", nil)
	req.RemoteAddr = "198.51.100.7:40000"
	w := httptest.NewRecorder()
	newMux(st).ServeHTTP(w, req)
	assert.Equal(t, http.StatusForbidden, w.Code)
}

// ERRLOG_SMTP_ADDR, as defaults.env and the package's comment say, sends
// real mail: the default mail folder is then not set, since a folder takes
// the mail instead of the server. (The mail went to ./quickstart-mail/.)
func TestQuickstartSMTPAddrSendsRealMail(t *testing.T) {
	for _, line := range strings.Split(defaults, "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)  // as in a fresh shell
		}
	}
	t.Setenv("ERRLOG_SMTP_ADDR", "127.0.0.1:1025")
	applyDefaults(defaults)
	_, set := os.LookupEnv("ERRLOG_MAIL_DIR")
	assert.False(t, set)
	o := errlog.FromEnv()
	require.NotNil(t, o.Mail)
	assert.Equal(t, "127.0.0.1:1025", o.Mail.Addr)
	assert.Empty(t, o.Mail.Dir)
	assert.Equal(t, "quickstart@localhost", o.Mail.From, "the other defaults still apply")
}

// TestQuickstartMailBesideTheSources: the folder the demo fills with
// mail by default, run from the repository's root as the README says, is
// no package's folder (./mail/ is errlog's mail package).
func TestQuickstartMailBesideTheSources(t *testing.T) {
	for _, line := range strings.Split(defaults, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ERRLOG_MAIL_DIR="); ok {
			gofiles, err := filepath.Glob(filepath.Join("..", "..", v, "*.go"))
			require.NoError(t, err)
			assert.Empty(t, gofiles, "ERRLOG_MAIL_DIR=%s writes among Go sources", v)
			return
		}
	}
	t.Fatal("defaults.env sets no ERRLOG_MAIL_DIR")
}
