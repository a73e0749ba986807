package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mailbox is an in-process SMTP server counting what it receives.
type mailbox struct {
	mu    sync.Mutex
	mails []string
}

func (m *mailbox) count() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.mails) }

type mbSession struct{ m *mailbox }

func (s mbSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s mbSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s mbSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, string(b))
	s.m.mu.Unlock()
	return err
}
func (s mbSession) Reset()        {}
func (s mbSession) Logout() error { return nil }

func startMailbox(t *testing.T) (*mailbox, string) {
	m := &mailbox{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return mbSession{m}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return m, ln.Addr().String()
}

// TestAlertsTwoProcessesPostgres: two errlogd processes on one
// PostgreSQL, each sent the same new error: one mail, one GitHub issue.
func TestAlertsTwoProcessesPostgres(t *testing.T) {
	url := pgtest.URL(t)
	box, smtpAddr := startMailbox(t)
	var issues atomic.Int32
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issues.Add(1)
		w.WriteHeader(201)
		io.WriteString(w, `{"html_url": "https://github.com/acme/shop/issues/1"}`)
	}))
	defer gh.Close()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(`
ticketers:
  gh: {type: github, url: "`+gh.URL+`", repo: acme/shop, token: t}
rules:
  - name: new
    triggers: [{type: new}, {type: regression}]
    actions: [{type: mail}, {type: ticket, ticketer: gh}]
`), 0o600))
	createStore(t, url)
	out, err := exec.Command(errlogdBin, "project", "add", "app", "-db", url).CombinedOutput()
	require.NoError(t, err, string(out))
	key := regexp.MustCompile(`[0-9a-f]{32}`).FindString(string(out))
	env := []string{"ERRLOGD_ADMIN_PASSWORD=pw", "ERRLOGD_SMTP_ADDR=" + smtpAddr, "ERRLOGD_SMTP_TLS=none",
		"ERRLOGD_MAIL_FROM=errlogd@example.com", "ERRLOGD_MAIL_TO=ops@example.com", "ERRLOGD_MAIL_DELAY=0s"}
	a := start(t, env, "-addr", "127.0.0.1:0", "-db", url, "-rules", rules)
	b := start(t, env, "-addr", "127.0.0.1:0", "-db", url, "-rules", rules)
	var wg sync.WaitGroup
	for _, p := range []*proc{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := event.NewID()
			body := fmt.Sprintf(`{"event_id":%q}`+"\n"+`{"type":"event"}`+"\n"+`{"event_id":%q,"level":"error","exception":[{"type":"Err","value":"disk full"}]}`+"\n", id, id)
			req, _ := http.NewRequest("POST", p.base+"/api/1/envelope/", strings.NewReader(body))
			req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+key)
			resp, err := http.DefaultClient.Do(req)
			if assert.NoError(t, err) {
				resp.Body.Close()
				assert.Equal(t, 200, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for (box.count() < 1 || issues.Load() < 1) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // two more polls of each process: nothing more may come
	assert.Equal(t, 1, box.count(), "one mail\n%s%s", a.errText(), b.errText())
	assert.Equal(t, int32(1), issues.Load(), "one issue")
	if box.count() > 0 {
		assert.Contains(t, box.mails[0], "disk full")
		assert.Contains(t, box.mails[0], "/dev/error/groups/")
	}
	a.stop(t)
	b.stop(t)
}
