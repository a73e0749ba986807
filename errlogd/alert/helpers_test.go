package alert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/require"
)

// clock is a fake clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// --- a real SMTP server with STARTTLS and AUTH PLAIN ---

type smtpServer struct {
	Addr string
	TC   *tls.Config
	mu   sync.Mutex
	msgs []*mail.Message
	raw  [][]byte
}

func startSMTP(t testing.TB, addr string) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &smtpSession{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	cert, pool := selfSigned(t)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.TC = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) Mails() []*mail.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*mail.Message(nil), s.msgs...)
}

type smtpSession struct {
	s      *smtpServer
	authed bool
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error {
		if u != "user" || p != "s3cret" {
			return gosmtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}
func (ss *smtpSession) Mail(string, *gosmtp.MailOptions) error {
	if !ss.authed {
		return gosmtp.ErrAuthRequired
	}
	return nil
}
func (ss *smtpSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytesReader(b))
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.raw = append(ss.s.raw, b)
	ss.s.mu.Unlock()
	return nil
}
func (ss *smtpSession) Reset()        {}
func (ss *smtpSession) Logout() error { return nil }

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "errlog test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// --- a store and a notifier on it ---

type fixture struct {
	t    *testing.T
	st   *sqlite.Store
	n    *Notifier
	clk  *clock
	prj  *store.Project
	smtp *smtpServer
	path string
}

func mailOpts(s *smtpServer) MailConfig {
	return MailConfig{Addr: s.Addr, User: "user", Password: "s3cret", TLS: "starttls", TLSConfig: s.TC,
		From: "errlogd <errlogd@example.com>", To: []string{"ops@example.com"}}
}

func newFixture(t *testing.T, cfg *Config, tune func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: newClock(), smtp: startSMTP(t, ""), path: filepath.Join(t.TempDir(), "e.db")}
	f.open(cfg, tune)
	p, err := f.st.CreateProject(context.Background(), "backend")
	require.NoError(t, err)
	f.prj = p
	return f
}

func (f *fixture) open(cfg *Config, tune func(*Options)) {
	st, err := sqlite.Open(context.Background(), f.path, sqlite.Options{})
	require.NoError(f.t, err)
	o := Options{Mail: mailOpts(f.smtp), PublicURL: "https://errors.example.com/dev/error", Now: f.clk.Now, Manual: true, MailDelay: -1}
	if tune != nil {
		tune(&o)
	}
	n, err := New(st.DB, cfg, o)
	require.NoError(f.t, err)
	f.st, f.n = st, n
	f.t.Cleanup(func() { f.close() })
}

func (f *fixture) close() {
	if f.n != nil {
		f.n.Close()
		f.st.Close(context.Background())
		f.n, f.st = nil, nil
	}
}

// send stores one event of group name at the fake clock's time.
func (f *fixture) send(name string, mod func(*event.Event)) {
	f.t.Helper()
	ev := &event.Event{EventID: event.NewID(), Timestamp: f.clk.Now(), Level: event.LevelError,
		Exception:   []event.Exception{{Value: name + " failed"}},
		Fingerprint: []string{name}, Environment: "production", Release: "v1"}
	if mod != nil {
		mod(ev)
	}
	in, err := store.Prepare(f.prj, ev, nil, f.clk.Now())
	require.NoError(f.t, err)
	require.NoError(f.t, f.st.Submit(context.Background(), in))
}

func (f *fixture) run() {
	f.t.Helper()
	require.NoError(f.t, f.n.RunOnce(context.Background()))
}

func (f *fixture) group(name string) *store.Group {
	f.t.Helper()
	page, err := f.st.ListGroups(context.Background(), store.GroupQuery{Text: name + " failed"})
	require.NoError(f.t, err)
	require.Len(f.t, page.Groups, 1, name)
	return &page.Groups[0]
}

// reasons lists the outbox rows, oldest first, as "rule/reason/group".
func (f *fixture) reasons() []string {
	f.t.Helper()
	rows, err := f.st.Pool().Query(`SELECT rule, reason, g.title FROM alert_outbox o JOIN event_groups g ON g.id = o.group_id ORDER BY o.id`)
	require.NoError(f.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r, why, title string
		require.NoError(f.t, rows.Scan(&r, &why, &title))
		out = append(out, fmt.Sprintf("%s/%s/%s", r, why, title))
	}
	return out
}

func bytesReader(b []byte) io.Reader { return &byteReader{b: b} }

type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// mailBody is what a mail client shows of m: every text part, decoded
// (quoted-printable wraps long lines, so raw bytes would split a link).
func mailBody(t testing.TB, m *mail.Message) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(m.Body)
		require.NoError(t, err)
		return string(b)
	}
	var out strings.Builder
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			return out.String()
		}
		require.NoError(t, err)
		b, err := io.ReadAll(part)
		require.NoError(t, err)
		out.WriteString("Content-Type: " + part.Header.Get("Content-Type") + "\n")
		out.Write(b)
		out.WriteString("\n")
	}
}
