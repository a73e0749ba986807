package alert

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startSMTPWith is startSMTP with a choice of what the server offers:
// "starttls", "plain" (no STARTTLS) or "implicit" (TLS from the first byte).
func startSMTPWith(t *testing.T, offer string) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &smtpSession{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = true
	cert, pool := selfSigned(t)
	s.TC = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	switch offer {
	case "starttls":
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	case "implicit":
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Every ERRLOGD_SMTP_TLS mode against a server that offers STARTTLS, one
// that does not, and one that speaks TLS from the first byte: the names and
// their meaning are the client's ERRLOG_SMTP_TLS.
func TestMailTLSModes(t *testing.T) {
	for _, c := range []struct {
		offer, mode string
		wantErr     string
	}{
		{"starttls", "starttls", ""},
		{"plain", "starttls", ""}, // upgrade only when offered
		{"starttls", "required", ""},
		{"plain", "required", "does not offer STARTTLS"},
		{"implicit", "implicit", ""},
		{"starttls", "none", ""},
	} {
		t.Run(c.offer+"/"+c.mode, func(t *testing.T) {
			srv := startSMTPWith(t, c.offer)
			n := &Notifier{opts: Options{Mail: MailConfig{Addr: srv.Addr, User: "user", Password: "s3cret",
				TLS: c.mode, TLSConfig: srv.TC, From: "errlogd@example.com", Timeout: 5 * time.Second}}}
			err := n.smtpSend(ctx, []string{"ops@example.com"}, []byte("Subject: tls "+c.mode+"\r\n\r\nbody\r\n"))
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				assert.Empty(t, srv.Mails(), "nothing sent in clear")
				return
			}
			require.NoError(t, err)
			require.Len(t, srv.Mails(), 1)
			assert.Equal(t, "tls "+c.mode, srv.Mails()[0].Header.Get("Subject"))
		})
	}
	for alias, want := range map[string]string{"": "starttls", "starttls": "starttls", "tls": "implicit", "implicit": "implicit", "required": "required", "none": "none"} {
		got, err := mailTLS(alias)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%q", alias)
	}
}
