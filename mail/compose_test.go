package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
)

// testEvent is an event as errlog's core builds it: a wrapped error with
// a stack, in a request.
func testEvent(msg string) *event.Event {
	return &event.Event{
		EventID:   event.NewID(),
		Timestamp: time.Date(2024, 5, 1, 14, 2, 3, 0, time.UTC),
		Level:     event.LevelError,
		Logentry:  &event.Logentry{Message: msg},
		Exception: []event.Exception{{Type: "*fmt.wrapError", Value: "loading config: no such file",
			Stacktrace: &event.Stacktrace{Frames: []event.Frame{
				{Function: "main", Module: "main", Filename: "main.go", Lineno: 12, InApp: true},
				{Function: "Load", Module: "example.com/app/config", Filename: "config/config.go", Lineno: 42, InApp: true},
			}}}},
		Request: &event.Request{URL: "https://example.com/login", Method: "POST"},
	}
}

func testComposer(t *testing.T) *Composer {
	t.Helper()
	a, err := ParseAddresses("errlogd <e@example.com>", []string{"ops@example.com"}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	return &Composer{Addresses: a, Now: func() time.Time { return now }, Mailer: "errlogd"}
}

// parts returns each part of m's multipart body by content type,
// decoded.
func parts(t *testing.T, data []byte) (*mail.Message, map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return m, out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
}

// A server's mail of a stored event is error mail: the subject, the
// group's thread, text and HTML parts, and the link, clickable in HTML.
func TestCompose(t *testing.T) {
	c := testComposer(t)
	ev := testEvent("charge failed")
	m, err := c.Compose(&Notice{Kind: NoticeFirst, GroupKey: "abc123", Event: ev, Count: 1, Total: 1},
		Extra{Headline: "New error.", Link: "https://errors.example.com/groups/7"})
	if err != nil {
		t.Fatal(err)
	}
	h, p := parts(t, m.Data)
	if got := h.Header.Get("Message-ID"); got != m.ID || !strings.HasSuffix(got, "@example.com>") {
		t.Errorf("Message-ID %q, returned %q; want one at the sender's domain", got, m.ID)
	}
	if m.From != "e@example.com" || len(m.To) != 1 || m.To[0] != "ops@example.com" {
		t.Errorf("envelope %q %q", m.From, m.To)
	}
	for k, want := range map[string]string{
		"In-Reply-To": "<group-abc123@errlog>", "References": "<group-abc123@errlog>",
		"X-Errlog-Group": "abc123", "To": "ops@example.com", "X-Mailer": "errlogd",
		"Subject": "[errlog] ERROR: charge failed: loading config: no such file (config.go:42)",
	} {
		if got := h.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if len(p) != 2 {
		t.Fatalf("parts %v, want text and HTML", p)
	}
	text, html := p["text/plain"], p["text/html"]
	if !strings.Contains(text, "New error. Details: https://errors.example.com/groups/7\n") {
		t.Errorf("text part lacks the headline and link:\n%s", text)
	}
	if !strings.Contains(html, `New error. Details: <a href="https://errors.example.com/groups/7"`) {
		t.Errorf("HTML part lacks the link:\n%s", html)
	}
	for _, want := range []string{"example.com/app/config.Load", "config/config.go:42", "POST https://example.com/login"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q", want)
		}
	}
	// No Line: no log line, and no empty template line in its place.
	if first := strings.SplitN(text, "\n", 2)[0]; first != "New error. Details: https://errors.example.com/groups/7" {
		t.Errorf("first line %q", first)
	}
	if strings.Contains(text, "server:") {
		t.Errorf("a server row, with no ServerName nor the event's:\n%s", text)
	}
	if !strings.HasSuffix(strings.TrimSpace(text), "-- \nerrlogd") {
		t.Errorf("signature: %q", text[max(0, len(text)-40):])
	}

	// A link that is not a web address is not a link.
	m, err = c.Compose(&Notice{Kind: NoticeFirst, Event: ev, Count: 1, Total: 1}, Extra{Link: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if _, p := parts(t, m.Data); strings.Contains(p["text/html"], `href="javascript`) {
		t.Error("a javascript: link in the HTML part")
	}
}

// A digest lists groups, each linked to its page.
func TestDigest(t *testing.T) {
	c := testComposer(t)
	now := c.Now()
	m, err := c.Digest([]DigestItem{{Title: "a failed", Reason: "new", Level: "error", Count: 1, Last: now, Link: "https://e.example.com/groups/1"},
		{Title: "b failed", Reason: "regression", Level: "error", Count: 3, Last: now}}, Extra{Link: "https://e.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h, p := parts(t, m.Data)
	if s := h.Header.Get("Subject"); s != "[errlog] ERROR: 2 errors to look at" {
		t.Errorf("digest subject %q", s)
	}
	if !strings.Contains(p["text/plain"], "a failed: new error, 1 time, last at") || !strings.Contains(p["text/plain"], "https://e.example.com/groups/1") {
		t.Errorf("text part:\n%s", p["text/plain"])
	}
	if !strings.Contains(p["text/html"], `<a href="https://e.example.com/groups/1" style="color:#0969da">a failed</a>`) {
		t.Errorf("HTML part lacks the group's link:\n%s", p["text/html"])
	}
	if _, err := (&Composer{}).Compose(&Notice{Kind: NoticeFirst, Event: testEvent("x"), Count: 1}, Extra{}); err == nil {
		t.Error("no From and To: want an error")
	}
}

// A subject is one line, cut with an ellipsis, with the culprit's file
// and line; a group's later mails say "Re: " and its first words.
func TestSubject(t *testing.T) {
	c := testComposer(t)
	ev := testEvent(strings.Repeat("very long message ", 20) + "\r\nBcc: victim@example.com")
	got := c.subject(ev, "ERROR")
	if strings.ContainsAny(got, "\r\n") || len([]rune(got)) > len(DefaultSubjectPrefix)+len("ERROR: ")+maxSubjectMessage+len(" (config.go:42)") {
		t.Errorf("subject %q", got)
	}
	if !strings.HasSuffix(got, "… (config.go:42)") {
		t.Errorf("subject not cut with an ellipsis: %q", got)
	}
	plain := &event.Event{Level: event.LevelWarning, Logentry: &event.Logentry{Message: "disk almost full"}}
	if got := c.subject(plain, "WARNING"); got != "[errlog] WARNING: disk almost full" {
		t.Errorf("subject without a stack %q", got)
	}
	c.SubjectPrefix = "  "
	if got := c.subject(plain, "WARNING"); got != "WARNING: disk almost full" {
		t.Errorf("a prefix of spaces is none: %q", got)
	}
}

// A culprit file that is a URL with a long query (a browser's script,
// mailed by errlogd) made a Subject line over RFC 5322's 998 bytes, which
// strict servers refuse: the location goes without the query, and a long
// name is cut in the middle.
func TestSubjectLocationBounded(t *testing.T) {
	c := testComposer(t)
	ev := testEvent("charge failed")
	ev.Exception[0].Stacktrace.Frames[1].Filename = "https://cdn.example.com/static/js/main.js?v=" + strings.Repeat("0123456789abcdef", 70)
	if got := c.subject(ev, "ERROR"); !strings.HasSuffix(got, " (main.js:42)") {
		t.Errorf("subject %q, want the script's name without its query", got)
	}
	ev.Exception[0].Stacktrace.Frames[1].Filename = "/src/" + strings.Repeat("x", 2000) + "_handler.go"
	if got := Location(ev); len([]rune(got)) > maxLocationFile+len(":42") || !strings.HasSuffix(got, "x_handler.go:42") || !strings.Contains(got, "…") {
		t.Errorf("Location %q: want at most %d runes of the name, cut in the middle", got, maxLocationFile)
	}
	m, err := c.Compose(&Notice{Kind: NoticeFirst, GroupKey: "g", Event: ev, Count: 1, Total: 1}, Extra{})
	if err != nil {
		t.Fatal(err)
	}
	for n, l := range strings.Split(string(m.Data), "\r\n") {
		if len(l) > 998 {
			t.Errorf("line %d is %d bytes (RFC 5322 limit 998): %.60q…", n+1, len(l), l)
		}
	}
}

// Level labels: the subject's upper-cased, the breadcrumbs' aligned.
func TestLabels(t *testing.T) {
	for in, want := range map[event.Level]string{event.LevelDebug: "DEBUG", event.LevelInfo: "INFO", event.LevelWarning: "WARN",
		event.LevelError: "ERROR", event.LevelFatal: "FATAL", "notice": "NOTICE"} {
		if got := crumbLabel(in); got != want {
			t.Errorf("crumbLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
