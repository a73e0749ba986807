package errlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/logfile"
	errmail "github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/mail/mailtest"
)

// mask is what the core puts in place of secrets; the mail must show it
// as it is.
const mask = DefaultMaskWith

// mailEvent is an event as the core builds it: a wrapped error with a
// stack, in a request, with extras, already masked.
func mailEvent(msg string) *event.Event {
	return &event.Event{
		EventID:   event.NewID(),
		Timestamp: time.Date(2024, 5, 1, 14, 2, 3, 0, time.UTC),
		Level:     event.LevelError,
		Logger:    "app",
		Platform:  "go",
		Logentry:  &event.Logentry{Message: msg},
		Exception: []event.Exception{
			{Type: "*fs.PathError", Value: "open /etc/app.conf: no such file or directory"},
			{Type: "*fmt.wrapError", Value: "loading config: open /etc/app.conf: no such file or directory",
				Stacktrace: &event.Stacktrace{Frames: []event.Frame{
					{Function: "main", Module: "main", Filename: "main.go", AbsPath: "/src/app/main.go", Lineno: 12, InApp: true},
					{Function: "Load", Module: "example.com/app/config", Filename: "config/config.go", AbsPath: "/src/app/config/config.go", Lineno: 42, InApp: true},
					{Function: "Open", Module: "os", Filename: "os/file.go", AbsPath: "/usr/lib/go/src/os/file.go", Lineno: 340},
				}}},
		},
		Request: &event.Request{
			URL: "https://example.com/login?next=%2F", Method: "POST", QueryString: "next=%2F",
			Headers: map[string]string{"Authorization": mask, "User-Agent": "curl/8.0"},
			Cookies: map[string]string{"session": mask},
			Data:    map[string]any{"user": "alice", "password": mask},
		},
		User:        &event.User{ID: "42", Email: "alice@example.com"},
		Extra:       map[string]any{"order_id": 1234, "api_token": mask, "note": "<script>alert(1)</script>"},
		Tags:        map[string]string{"region": "eu"},
		Contexts:    map[string]map[string]any{"runtime": {"name": "go", "version": "go1.26"}},
		Environment: "production",
		Release:     "v1.4.2",
		ServerName:  "web-1",
	}
}

// mailEventN is mailEvent in a group of its own.
func mailEventN(i int) *event.Event {
	ev := mailEvent(fmt.Sprintf("job %d failed", i))
	ev.Fingerprint = []string{fmt.Sprint("job-", i)}
	return ev
}

// --- a real SMTP server, in process (internal/smtptest) ---

type (
	testServer = mailtest.Server
	serverOpts = mailtest.Options
)

func startServer(t testing.TB, o serverOpts) *testServer { return mailtest.Start(t, o) }

func stalledServer(t testing.TB) string { return mailtest.Stalled(t) }

func freeAddr(t testing.TB) string { return mailtest.FreeAddr(t) }

// --- the sink under test ---

type errRecorder struct {
	mu   sync.Mutex
	errs []error
}

func (r *errRecorder) add(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *errRecorder) all() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func (r *errRecorder) matching(substr string) []error {
	var out []error
	for _, err := range r.all() {
		if strings.Contains(err.Error(), substr) {
			out = append(out, err)
		}
	}
	return out
}

func testEnv(rec *errRecorder) sinkEnv {
	return sinkEnv{
		OnError:     rec.add,
		QueueSize:   64,
		Clock:       nowClock(time.Now),
		Environment: "production",
		Release:     "v1.4.2",
		ServerName:  "web-1",
	}
}

// fast is the default throttle with quick retries, for tests.
var fast = ThrottleOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

// capped is fast with an hourly cap (negative: none).
func capped(maxPerHour int) ThrottleOptions {
	th := fast
	th.MaxPerHour = maxPerHour
	return th
}

func newTestSink(t testing.TB, o *MailOptions, env sinkEnv, th ThrottleOptions, notifiers []Notifier, ticketers []Ticketer) *noticeSink {
	t.Helper()
	s, err := newMailSink(o, th, env, notifiers, ticketers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func flushSink(t testing.TB, s EventSink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// --- reading mail as a mail client does ---

type parsedMail struct {
	Header  mail.Header
	Subject string
	Text    string
	HTML    string
}

func parseMail(t testing.TB, data []byte) parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, data)
	}
	var dec mime.WordDecoder
	subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	p := parsedMail{Header: m.Header, Subject: subj}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(part) // quoted-printable is decoded by NextPart
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	if p.Text == "" || p.HTML == "" {
		t.Fatalf("want a text and an HTML part; text %d bytes, HTML %d bytes", len(p.Text), len(p.HTML))
	}
	return p
}

func mustContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}

func mustNotContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			t.Errorf("%s contains %q:\n%s", what, sub, s)
		}
	}
}

// --- tests ---

func TestMailSTARTTLSAuth(t *testing.T) {
	srv := startServer(t, serverOpts{TLS: true, Auth: true})
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{
		Addr: srv.Addr, Username: "user", Password: "s3cret", TLSConfig: srv.ClientTC,
		From: "Errlog <errors@example.com>", To: []string{"ops@example.com", "Dev Team <dev@example.com>"},
	}, testEnv(rec), fast, nil, nil)
	ev := mailEvent("load failed")
	s.Deliver(ev)
	flushSink(t, s)

	mails := srv.WaitMails(t, 1, 5*time.Second)
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	got := mails[0]
	if !got.TLS || got.Auth != "user" {
		t.Errorf("mail sent with TLS %v, AUTH %q; want STARTTLS and AUTH as user", got.TLS, got.Auth)
	}
	if got.From != "errors@example.com" || strings.Join(got.To, ",") != "ops@example.com,dev@example.com" {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	m := parseMail(t, got.Data)
	if want := "[errlog] ERROR: load failed: loading config: open /etc/app.conf: no such file or directory (config.go:42)"; m.Subject != want {
		t.Errorf("Subject = %q\nwant      %q", m.Subject, want)
	}
	if from := m.Header.Get("From"); from != `"Errlog" <errors@example.com>` {
		t.Errorf("From = %q", from)
	}
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "Dev Team" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if id := m.Header.Get("Message-Id"); !regexp.MustCompile(`^<[0-9a-f]{32}@web-1>$`).MatchString(id) {
		t.Errorf("Message-ID = %q", id)
	}
	root := "<group-" + ev.GroupKey() + "@errlog>"
	if m.Header.Get("In-Reply-To") != root || m.Header.Get("References") != root {
		t.Errorf("In-Reply-To %q, References %q; want %q", m.Header.Get("In-Reply-To"), m.Header.Get("References"), root)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" || m.Header.Get("X-Errlog-Event-Id") != ev.EventID {
		t.Errorf("Auto-Submitted %q, X-Errlog-Event-Id %q", m.Header.Get("Auto-Submitted"), m.Header.Get("X-Errlog-Event-Id"))
	}

	for _, part := range []struct{ name, body string }{{"text", m.Text}, {"HTML", m.HTML}} {
		mustContain(t, part.name, part.body,
			"First occurrence of this error",
			"open /etc/app.conf: no such file or directory",
			"loading config: open /etc/app.conf",
			"example.com/app/config.Load", "/src/app/config/config.go:42", "main.main",
			"POST", "https://example.com/login?next=%2F", "curl/8.0",
			"Authorization", "password", "api_token", "1234", "alice@example.com", "region",
			"production", "v1.4.2", "web-1", ev.EventID,
		)
		// Masked values stay masked: at least the header, the cookie, the
		// form field and the extra.
		if n := strings.Count(part.body, mask); n < 4 {
			t.Errorf("%s shows the mask %d times, want at least 4", part.name, n)
		}
	}
	// The plain text has the chain oldest first and the stack most recent
	// call first, as Go prints it.
	if i, j := strings.Index(m.Text, "1. *fs.PathError"), strings.Index(m.Text, "2. *fmt.wrapError"); i < 0 || j < i {
		t.Errorf("error chain out of order:\n%s", m.Text)
	}
	if i, j := strings.Index(m.Text, "os.Open"), strings.Index(m.Text, "main.main"); i < 0 || j < i {
		t.Errorf("stack trace out of order:\n%s", m.Text)
	}
	mustContain(t, "text", m.Text, "<script>alert(1)</script>")
	mustContain(t, "HTML", m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;")
	mustNotContain(t, "HTML", m.HTML, "<script>")
	if errs := rec.all(); len(errs) > 0 {
		t.Errorf("errors reported: %v", errs)
	}
}

func TestMailImplicitTLS(t *testing.T) {
	srv := startServer(t, serverOpts{Implicit: true, Auth: true})
	s := newTestSink(t, &MailOptions{
		Addr: srv.Addr, ImplicitTLS: true, Username: "user", Password: "s3cret",
		TLSConfig: srv.ClientTC, To: []string{"ops@example.com"},
	}, testEnv(&errRecorder{}), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	if m := srv.WaitMails(t, 1, 5*time.Second); !m[0].TLS {
		t.Fatal("not sent over TLS")
	}
}

func TestMailRequireTLS(t *testing.T) {
	srv := startServer(t, serverOpts{}) // no STARTTLS
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, RequireTLS: true, To: []string{"ops@example.com"}}, testEnv(rec), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("%d mails sent in clear text despite RequireTLS", n)
	}
	if errs := rec.matching("does not offer STARTTLS"); len(errs) != 1 {
		t.Fatalf("want one report of the missing STARTTLS, got %v", rec.all())
	}
}

func TestMailNoPasswordInClearText(t *testing.T) {
	srv := startServer(t, serverOpts{}) // no TLS, no AUTH offered
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, Username: "user", Password: "pw", To: []string{"ops@example.com"}}, testEnv(rec), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	if len(srv.Mails()) != 0 || len(rec.matching("AUTH")) != 1 {
		t.Fatalf("mails %d, errors %v", len(srv.Mails()), rec.all())
	}
}

func TestMailBadPassword(t *testing.T) {
	srv := startServer(t, serverOpts{TLS: true, Auth: true})
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, Username: "user", Password: "wrong", TLSConfig: srv.ClientTC, To: []string{"ops@example.com"}},
		testEnv(rec), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	// 535 is permanent: reported once, not retried.
	if errs := rec.matching("535"); len(errs) != 1 || !delivery.IsPermanent(errs[0]) {
		t.Fatalf("want one permanent 535 report, got %v", rec.all())
	}
}

func TestMailThreading(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}}, testEnv(&errRecorder{}), fast, nil, nil)
	s.Deliver(mailEvent("load failed"))
	s.Deliver(mailEvent("load failed"))
	s.Deliver(mailEventN(1))
	flushSink(t, s) // the digest of the first group goes out now
	mails := srv.WaitMails(t, 3, 5*time.Second)
	var first, other, digest parsedMail
	for _, r := range mails {
		m := parseMail(t, r.Data)
		switch m.Header.Get("X-Errlog-Kind") {
		case "digest":
			digest = m
		case "first":
			if strings.Contains(m.Subject, "job 1") {
				other = m
			} else {
				first = m
			}
		}
	}
	if digest.Subject != "Re: "+first.Subject {
		t.Errorf("digest subject %q, first %q", digest.Subject, first.Subject)
	}
	if ref := first.Header.Get("References"); ref == "" || digest.Header.Get("References") != ref || digest.Header.Get("In-Reply-To") != ref {
		t.Errorf("first References %q; digest References %q, In-Reply-To %q", ref, digest.Header.Get("References"), digest.Header.Get("In-Reply-To"))
	}
	if other.Header.Get("References") == first.Header.Get("References") {
		t.Errorf("two groups share the thread %q", first.Header.Get("References"))
	}
	if first.Header.Get("Message-Id") == digest.Header.Get("Message-Id") {
		t.Error("two mails with one Message-ID")
	}
	mustContain(t, "digest", digest.Text, "… and 1 more time since ")
}

// The storm: 10,000 identical errors give the first mail at once and one
// digest at the end of the window, with the right count. The window is the
// default ten minutes, on a fake clock: the test waits for no timer.
func TestMailStorm(t *testing.T) {
	srv := startServer(t, serverOpts{TLS: true, Auth: true})
	rec := &errRecorder{}
	fake := clock.NewFake(time.Date(2024, 5, 1, 14, 2, 3, 0, time.UTC))
	env := testEnv(rec)
	env.Clock = fake
	window := DefaultMailWindow
	// An idle timeout past the window: both mails go over one connection.
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, Username: "user", Password: "s3cret", TLSConfig: srv.ClientTC,
		To: []string{"ops@example.com"}, IdleTimeout: 2 * window}, env, fast, nil, nil)
	for i := 0; i < 10000; i++ {
		s.Deliver(mailEvent("load failed"))
	}
	srv.WaitMails(t, 1, 5*time.Second)
	// One second before the window ends, its timer has not fired: the
	// digest is not due.
	fake.Advance(window - time.Second)
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	if want := fake.Now().Add(time.Second); !armed.Equal(want) {
		t.Errorf("digest timer armed for %v, want the window's end %v", armed, want)
	}
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("%d mails before the window ended, want 1", n)
	}
	fake.Advance(window / 10) // past the window and the timer's slack
	mails := srv.WaitMails(t, 2, 5*time.Second)
	first, digest := parseMail(t, mails[0].Data), parseMail(t, mails[1].Data)
	if first.Header.Get("X-Errlog-Kind") != "first" || first.Header.Get("X-Errlog-Count") != "1" {
		t.Errorf("first mail: kind %q count %q", first.Header.Get("X-Errlog-Kind"), first.Header.Get("X-Errlog-Count"))
	}
	if digest.Header.Get("X-Errlog-Kind") != "digest" || digest.Header.Get("X-Errlog-Count") != "9999" {
		t.Errorf("digest: kind %q count %q", digest.Header.Get("X-Errlog-Kind"), digest.Header.Get("X-Errlog-Count"))
	}
	mustContain(t, "digest text", digest.Text, "… and 9999 more times since ", ", last at ")
	mustContain(t, "digest HTML", digest.HTML, "… and 9999 more times since ")
	// A quiet window later nothing more arrives, and Flush has nothing
	// left to say.
	fake.Advance(2 * window)
	flushSink(t, s)
	if n := len(srv.Mails()); n != 2 {
		t.Errorf("%d mails for a storm of 10,000, want 2", n)
	}
	// Both mails went over one connection.
	if n := srv.Conns(); n != 1 {
		t.Errorf("%d SMTP connections for two mails, want 1", n)
	}
	if errs := rec.all(); len(errs) > 0 {
		t.Errorf("errors reported: %v", errs)
	}
}

func TestMailHourlyCap(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}}, testEnv(&errRecorder{}), capped(3), nil, nil)
	for i := 0; i < 10; i++ {
		s.Deliver(mailEventN(i))
	}
	srv.WaitMails(t, 3, 5*time.Second)
	flushSink(t, s)
	if n := len(srv.Mails()); n != 3 {
		t.Fatalf("%d mails after Flush, want 3: the summary waits for the hour's end or Close", n)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mails := srv.WaitMails(t, 4, 5*time.Second)
	if len(mails) != 4 {
		t.Fatalf("%d mails, want 3 and a summary", len(mails))
	}
	sum := parseMail(t, mails[3].Data)
	if !strings.HasPrefix(sum.Subject, "[errlog] WARNING: 7 more errors not mailed since ") {
		t.Errorf("summary subject %q", sum.Subject)
	}
	mustContain(t, "summary", sum.Text, "at most 3 mails an hour", "job 3 failed", "job 9 failed")
	mustContain(t, "summary HTML", sum.HTML, "job 3 failed")
}

// A program that flushes after every error gets no more than MaxPerHour
// mails in an hour, however many errors and flushes: the summary of what
// the cap held back waits for Close.
func TestMailFlushAfterEachErrorRespectsCap(t *testing.T) {
	dir := t.TempDir()
	var clock atomic.Int64
	clock.Store(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC).UnixNano())
	env := testEnv(&errRecorder{})
	env.Clock = nowClock(func() time.Time { return time.Unix(0, clock.Load()) })
	s := newTestSink(t, &MailOptions{Dir: dir, To: []string{"ops@example.com"}}, env, capped(5), nil, nil)
	for i := 0; i < 1000; i++ {
		s.Deliver(mailEventN(i % 7))
		flushSink(t, s)
		clock.Add(int64(3 * time.Second)) // 1000 errors in 50 minutes
	}
	mails, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(mails) > 5 {
		t.Fatalf("%d mails within the hour, MaxPerHour 5", len(mails))
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(all) != len(mails)+1 {
		t.Fatalf("%d mails at Close after %d, want one summary more", len(all), len(mails))
	}
}

// A server that accepts connections and never answers costs the caller
// nothing, and Close gives up at its deadline.
func TestMailStalledServer(t *testing.T) {
	addr := stalledServer(t)
	rec := &errRecorder{}
	s, err := newMailSink(&MailOptions{Addr: addr, To: []string{"ops@example.com"}, Timeout: 5 * time.Second},
		capped(-1), testEnv(rec), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var slowest time.Duration
	for i := 0; i < 200; i++ {
		start := time.Now()
		s.Deliver(mailEventN(i))
		slowest = max(slowest, time.Since(start))
	}
	if slowest > 50*time.Millisecond {
		t.Errorf("the slowest Deliver took %v with a stalled server", slowest)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Close(ctx)
	if d := time.Since(start); d > 300*time.Millisecond+time.Second {
		t.Errorf("Close took %v with a deadline of 300ms", d)
	}
	if err == nil {
		t.Error("Close lost mail and returned nil")
	}
	// The mails that could not go are reported, not silently lost.
	if len(rec.matching("lost")) == 0 && len(rec.matching("dropped")) == 0 {
		t.Errorf("no loss reported: %v", rec.all())
	}
}

// A server that is down when the error happens gets the mail when it
// comes back.
func TestMailServerComesBack(t *testing.T) {
	addr := freeAddr(t)
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: addr, To: []string{"ops@example.com"}}, testEnv(rec), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	time.Sleep(100 * time.Millisecond) // a few refused attempts
	if errs := rec.matching("will retry"); len(errs) == 0 {
		t.Errorf("a refused connection was not reported: %v", rec.all())
	}
	srv := startServer(t, serverOpts{Addr: addr})
	flushSink(t, s)
	if m := srv.WaitMails(t, 1, 5*time.Second); len(m) != 1 {
		t.Fatalf("%d mails", len(m))
	}
}

// A 4xx reply is retried; a 5xx reply is reported once and never retried.
func TestMailReplyCodes(t *testing.T) {
	srv := startServer(t, serverOpts{})
	var mu sync.Mutex
	tries := map[string]int{}
	srv.SetHook(func(stage string) error {
		if stage != "DATA" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		tries["data"]++
		switch tries["data"] {
		case 1:
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		case 3:
			return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "content rejected"}
		}
		return nil
	})
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}}, testEnv(rec), fast, nil, nil)
	s.Deliver(mailEventN(1)) // 451, then accepted
	flushSink(t, s)
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("after a 451: %d mails, want 1", n)
	}
	s.Deliver(mailEventN(2)) // 554: given up
	flushSink(t, s)
	time.Sleep(100 * time.Millisecond) // time for wrongful retries
	mu.Lock()
	n := tries["data"]
	mu.Unlock()
	if n != 3 {
		t.Errorf("%d DATA commands, want 3 (451, retry, 554 once)", n)
	}
	if errs := rec.matching("554"); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "errlog: smtp: ") || !delivery.IsPermanent(errs[0]) {
		t.Errorf("the 554 was reported %d times, want once: %v", len(errs), rec.all())
	}
	// And the next mail still goes.
	s.Deliver(mailEventN(3))
	flushSink(t, s)
	if n := len(srv.Mails()); n != 2 {
		t.Errorf("%d mails, want 2", n)
	}
}

// One rejected recipient of two does not stop the mail to the other.
func TestMailRejectedRecipient(t *testing.T) {
	srv := startServer(t, serverOpts{})
	var mu sync.Mutex
	rcpts := 0
	srv.SetHook(func(stage string) error {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(stage, "RCPT") {
			rcpts++
			if rcpts == 1 {
				return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
		}
		return nil
	})
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"gone@example.com", "ops@example.com"}}, testEnv(rec), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	m := srv.WaitMails(t, 1, 5*time.Second)
	if strings.Join(m[0].To, ",") != "ops@example.com" || len(rec.matching("gone@example.com")) != 1 {
		t.Fatalf("to %v, errors %v", m[0].To, rec.all())
	}
}

func TestMailConnectionReuse(t *testing.T) {
	srv := startServer(t, serverOpts{TLS: true, Auth: true})
	fake := clock.NewFake(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
	env := testEnv(&errRecorder{})
	env.Clock = fake
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, Username: "user", Password: "s3cret", TLSConfig: srv.ClientTC,
		To: []string{"ops@example.com"}, IdleTimeout: time.Minute}, env, capped(-1), nil, nil)
	for i := 0; i < 20; i++ {
		s.Deliver(mailEventN(i))
	}
	srv.WaitMails(t, 20, 5*time.Second)
	if n := srv.Conns(); n != 1 {
		t.Errorf("%d connections for a burst of 20 mails, want 1", n)
	}
	connected := func() bool { return srv.Open() > 0 }
	// The 20th mail arrived before its send returned: once it has, the
	// idle timer is armed, beside the digest window's.
	if !fake.WaitTimers(2, 5*time.Second) {
		t.Fatal("no idle timer after the burst")
	}
	if !connected() {
		t.Fatal("no connection after the burst")
	}
	fake.Advance(59 * time.Second)
	if !connected() {
		t.Fatal("the connection was closed before IdleTimeout")
	}
	fake.Advance(time.Second) // idle: the connection is closed
	for deadline := time.Now().Add(5 * time.Second); connected(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the connection outlived IdleTimeout")
		}
	}
	s.Deliver(mailEventN(100))
	srv.WaitMails(t, 21, 5*time.Second)
	if n := srv.Conns(); n != 2 {
		t.Errorf("%d connections after an idle period, want 2", n)
	}
}

// A full queue drops mail, counts it, reports it, and says so in the next
// mail.
func TestMailQueueOverflow(t *testing.T) {
	srv := startServer(t, serverOpts{})
	release := make(chan struct{})
	var once sync.Once
	srv.SetHook(func(stage string) error {
		if stage == "DATA" {
			<-release
		}
		return nil
	})
	defer once.Do(func() { close(release) })
	rec := &errRecorder{}
	env := testEnv(rec)
	env.QueueSize = 2
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}}, env, capped(-1), nil, nil)
	for i := 0; i < 10; i++ {
		s.Deliver(mailEventN(i))
	}
	once.Do(func() { close(release) })
	flushSink(t, s)
	s.Deliver(mailEventN(99))
	flushSink(t, s)
	mails := srv.Mails()
	if len(mails) >= 10 || len(mails) < 2 {
		t.Fatalf("%d mails with a queue of 2", len(mails))
	}
	// Every drop is told in the next mail that made it into the queue.
	told := 0
	noteRE := regexp.MustCompile(`Note: (\d+) earlier error mails were dropped`)
	for _, r := range mails {
		if m := noteRE.FindStringSubmatch(parseMail(t, r.Data).Text); m != nil {
			n, _ := strconv.Atoi(m[1])
			told += n
		}
	}
	if dropped := 11 - len(mails); told != dropped {
		t.Errorf("the mails tell of %d dropped mails, want %d", told, dropped)
	}
	if errs := rec.all(); len(errs) == 0 || !errors.Is(errs[0], delivery.ErrQueueFull) {
		t.Errorf("overflow not reported as ErrQueueFull: %v", errs)
	}
}

func TestMailDir(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, &MailOptions{Dir: dir, To: []string{"dev@example.com"}}, testEnv(&errRecorder{}), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	s.Deliver(mailEventN(1))
	utf := mailEventN(2)
	utf.Logentry.Message = "Zahlung für Käse fehlgeschlagen"
	s.Deliver(utf)
	flushSink(t, s)
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 3 {
		t.Fatalf("%d .eml files (%v), want 3", len(files), err)
	}
	subjects := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := parseMail(t, b)
		if !strings.HasPrefix(m.Subject, "[errlog] ERROR: ") || m.Header.Get("To") != "dev@example.com" {
			t.Errorf("%s: Subject %q, To %q", f, m.Subject, m.Header.Get("To"))
		}
		if m.Header.Get("From") != "errlog@web-1" {
			t.Errorf("default From = %q", m.Header.Get("From"))
		}
		subjects[m.Subject] = true
	}
	if want := "[errlog] ERROR: Zahlung für Käse fehlgeschlagen: loading config: open /etc/app.conf: no such file or directory (config.go:42)"; !subjects[want] {
		t.Errorf("subjects %v lack %q", subjects, want)
	}
}

// A mail that could not be sent before the process ended is sent by the
// next process, from the spool.
func TestMailSpooledDeliveredByNextProcess(t *testing.T) {
	if os.Getenv("ERRLOG_TEST_SPOOL_CHILD") != "" {
		t.Skip("run by the parent")
	}
	spool := t.TempDir()
	addr := freeAddr(t)
	s, err := newMailSink(&MailOptions{Addr: addr, To: []string{"ops@example.com"}}, fast,
		sinkEnv{OnError: func(error) {}, QueueSize: 16, Clock: nowClock(time.Now), SpoolDir: spool, ServerName: "web-1"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := mailEvent("spooled")
	s.Deliver(ev)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); err == nil || !strings.Contains(err.Error(), "errlog: smtp: close: 1 undelivered items left in the spool for the next start") {
		t.Fatalf("Close with a spool and no server: %v", err)
	}
	if ids, _ := delivery.Spooled(filepath.Join(spool, "mail")); len(ids) != 1 {
		t.Fatalf("%d spooled mails, want 1", len(ids))
	}

	srv := startServer(t, serverOpts{Addr: addr})
	cmd := exec.Command(os.Args[0], "-test.run=^TestMailSpoolChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ERRLOG_TEST_SPOOL_CHILD="+spool, "ERRLOG_TEST_SPOOL_ADDR="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	mails := srv.WaitMails(t, 1, 5*time.Second)
	m := parseMail(t, mails[0].Data)
	if m.Header.Get("X-Errlog-Event-Id") != ev.EventID {
		t.Errorf("the child sent event %q, want %q", m.Header.Get("X-Errlog-Event-Id"), ev.EventID)
	}
	if ids, _ := delivery.Spooled(filepath.Join(spool, "mail")); len(ids) != 0 {
		t.Errorf("%d spooled mails left", len(ids))
	}
}

// TestMailSpoolChild is the next process of
// TestMailSpooledDeliveredByNextProcess.
func TestMailSpoolChild(t *testing.T) {
	spool := os.Getenv("ERRLOG_TEST_SPOOL_CHILD")
	if spool == "" {
		t.Skip("run by TestMailSpooledDeliveredByNextProcess")
	}
	s, err := newMailSink(&MailOptions{Addr: os.Getenv("ERRLOG_TEST_SPOOL_ADDR"), To: []string{"ops@example.com"}}, fast,
		sinkEnv{OnError: func(err error) { t.Log(err) }, QueueSize: 16, Clock: nowClock(time.Now), SpoolDir: spool}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMailDisabled(t *testing.T) {
	srv := startServer(t, serverOpts{})
	n := &recordingNotifier{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}, Disabled: true}, testEnv(&errRecorder{}), fast, []Notifier{n}, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	if len(srv.Mails()) != 0 || len(n.got()) != 1 {
		t.Fatalf("disabled mail: %d mails, %d notifications", len(srv.Mails()), len(n.got()))
	}
}

// An event delivered after Close is lost: counted and reported, not
// dropped without a word.
func TestMailDeliverAfterClose(t *testing.T) {
	srv := startServer(t, serverOpts{})
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}}, testEnv(rec), fast, nil, nil)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := mailEvent("boom")
	s.Deliver(ev)
	s.Deliver(mailEvent("boom again"))
	errs := rec.matching("not mailed: the mail sink is closed")
	if len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "errlog: smtp: event "+ev.EventID+" ") || s.late.Load() != 2 {
		t.Errorf("after Close: %d counted, reports %v", s.late.Load(), rec.all())
	}
	if len(srv.Mails()) != 0 {
		t.Errorf("%d mails sent after Close", len(srv.Mails()))
	}
}

func TestMailCloseStopsGoroutines(t *testing.T) {
	srv := startServer(t, serverOpts{TLS: true})
	th := fast
	th.Window = 50 * time.Millisecond
	s, err := newMailSink(&MailOptions{Addr: srv.Addr, TLSConfig: srv.ClientTC, To: []string{"ops@example.com"}}, th,
		testEnv(&errRecorder{}), []Notifier{&recordingNotifier{}}, []Ticketer{&recordingNotifier{}})
	if err != nil {
		t.Fatal(err)
	}
	s.Deliver(mailEvent("boom"))
	s.Deliver(mailEvent("boom"))
	srv.WaitMails(t, 1, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s.Deliver(mailEvent("after close")) // ignored, no panic
	if n := len(srv.WaitMails(t, 2, 5*time.Second)); n != 2 {
		t.Fatalf("%d mails: the pending digest was not sent at Close", n)
	}
	mailSinkStopped(t, s, srv)
}

// mailSinkStopped checks that nothing s started outlives its Close: the
// worker of each of its queues (mail, notifiers, ticketers), its emits in
// progress, and the SMTP connection (to srv). It watches s alone, so that
// another test's leftovers cannot make it fail.
func mailSinkStopped(t *testing.T, s *noticeSink, srv *testServer) {
	t.Helper()
	queues := []*delivery.Queue{s.mailQ}
	for _, nq := range append(append([]*notifyQueue(nil), s.notifiers...), s.ticketers...) {
		queues = append(queues, nq.q)
	}
	limit := time.After(2 * time.Second)
	for _, q := range queues {
		if q == nil {
			continue
		}
		select {
		case <-q.Done():
		case <-limit:
			buf := make([]byte, 1<<16)
			t.Fatalf("a queue's worker outlived Close:\n%s", buf[:runtime.Stack(buf, true)])
		}
	}
	emitted := make(chan struct{})
	go func() { s.inflight.Wait(); close(emitted) }()
	select {
	case <-emitted:
	case <-limit:
		t.Fatal("an emit outlived Close")
	}
	for srv.Open() > 0 {
		select {
		case <-limit:
			t.Fatal("the SMTP connection outlived Close")
		case <-time.After(time.Millisecond):
		}
	}
}

func TestMailOptionsErrors(t *testing.T) {
	env := testEnv(&errRecorder{})
	for _, tc := range []struct {
		o    MailOptions
		want string
	}{
		{MailOptions{Addr: "localhost:25"}, "no recipient"},
		{MailOptions{Addr: "localhost:25", To: []string{"not an address"}}, `recipient "not an address"`},
		{MailOptions{Addr: "localhost:25", To: []string{"a@b.c"}, From: "@@"}, `sender "@@"`},
		{MailOptions{To: []string{"a@b.c"}}, "neither Addr nor Dir"},
		{MailOptions{Addr: "localhost:smtp", To: []string{"a@b.c"}}, "bad port"},
	} {
		_, err := newMailSink(&tc.o, ThrottleOptions{}, env, nil, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "errlog: smtp: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %q", tc.o, err, tc.want)
		}
	}
	// A directory's errors name the directory's sink, not SMTP.
	_, err := newMailSink(&MailOptions{Dir: t.TempDir(), To: []string{"not an address"}}, ThrottleOptions{}, env, nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "errlog: mail: ") {
		t.Errorf("Dir with a bad recipient: %v", err)
	}
	// Package mail's "mail: " is not said twice after the sink's name,
	// and the error says that mail is off.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = newMailSink(&MailOptions{Dir: filepath.Join(file, "mail")}, ThrottleOptions{}, env, nil, nil)
	if want := "errlog: mail: mkdir " + file + ": not a directory; error mail is off"; err == nil || err.Error() != want {
		t.Errorf("Dir that cannot be made: %v, want %s", err, want)
	}
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Errorf("%v does not wrap the *os.PathError", err)
	}
}

// The mail subject, the culprit and the formatter's source fields name
// one frame: event.CulpritFrame.
func TestMailLocationIsCulpritFrame(t *testing.T) {
	f, err := logfile.NewFormatter("%(filename)s:%(lineno)d", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, frames := range [][]event.Frame{
		{{Function: "main", Filename: "main.go", Lineno: 10, InApp: true}, {Function: "pay", Filename: "app/pay.go", Lineno: 42, InApp: true}, {Function: "Exec", Filename: "sql.go", Lineno: 7}},
		{{Function: "a", Filename: "a.go", Lineno: 1}, {Function: "b", Filename: "lib/b.go", Lineno: 2}},
	} {
		ev := &event.Event{Level: event.LevelError, Logentry: &event.Logentry{Message: "m"}, Stacktrace: &event.Stacktrace{Frames: frames}}
		fr, ok := ev.CulpritFrame()
		want := path.Base(fr.Filename) + ":" + strconv.Itoa(fr.Lineno)
		if !ok || errmail.Location(ev) != want || !strings.HasPrefix(f.FormatEvent(ev), want+"\n") || !strings.HasSuffix(ev.Culprit(), "("+fr.Filename+":"+strconv.Itoa(fr.Lineno)+")") {
			t.Errorf("frames %v: culprit frame %v, location %q, formatted %q, culprit %q", frames, fr, errmail.Location(ev), f.FormatEvent(ev), ev.Culprit())
		}
	}
}

// The whole way: slog.ErrorContext in a request, through Middleware and
// the core, to a mail over STARTTLS, masked.
func TestMailEndToEnd(t *testing.T) {
	srv := startServer(t, serverOpts{TLS: true, Auth: true})
	h := NewHandler(Options{
		Console:     io.Discard,
		Environment: "staging",
		Mail: &MailOptions{Addr: srv.Addr, Username: "user", Password: "s3cret", TLSConfig: srv.ClientTC,
			To: []string{"ops@example.com"}},
	})
	defer h.Close(context.Background())
	logger := slog.New(h)
	app := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		err := fmt.Errorf("charging card: %w", errors.New("card declined"))
		logger.ErrorContext(r.Context(), "payment failed", "err", err, "order", 1234, "api_token", "tok-123456")
		http.Error(w, "payment failed", http.StatusPaymentRequired)
	}))
	req := httptest.NewRequest(http.MethodPost, "/pay?coupon=SPRING", strings.NewReader("card=4242&password=hunter2"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer very-secret-token")
	app.ServeHTTP(httptest.NewRecorder(), req)
	for i := 0; i < 99; i++ {
		logger.Error("payment failed", "err", errors.New("card declined"), "order", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mails := srv.WaitMails(t, 1, 5*time.Second)
	m := parseMail(t, mails[0].Data)
	if !regexp.MustCompile(`^\[errlog\] ERROR: payment failed: charging card: card declined \(smtp_test\.go:\d+\)$`).MatchString(m.Subject) {
		t.Errorf("Subject %q", m.Subject)
	}
	for _, part := range []struct{ name, body string }{{"text", m.Text}, {"HTML", m.HTML}} {
		mustContain(t, part.name, part.body, "POST", "/pay?coupon=SPRING", "card declined", "charging card", "1234", "staging",
			"TestMailEndToEnd", mask)
		mustNotContain(t, part.name, part.body, "hunter2", "very-secret-token", "tok-123456")
	}
	mustContain(t, "text", m.Text, "ERROR: payment failed") // the formatted line
	// The 99 others, logged outside the request, went into their own groups
	// or digests: never 100 mails.
	if n := len(srv.Mails()); n > 3 {
		t.Errorf("%d mails for 100 errors", n)
	}
}

func TestNewMailHandler(t *testing.T) {
	dir := t.TempDir()
	h := NewMailHandler(MailOptions{Dir: dir}) // To is optional with Dir
	slog.New(h).Info("not mailed")
	slog.New(h).Error("mailed")
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.eml")); len(files) != 1 {
		t.Fatalf("%d mails, want 1", len(files))
	}
}

// Benchmarks: what the caller pays for an ERROR record with mail on, and
// what the sink's Deliver costs the delivery goroutine, with a healthy and
// with a stalled server (accepts, never answers).

func BenchmarkMailDeliverHealthy(b *testing.B) {
	srv := startServer(b, serverOpts{})
	benchmarkMail(b, srv.Addr)
}

func BenchmarkMailDeliverStalled(b *testing.B) {
	benchmarkMail(b, stalledServer(b))
}

func benchmarkMail(b *testing.B, addr string) {
	opts := MailOptions{Addr: addr, To: []string{"ops@example.com"}, Timeout: 2 * time.Second}
	b.Run("slog.Error", func(b *testing.B) {
		h := NewHandler(Options{Console: io.Discard, Mail: &opts, OnDeliveryError: func(error) {}})
		logger := slog.New(h)
		err := errors.New("card declined")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			logger.Error("payment failed", "err", err, "order", i)
		}
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		h.Close(ctx)
	})
	b.Run("Deliver/repeat", func(b *testing.B) {
		s, err := newMailSink(&opts, ThrottleOptions{}, sinkEnv{OnError: func(error) {}, QueueSize: 1024, Clock: nowClock(time.Now), ServerName: "web-1"}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		ev := mailEvent("load failed")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.Deliver(ev)
		}
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		s.Close(ctx)
	})
	b.Run("Deliver/distinct", func(b *testing.B) {
		// Every event a mail: no throttling, each composed and queued.
		s, err := newMailSink(&opts, ThrottleOptions{MaxPerHour: -1}, sinkEnv{OnError: func(error) {}, QueueSize: 1024, Clock: nowClock(time.Now), ServerName: "web-1"}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		evs := make([]*event.Event, 4096)
		for i := range evs {
			evs[i] = mailEventN(i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ev := *evs[i%len(evs)]
			ev.Fingerprint = []string{strconv.Itoa(i)}
			s.Deliver(&ev)
		}
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		s.Close(ctx)
	})
}
