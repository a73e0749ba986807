package alert

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/mail/mailtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every ERRLOGD_SMTP_TLS mode against a server that offers STARTTLS, one
// that does not, and one that speaks TLS from the first byte (the port
// 465 kind): the names, their parser and their meaning are the client's
// ERRLOG_SMTP_TLS (package mail).
func TestMailTLSModes(t *testing.T) {
	for _, c := range []struct {
		name    string
		offer   mailtest.Options
		mode    string
		wantErr string
	}{
		{"starttls/starttls", mailtest.Options{TLS: true, Auth: true}, "starttls", ""},
		{"plain/starttls", mailtest.Options{Auth: true, InsecureAuth: true}, "STARTTLS", ""}, // upgrade only when offered
		{"starttls/required", mailtest.Options{TLS: true, Auth: true}, "required", ""},
		{"plain/required", mailtest.Options{Auth: true, InsecureAuth: true}, "Required", "does not offer STARTTLS"},
		{"implicit/implicit", mailtest.Options{Implicit: true, Auth: true}, "implicit", ""},
		{"implicit/tls", mailtest.Options{Implicit: true, Auth: true}, "tls", ""},
		{"starttls/none", mailtest.Options{TLS: true, Auth: true, InsecureAuth: true}, "none", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startSMTPWith(t, c.offer)
			var reports []error
			f := newFixture(t, nil, func(o *Options) {
				o.Mail = mailOpts(srv)
				require.NoError(t, o.Mail.SetTLS(c.mode))
				o.OnError = func(err error) { reports = append(reports, err) }
			})
			f.send("tls", nil)
			err := f.n.RunOnce(ctx)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				assert.Empty(t, srv.Mails(), "nothing sent in clear")
				fails, ferr := f.n.Failures(ctx, 10)
				require.NoError(t, ferr)
				require.Len(t, fails, 1)
				assert.Equal(t, "failed", fails[0].State, "a server without STARTTLS is not retried")
				return
			}
			require.NoError(t, err)
			mails := srv.Server.Mails()
			require.Len(t, mails, 1)
			assert.Equal(t, c.offer.TLS && c.mode != "none" || c.offer.Implicit, mails[0].TLS)
			assert.Equal(t, "user", mails[0].Auth)
			assert.Empty(t, reports)
		})
	}
}

// AUTH LOGIN, for servers that offer nothing else, over implicit TLS.
func TestMailAuthLogin(t *testing.T) {
	srv := startSMTPWith(t, mailtest.Options{Implicit: true, Auth: true, Mechs: []string{"LOGIN"}})
	f := newFixture(t, nil, func(o *Options) {
		o.Mail = mailOpts(srv)
		o.Mail.ImplicitTLS = true
	})
	f.send("login", nil)
	f.run()
	mails := srv.Server.Mails()
	require.Len(t, mails, 1)
	assert.Equal(t, "LOGIN", mails[0].Mech)
	assert.True(t, mails[0].TLS)
}

// A recipient the server refuses does not stop the mail to the others;
// the refusal is reported, and the notification is sent, not retried.
func TestMailRefusedRecipient(t *testing.T) {
	srv := startSMTP(t, "")
	srv.SetHook(func(stage string) error {
		if stage == "RCPT gone@example.com" {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	var reports []error
	f := newFixture(t, nil, func(o *Options) {
		o.Mail = mailOpts(srv)
		o.Mail.To = []string{"gone@example.com", "ops@example.com", "dev@example.com"}
		o.OnError = func(err error) { reports = append(reports, err) }
	})
	f.smtp = srv
	f.send("refused", nil)
	f.run()
	mails := srv.Server.Mails()
	require.Len(t, mails, 1)
	assert.Equal(t, []string{"ops@example.com", "dev@example.com"}, mails[0].To)
	require.Len(t, reports, 1)
	assert.Contains(t, reports[0].Error(), "gone@example.com")
	fails, err := f.n.Failures(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, fails, "sent: nothing to retry")
}

// A 5xx reply is permanent: the notification fails at once and is never
// tried again (a 4xx is retried with backoff: TestOutboxSurvivesRestart).
func TestMailPermanentNotRetried(t *testing.T) {
	var datas atomic.Int32
	srv := startSMTP(t, "")
	srv.SetHook(func(stage string) error {
		if stage == "DATA" {
			datas.Add(1)
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "rejected as spam"}
		}
		return nil
	})
	f := newFixture(t, nil, func(o *Options) { o.Mail = mailOpts(srv) })
	f.smtp = srv
	f.send("spam", nil)
	require.ErrorContains(t, f.n.RunOnce(ctx), "550")
	for i := 0; i < 5; i++ {
		f.clk.Add(2 * time.Hour)
		f.run()
	}
	assert.Equal(t, int32(1), datas.Load(), "a 550 was retried")
	fails, err := f.n.Failures(ctx, 10)
	require.NoError(t, err)
	require.Len(t, fails, 1)
	assert.Equal(t, "failed", fails[0].State)
	assert.Equal(t, 1, fails[0].Attempts)
}

// Issue 21.9: the first alert to a recipient list goes out within
// seconds, with the whole error (stack, request, the group's link);
// the next ones within the window (MailDelay) become one digest.
func TestFirstAlertAtOnce(t *testing.T) {
	srv := startSMTP(t, "")
	f := newFixture(t, nil, func(o *Options) {
		o.Mail = mailOpts(srv)
		o.Manual = false // the sender's own loop, at its default poll
		o.MailDelay = 0  // the default window (1 minute)
	})
	f.smtp = srv
	start := time.Now()
	f.send("checkout", func(e *event.Event) {
		e.Exception[0].Type = "*errors.errorString"
		e.Exception[0].Stacktrace = &event.Stacktrace{Frames: []event.Frame{
			{Function: "main", Module: "main", Filename: "main.go", Lineno: 10, InApp: true},
			{Function: "Checkout", Module: "shop/cart", Filename: "cart/checkout.go", Lineno: 42, InApp: true},
		}}
		e.Request = &event.Request{Method: "POST", URL: "https://shop.example.com/checkout"}
	})
	waitMails(t, srv, 1, 5*time.Second)
	latency := time.Since(start)
	t.Logf("first alert after %v", latency)
	assert.Less(t, latency, 5*time.Second)
	m := srv.Mails()[0]
	g := f.group("checkout")
	assert.Equal(t, "[errlog] ERROR: checkout failed (checkout.go:42)", m.Header.Get("Subject"))
	body := mailBody(t, m)
	for _, want := range []string{"shop/cart.Checkout", "cart/checkout.go:42", "POST https://shop.example.com/checkout",
		fmt.Sprintf(`<a href="https://errors.example.com/dev/error/groups/%d"`, g.ID)} {
		assert.Contains(t, body, want)
	}

	// Two more new groups within the window: held, then one digest.
	f.send("refund", nil)
	f.send("invoice", nil)
	require.NoError(t, f.n.RunOnce(ctx))
	require.Len(t, srv.Mails(), 1, "within the window: gathered")
	f.clk.Add(time.Minute)
	waitMails(t, srv, 2, 5*time.Second)
	d := srv.Mails()[1]
	assert.Equal(t, "[errlog] ERROR: 2 errors to look at", d.Header.Get("Subject"))
	body = mailBody(t, d)
	assert.Contains(t, body, "refund failed")
	assert.Contains(t, body, "invoice failed")
}

// Issue 21.10: an event without a stack gives no empty template line,
// the links are links in the HTML part, and the default sender is at the
// public URL's host.
func TestAlertMailParts(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.Mail.From = "" })
	f.send("bare", nil)
	f.run()
	mails := f.smtp.Mails()
	require.Len(t, mails, 1)
	m := mails[0]
	assert.Equal(t, "errlogd@errors.example.com", m.Header.Get("From"))
	body := mailBody(t, m)
	assert.NotContains(t, body, "(unknown file)")
	for _, line := range strings.Split(body, "\n") {
		assert.False(t, strings.HasPrefix(line, "- "), "an empty template line: %q", line)
	}
	g := f.group("bare")
	assert.Contains(t, body, fmt.Sprintf(`Details: <a href="https://errors.example.com/dev/error/groups/%d"`, g.ID))

	// A digest links each group.
	f.close()
	f.open(nil, func(o *Options) { o.MailDelay = time.Minute })
	f.send("one", nil)
	f.send("two", nil)
	f.clk.Add(2 * time.Minute)
	f.run()
	mails = f.smtp.Mails()
	require.Len(t, mails, 2)
	body = mailBody(t, mails[1])
	assert.Contains(t, body, fmt.Sprintf(`<a href="https://errors.example.com/dev/error/groups/%d"`, f.group("one").ID))
	assert.Contains(t, body, fmt.Sprintf(`<a href="https://errors.example.com/dev/error/groups/%d"`, f.group("two").ID))
}

// waitMails waits until srv has n mails.
func waitMails(t *testing.T, srv *smtpServer, n int, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); len(srv.Server.Mails()) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d mails in %v, want %d", len(srv.Server.Mails()), limit, n)
		}
	}
}
