package errlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/require"
)

// mailpit returns the SMTP address and the API URL of the Mailpit that
// .ci/run starts (ERRLOG_TEST_MAILPIT_SMTP, ERRLOG_TEST_MAILPIT_API); the
// test skips without one, and fails in CI.
func mailpit(t *testing.T) (smtpAddr, api string) {
	t.Helper()
	smtpAddr, api = os.Getenv("ERRLOG_TEST_MAILPIT_SMTP"), os.Getenv("ERRLOG_TEST_MAILPIT_API")
	if smtpAddr == "" || api == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ERRLOG_TEST_MAILPIT_SMTP and ERRLOG_TEST_MAILPIT_API must be set in CI (.ci/run starts Mailpit)")
		}
		t.Skip("no Mailpit: set ERRLOG_TEST_MAILPIT_SMTP and ERRLOG_TEST_MAILPIT_API (.ci/run starts one; see the README's test command)")
	}
	return smtpAddr, strings.TrimRight(api, "/")
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, body)
	require.NoError(t, json.Unmarshal(body, v), string(body))
}

type htmlCheck struct {
	Total struct {
		Supported   float64 `json:"Supported"`
		Partial     float64 `json:"Partial"`
		Unsupported float64 `json:"Unsupported"`
		Tests       int     `json:"Tests"`
	} `json:"Total"`
	Warnings []struct {
		Title    string `json:"Title"`
		Category string `json:"Category"`
		Results  []struct {
			Family   string `json:"Family"`
			Platform string `json:"Platform"`
			Support  string `json:"Support"`
		} `json:"Results"`
		Score struct {
			Found       int     `json:"Found"`
			Supported   float64 `json:"Supported"`
			Partial     float64 `json:"Partial"`
			Unsupported float64 `json:"Unsupported"`
		} `json:"Score"`
	} `json:"Warnings"`
}

// The HTML part renders in the mail clients people use: Mailpit's HTML
// compatibility check (caniemail's data) scores every kind of errlog mail
// at 85% supported or more (it was 59-64%, with 14 warnings).
func TestMailHTMLCompatibility(t *testing.T) {
	smtpAddr, api := mailpit(t)
	run := fmt.Sprintf("run-%d", time.Now().UnixNano())
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	h := NewHandler(Options{
		Console:     io.Discard,
		Environment: "production",
		Release:     "v1.4.2",
		Config:      map[string]any{"Workers": 4, "DBHost": "db1"},
		Mail:        &MailOptions{Addr: smtpAddr, From: "errlog@example.com", To: []string{"ops@example.com"}, SubjectPrefix: "[" + run + "] "},
		Throttle:    ThrottleOptions{MaxPerHour: 2},
		Now:         now,
	})
	defer h.Close(context.Background())
	log := slog.New(h)
	app := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ScopeFrom(r.Context()).SetUser(event.User{ID: "42", Email: "ann@example.com"})
		err := fmt.Errorf("charging card for order 1234: %w", errors.Join(errors.New("card declined"), errors.New("gateway timeout after 30s")))
		log.ErrorContext(r.Context(), "payment failed", "err", err, "order", 1234, "note", strings.Repeat("a very long value without spaces ", 3)+strings.Repeat("x", 300))
		http.Error(w, "payment failed", http.StatusPaymentRequired)
	}))
	req := httptest.NewRequest(http.MethodPost, "https://shop.example.com/pay?coupon=SPRING&ref=newsletter", strings.NewReader(url.Values{"card": {"4242"}, "password": {"hunter2"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
	req.AddCookie(&http.Cookie{Name: "session", Value: "abc"})
	// One call site for every request: the frames, and so the group, are
	// the same (grouping counts the source line of each in-app frame).
	// The first is mailed at once; the others make a digest, then the
	// hourly cap holds back what follows.
	reqs := []*http.Request{req}
	for i := 0; i < 3; i++ {
		reqs = append(reqs, httptest.NewRequest(http.MethodGet, "/pay", nil))
	}
	for i, r := range reqs {
		app.ServeHTTP(httptest.NewRecorder(), r)
		if i == 0 {
			require.NoError(t, h.Flush(context.Background()))
		}
	}
	require.NoError(t, h.Flush(context.Background())) // counted at the old time
	clock.Add(int64(DefaultMailWindow + time.Minute))
	require.NoError(t, h.Flush(context.Background()))
	for i := 0; i < 5; i++ {
		log.Error("job failed", "err", errors.New("worker lost"), "fingerprint", []string{"job", strconv.Itoa(i)})
	}
	require.NoError(t, h.Close(context.Background()))

	var list struct {
		Messages []struct {
			ID      string `json:"ID"`
			Subject string `json:"Subject"`
		} `json:"messages"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		getJSON(t, api+"/api/v1/search?query="+url.QueryEscape(run), &list)
		if len(list.Messages) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.GreaterOrEqual(t, len(list.Messages), 3, "first occurrence, digest and summary mails")
	kinds := map[string]bool{}
	for _, m := range list.Messages {
		switch {
		case strings.Contains(m.Subject, "Re: "):
			kinds["digest"] = true
		case strings.Contains(m.Subject, "not mailed"):
			kinds["summary"] = true
		default:
			kinds["first"] = true
		}
		var c htmlCheck
		getJSON(t, api+"/api/v1/message/"+m.ID+"/html-check", &c)
		var warnings []string
		for _, w := range c.Warnings {
			warnings = append(warnings, fmt.Sprintf("%s (%d uses, %.0f%% supported)", w.Title, w.Score.Found, w.Score.Supported))
		}
		t.Logf("%s: %.1f%% supported, %.1f%% partial, %d warnings: %s", m.Subject, c.Total.Supported, c.Total.Partial, len(c.Warnings), strings.Join(warnings, "; "))
		if c.Total.Supported < 85 {
			t.Errorf("%s: %.1f%% supported by mail clients, want at least 85%%", m.Subject, c.Total.Supported)
		}
	}
	require.Equal(t, map[string]bool{"first": true, "digest": true, "summary": true}, kinds)
}
