package errlog

import (
	"context"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// caFile writes the server's self-signed certificate as a PEM file.
func caFile(t *testing.T, s *testServer) string {
	t.Helper()
	der := s.CertDER()
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return path
}

// mailFromEnv logs one error through a handler configured by FromEnv's
// reading of vars, and returns what the delivery reported.
func mailFromEnv(t *testing.T, vars map[string]string) (reports []string) {
	return mailFromEnvWait(t, vars, 5*time.Second)
}

// mailFromEnvWait is mailFromEnv with Close given wait to deliver.
func mailFromEnvWait(t *testing.T, vars map[string]string, wait time.Duration) (reports []string) {
	t.Helper()
	var stderr strings.Builder
	o := fromEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, &stderr)
	require.Empty(t, stderr.String())
	require.NotNil(t, o.Mail)
	o.Console = io.Discard
	o.SpoolDir = ""
	var mu sync.Mutex
	o.OnDeliveryError = func(err error) { mu.Lock(); reports = append(reports, err.Error()); mu.Unlock() }
	h := NewHandler(o)
	slog.New(h).Error("disk full")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = h.Close(ctx)
	mu.Lock()
	defer mu.Unlock()
	return reports
}

// ERRLOG_SMTP_TLS and ERRLOG_SMTP_CA_FILE, each mode against the
// in-process server with a self-signed certificate.
func TestMailTLSFromEnv(t *testing.T) {
	base := map[string]string{"ERRLOG_MAIL_TO": "ops@example.com", "ERRLOG_MAIL_FROM": "app@example.com"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	t.Run("starttls by default, trusting the CA file", func(t *testing.T) {
		srv := startServer(t, serverOpts{TLS: true})
		reports := mailFromEnv(t, with("ERRLOG_SMTP_ADDR", srv.Addr, "ERRLOG_SMTP_CA_FILE", caFile(t, srv)))
		assert.Empty(t, reports)
		mails := srv.WaitMails(t, 1, 5*time.Second)
		assert.True(t, mails[0].TLS)
	})
	t.Run("starttls without the CA file fails the handshake", func(t *testing.T) {
		srv := startServer(t, serverOpts{TLS: true})
		reports := mailFromEnvWait(t, with("ERRLOG_SMTP_ADDR", srv.Addr, "ERRLOG_SMTP_TLS", "starttls"), 500*time.Millisecond)
		assert.Empty(t, srv.Mails())
		assert.Contains(t, strings.Join(reports, "\n"), "certificate")
	})
	t.Run("starttls sends in clear when not offered", func(t *testing.T) {
		srv := startServer(t, serverOpts{})
		assert.Empty(t, mailFromEnv(t, with("ERRLOG_SMTP_ADDR", srv.Addr, "ERRLOG_SMTP_TLS", "starttls")))
		assert.False(t, srv.WaitMails(t, 1, 5*time.Second)[0].TLS)
	})
	t.Run("required refuses a server without STARTTLS", func(t *testing.T) {
		srv := startServer(t, serverOpts{})
		reports := mailFromEnv(t, with("ERRLOG_SMTP_ADDR", srv.Addr, "ERRLOG_SMTP_TLS", "required"))
		assert.Empty(t, srv.Mails())
		assert.Contains(t, strings.Join(reports, "\n"), "does not offer STARTTLS")
	})
	t.Run("required upgrades when offered", func(t *testing.T) {
		srv := startServer(t, serverOpts{TLS: true})
		assert.Empty(t, mailFromEnv(t, with("ERRLOG_SMTP_ADDR", srv.Addr, "ERRLOG_SMTP_TLS", "REQUIRED", "ERRLOG_SMTP_CA_FILE", caFile(t, srv))))
		assert.True(t, srv.WaitMails(t, 1, 5*time.Second)[0].TLS)
	})
	t.Run("implicit TLS on any port", func(t *testing.T) {
		srv := startServer(t, serverOpts{Implicit: true})
		assert.Empty(t, mailFromEnv(t, with("ERRLOG_SMTP_ADDR", srv.Addr, "ERRLOG_SMTP_TLS", "implicit", "ERRLOG_SMTP_CA_FILE", caFile(t, srv))))
		assert.True(t, srv.WaitMails(t, 1, 5*time.Second)[0].TLS)
	})
	t.Run("none never upgrades", func(t *testing.T) {
		srv := startServer(t, serverOpts{TLS: true})
		assert.Empty(t, mailFromEnv(t, with("ERRLOG_SMTP_ADDR", srv.Addr, "ERRLOG_SMTP_TLS", "none")))
		assert.False(t, srv.WaitMails(t, 1, 5*time.Second)[0].TLS)
	})
}

func TestMailTLSEnvErrors(t *testing.T) {
	var stderr strings.Builder
	vars := map[string]string{"ERRLOG_SMTP_ADDR": "127.0.0.1:2525", "ERRLOG_MAIL_TO": "ops@example.com", "ERRLOG_SMTP_TLS": "maybe", "ERRLOG_SMTP_CA_FILE": "/nonexistent/ca.pem"}
	o := fromEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, &stderr)
	assert.Contains(t, stderr.String(), `ERRLOG_SMTP_TLS="maybe": want starttls, required, implicit or none`)
	assert.Contains(t, stderr.String(), `ERRLOG_SMTP_CA_FILE="/nonexistent/ca.pem"`)
	require.NotNil(t, o.Mail)
	assert.False(t, o.Mail.RequireTLS || o.Mail.ImplicitTLS || o.Mail.NoTLS)
	assert.Nil(t, o.Mail.TLSConfig)

	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o600))
	stderr.Reset()
	vars["ERRLOG_SMTP_CA_FILE"] = bad
	vars["ERRLOG_SMTP_TLS"] = "none"
	o = fromEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, &stderr)
	assert.Contains(t, stderr.String(), "no PEM certificate in it")
	assert.True(t, o.Mail.NoTLS)
}
