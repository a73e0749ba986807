package mailtest_test

import (
	"crypto/tls"
	"errors"
	"net/smtp"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/errlog/errlog/mail/mailtest"
)

// loginAuth is the client side of AUTH LOGIN, which net/smtp lacks.
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }
func (a loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	switch {
	case !more:
		return nil, nil
	case string(challenge) == "Username:":
		return []byte(a.user), nil
	default:
		return []byte(a.pass), nil
	}
}

// The server a stock client (net/smtp) sees: implicit TLS with a
// certificate ClientTC trusts, AUTH LOGIN checked, the hook's replies,
// and what it received.
func TestServer(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Implicit: true, Auth: true, Mechs: []string{"LOGIN"}})
	srv.SetHook(func(stage string) error {
		if stage == "RCPT nobody@example.com" {
			return &gosmtp.SMTPError{Code: 550, Message: "no such user"}
		}
		return nil
	})
	dial := func() *smtp.Client {
		tc := srv.ClientTC.Clone()
		tc.ServerName = "127.0.0.1"
		conn, err := tls.Dial("tcp", srv.Addr, tc)
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := dial().Auth(loginAuth{"user", "wrong"}); err == nil { // net/smtp quits after it
		t.Fatal("a wrong password was accepted")
	}
	c := dial()
	if err := c.Auth(loginAuth{"user", "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	var te interface{ Error() string }
	if err := c.Rcpt("nobody@example.com"); err == nil || !errors.As(err, &te) {
		t.Fatalf("a refused recipient: %v", err)
	}
	if err := c.Rcpt("ops@example.com"); err != nil {
		t.Fatal(err)
	}
	w, _ := c.Data()
	w.Write([]byte("Subject: hi\r\n\r\nbody\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	m := srv.WaitMails(t, 1, 5*time.Second)[0]
	if !m.TLS || m.Auth != "user" || m.Mech != "LOGIN" || m.From != "a@example.com" || len(m.To) != 1 || m.To[0] != "ops@example.com" {
		t.Errorf("received %+v", m)
	}
	if srv.Conns() != 2 {
		t.Errorf("%d connections", srv.Conns())
	}
	for deadline := time.Now().Add(5 * time.Second); srv.Open() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the connection is still open after QUIT")
		}
	}
}
