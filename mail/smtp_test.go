package mail_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/mail/mailtest"
)

var ctx = context.Background()

// message is a minimal mail from a@example.com.
func message(to ...string) *mail.Message {
	return &mail.Message{ID: "<1@test>", From: "a@example.com", To: to,
		Data: []byte("From: a@example.com\r\nSubject: test\r\n\r\nbody\r\n")}
}

func transport(t *testing.T, o mail.Options, env mail.Env) mail.Transport {
	t.Helper()
	o.Timeout = 5 * time.Second
	tr, err := mail.NewTransport(o, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// Each way of securing and authenticating, against a real server: the
// mail arrives over TLS when it should, authenticated as it should.
func TestSMTPTLSAndAuth(t *testing.T) {
	for _, c := range []struct {
		name    string
		offer   mailtest.Options
		tls     string // SetTLS's mode
		wantTLS bool
		mech    string
	}{
		{"STARTTLS, AUTH PLAIN", mailtest.Options{TLS: true, Auth: true}, "", true, "PLAIN"},
		{"implicit TLS (port 465), AUTH PLAIN", mailtest.Options{Implicit: true, Auth: true}, "implicit", true, "PLAIN"},
		{"STARTTLS, AUTH LOGIN", mailtest.Options{TLS: true, Auth: true, Mechs: []string{"LOGIN"}}, "Required", true, "LOGIN"},
		{"implicit TLS, AUTH LOGIN", mailtest.Options{Implicit: true, Auth: true, Mechs: []string{"LOGIN"}}, "TLS", true, "LOGIN"},
		{"PLAIN preferred", mailtest.Options{TLS: true, Auth: true, Mechs: []string{"LOGIN", "PLAIN"}}, "starttls", true, "PLAIN"},
		{"no TLS to a local relay", mailtest.Options{TLS: true}, "none", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := mailtest.Start(t, c.offer)
			o := mail.Options{Addr: srv.Addr, TLSConfig: srv.ClientTC}
			if c.offer.Auth {
				o.Username, o.Password = "user", "s3cret"
			}
			if err := o.SetTLS(c.tls); err != nil {
				t.Fatal(err)
			}
			if err := transport(t, o, mail.Env{}).Send(ctx, message("ops@example.com")); err != nil {
				t.Fatal(err)
			}
			got := srv.WaitMails(t, 1, 5*time.Second)[0]
			if got.TLS != c.wantTLS || got.Mech != c.mech || got.From != "a@example.com" || strings.Join(got.To, ",") != "ops@example.com" {
				t.Errorf("received %+v; want TLS %v, AUTH %s", got, c.wantTLS, c.mech)
			}
		})
	}
}

// Refusals that retrying cannot fix are permanent: a server that does not
// offer STARTTLS where it is required, a wrong password (535), a 5xx
// reply; a 4xx reply is worth retrying.
func TestSMTPPermanentAndTemporary(t *testing.T) {
	plain := mailtest.Start(t, mailtest.Options{})
	err := transport(t, mail.Options{Addr: plain.Addr, RequireTLS: true}, mail.Env{}).Send(ctx, message("ops@example.com"))
	if err == nil || !mail.IsPermanent(err) || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Errorf("RequireTLS without STARTTLS: %v (permanent %v)", err, mail.IsPermanent(err))
	}

	srv := mailtest.Start(t, mailtest.Options{TLS: true, Auth: true})
	err = transport(t, mail.Options{Addr: srv.Addr, TLSConfig: srv.ClientTC, Username: "user", Password: "wrong"}, mail.Env{}).Send(ctx, message("ops@example.com"))
	if err == nil || !mail.IsPermanent(err) || !strings.Contains(err.Error(), "535") {
		t.Errorf("a wrong password: %v", err)
	}

	var code atomic.Int32
	srv.SetHook(func(stage string) error {
		if stage == "DATA" {
			return &gosmtp.SMTPError{Code: int(code.Load()), EnhancedCode: gosmtp.EnhancedCode{int(code.Load() / 100), 0, 0}, Message: "no"}
		}
		return nil
	})
	tr := transport(t, mail.Options{Addr: srv.Addr, TLSConfig: srv.ClientTC, Username: "user", Password: "s3cret"}, mail.Env{})
	code.Store(451)
	if err := tr.Send(ctx, message("ops@example.com")); err == nil || mail.IsPermanent(err) {
		t.Errorf("451: %v, want a temporary error", err)
	}
	code.Store(550)
	if err := tr.Send(ctx, message("ops@example.com")); err == nil || !mail.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
		t.Errorf("550: %v, want a permanent error", err)
	}
	if err := tr.Send(ctx, message()); !mail.IsPermanent(err) {
		t.Errorf("no recipient: %v", err)
	}
}

// A recipient the server refuses does not stop the mail to the others:
// Send succeeds and Env.OnError is told; when every one is refused, Send
// fails.
func TestSMTPRefusedRecipient(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.SetHook(func(stage string) error {
		if strings.HasPrefix(stage, "RCPT gone") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	told := make(chan error, 10)
	tr := transport(t, mail.Options{Addr: srv.Addr}, mail.Env{OnError: func(err error) { told <- err }})
	if err := tr.Send(ctx, message("gone@example.com", "ops@example.com", "gone2@example.com")); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitMails(t, 1, 5*time.Second)[0]
	if strings.Join(got.To, ",") != "ops@example.com" {
		t.Errorf("sent to %v", got.To)
	}
	if len(told) != 1 {
		t.Fatalf("told %d errors, want 1", len(told))
	}
	if err := <-told; !strings.Contains(err.Error(), "gone@example.com") || !strings.Contains(err.Error(), "gone2@example.com") {
		t.Errorf("told %v", err)
	}
	if err := tr.Send(ctx, message("gone@example.com")); err == nil || !mail.IsPermanent(err) {
		t.Errorf("every recipient refused: %v", err)
	}
}

// One connection carries a burst; it is closed IdleTimeout after the
// last mail (on the Env's timer), and by Close.
func TestSMTPConnectionReuse(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: true, Auth: true})
	var idle atomic.Pointer[func()]
	env := mail.Env{AfterFunc: func(d time.Duration, f func()) func() bool {
		if d != time.Minute {
			t.Errorf("idle timer of %v, want IdleTimeout", d)
		}
		idle.Store(&f)
		return func() bool { return true }
	}}
	tr := transport(t, mail.Options{Addr: srv.Addr, TLSConfig: srv.ClientTC, Username: "user", Password: "s3cret", IdleTimeout: time.Minute}, env)
	for i := 0; i < 10; i++ {
		if err := tr.Send(ctx, message("ops@example.com")); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Conns(); n != 1 {
		t.Errorf("%d connections for a burst of 10 mails, want 1", n)
	}
	(*idle.Load())() // IdleTimeout passed
	waitClosed(t, srv)
	if err := tr.Send(ctx, message("ops@example.com")); err != nil {
		t.Fatal(err)
	}
	if n := srv.Conns(); n != 2 {
		t.Errorf("%d connections after an idle period, want 2", n)
	}
	tr.Close()
	waitClosed(t, srv)
}

func waitClosed(t *testing.T, srv *mailtest.Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); srv.Open() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the connection stayed open")
		}
	}
}

// A server that accepts and never answers costs a Send its Timeout, not
// more, and a cancelled context ends it at once.
func TestSMTPStalledServer(t *testing.T) {
	addr := mailtest.Stalled(t)
	tr, err := mail.NewTransport(mail.Options{Addr: addr, Timeout: 200 * time.Millisecond}, mail.Env{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := tr.Send(ctx, message("ops@example.com")); err == nil || mail.IsPermanent(err) {
		t.Errorf("stalled: %v, want a temporary error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send took %v with a Timeout of 200ms", d)
	}
	tr, _ = mail.NewTransport(mail.Options{Addr: addr, Timeout: time.Minute}, mail.Env{})
	c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := tr.Send(c, message("ops@example.com")); err == nil {
		t.Error("a cancelled Send succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a cancelled Send took %v", d)
	}
}
