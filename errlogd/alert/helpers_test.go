package alert

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	errmail "github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/mail/mailtest"
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

// --- a real SMTP server (mailtest) with STARTTLS and AUTH ---

// smtpServer is a mailtest.Server whose mails are read as a mail client
// reads them.
type smtpServer struct {
	*mailtest.Server
	TC *tls.Config // trusts the server's certificate
}

// startSMTP starts a server that offers STARTTLS and requires AUTH as
// user/s3cret, on addr ("" for any port).
func startSMTP(t testing.TB, addr string) *smtpServer {
	return startSMTPWith(t, mailtest.Options{TLS: true, Auth: true, Addr: addr})
}

func startSMTPWith(t testing.TB, o mailtest.Options) *smtpServer {
	srv := mailtest.Start(t, o)
	return &smtpServer{Server: srv, TC: srv.ClientTC}
}

// Mails returns the mails received so far, parsed.
func (s *smtpServer) Mails() []*mail.Message {
	var out []*mail.Message
	for _, r := range s.Server.Mails() {
		m, err := mail.ReadMessage(bytesReader(r.Data))
		if err != nil {
			panic(err) // the mail package wrote it: a test's bug
		}
		out = append(out, m)
	}
	return out
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

func mailOpts(s *smtpServer) errmail.Options {
	return errmail.Options{Addr: s.Addr, Username: "user", Password: "s3cret", TLSConfig: s.TC,
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
