package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// A mail server whose idle timeout is shorter than IdleTimeout (go-smtp
// and mailtest's own server: 10 s, against a default of 30 s) says "421
// Idle timeout" and hangs up. The next error's mail must go out on a new
// connection without an error report and without waiting a backoff.
func TestSinkIdleConnectionClosedBy421(t *testing.T) {
	srv := startServer(t, serverOpts{IdleTimeout: 200 * time.Millisecond})
	n := func() int { return len(srv.Mails()) }

	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}}, testEnv(rec), ThrottleOptions{}, nil, nil)
	s.Deliver(mailEventN(1))
	for deadline := time.Now().Add(5 * time.Second); n() < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // the server's idle timeout: 421, close
	s.Deliver(mailEventN(2))
	// No Flush: it would close the connection.
	for deadline := time.Now().Add(5 * time.Second); n() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got := n(); got != 2 {
		t.Errorf("%d mails, want 2", got)
	}
	if errs := rec.all(); len(errs) > 0 {
		t.Errorf("errors reported for a connection the server closed while idle: %v", errs)
	}
}

// A storm of many groups, then Close: every error is counted once in the
// mails (first: 1, digest: its count, summary: its count).
func TestSinkStormCountsAtClose(t *testing.T) {
	srv := startServer(t, serverOpts{})
	rec := &errRecorder{}
	s, err := newMailSink(&MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}}, ThrottleOptions{}, testEnv(rec), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := 0; i < 5000; i++ {
		s.Deliver(mailEventN(i % 300))
		total++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sum := 0
	kinds := map[string]int{}
	for _, m := range srv.Mails() {
		p := parseMail(t, m.Data)
		c, _ := strconv.Atoi(p.Header.Get("X-Errlog-Count"))
		sum += c
		kinds[p.Header.Get("X-Errlog-Kind")]++
		if p.Header.Get("X-Errlog-Kind") == "summary" {
			t.Logf("summary: %s", p.Subject)
		}
	}
	t.Logf("%d mails %v", len(srv.Mails()), kinds)
	if sum != total {
		t.Errorf("the mails count %d errors, want %d; errors: %v", sum, total, rec.all())
	}
	if len(srv.Mails()) > 21 {
		t.Errorf("%d mails", len(srv.Mails()))
	}
}

// docs/mail.md: "A 4xx reply … is retried with backoff". A recipient
// greylisted (450) while the others are accepted never gets the mail:
// the 4xx is treated as a refusal, reported, and never retried.
func TestSinkGreylistedRecipientRetried(t *testing.T) {
	srv := startServer(t, serverOpts{})
	var mu sync.Mutex
	tries := 0
	srv.SetHook(func(stage string) error {
		mu.Lock()
		defer mu.Unlock()
		if stage == "RCPT dev@example.com" {
			tries++
			if tries == 1 {
				return &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try again later"}
			}
		}
		return nil
	})
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com", "dev@example.com"}}, testEnv(rec), fast, nil, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	time.Sleep(300 * time.Millisecond) // many backoffs of fast
	got := map[string]int{}
	for _, m := range srv.Mails() {
		for _, to := range m.To {
			got[to]++
		}
	}
	if got["dev@example.com"] != 1 || got["ops@example.com"] != 1 {
		t.Errorf("recipients got %v, want the mail once each; reported: %v", got, rec.all())
	}
}

// A server address given with credentials in it, as many tools take
// (SMTP_URL=smtp://user:pass@host:587, or user:pass@host:587): the
// password must not be printed in the report of the bad setting.
func TestSMTPAddrCredentialsNotPrinted(t *testing.T) {
	for _, addr := range []string{"smtp://errlog:hunter2secret@smtp.example.com:587", "errlog:hunter2secret@smtp.example.com:587", "errlog:hunter2secret@smtp.example.com"} {
		var stderr strings.Builder
		o := fromEnv(envOf(map[string]string{"ERRLOG_SMTP_ADDR": addr, "ERRLOG_MAIL_TO": "ops@example.com"}), &stderr)
		var reports []string
		var mu sync.Mutex
		o.Console = io.Discard
		o.SpoolDir = ""
		o.OnDeliveryError = func(err error) { mu.Lock(); reports = append(reports, err.Error()); mu.Unlock() }
		h := NewHandler(o)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		h.Close(ctx)
		cancel()
		mu.Lock()
		all := stderr.String() + strings.Join(reports, "\n")
		mu.Unlock()
		if strings.Contains(all, "hunter2secret") {
			t.Errorf("ERRLOG_SMTP_ADDR=%s: the password is printed:\n%s", addr, all)
		}
	}
}

// A recipient refused among others is reported as the smtp sink's
// failure (DeliveryError.Sink "smtp", as every other mail failure), so
// that a hook that filters on the sink sees it.
func TestRefusedRecipientReportNamesSink(t *testing.T) {
	srv := startServer(t, serverOpts{})
	srv.SetHook(func(stage string) error {
		if stage == "RCPT gone@example.com" {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	var mu sync.Mutex
	var reports []error
	h := NewHandler(Options{Console: io.Discard, SpoolDir: "",
		Mail:            &MailOptions{Addr: srv.Addr, To: []string{"gone@example.com", "ops@example.com"}},
		OnDeliveryError: func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() }})
	slog.New(h).Error("disk full")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.Close(ctx)
	srv.WaitMails(t, 1, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1: %v", len(reports), reports)
	}
	var de *DeliveryError
	if !errors.As(reports[0], &de) || de.Sink != "smtp" {
		t.Errorf("report %q: Sink %q, want \"smtp\"", reports[0], de.Sink)
	}
}
