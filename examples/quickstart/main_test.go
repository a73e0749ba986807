package main

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the quickstart's routes the way a visitor would and
// checks what errlog wrote: the log file and the mails.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ERRLOG_FILE", filepath.Join(dir, "quickstart.log"))
	t.Setenv("ERRLOG_MAIL_DIR", filepath.Join(dir, "mail"))
	t.Setenv("ERRLOG_SPOOL_DIR", filepath.Join(dir, "spool"))
	applyDefaults(defaults)
	opts := errlog.FromEnv()
	opts.Console = io.Discard
	h := errlog.NewHandler(opts)
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(prev)

	srv := httptest.NewServer(errlog.Middleware(newMux()))
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
