package main

import (
	"encoding/pem"
	"fmt"
	"io"
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

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/mail/mailtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startMailbox starts an in-process SMTP server (mailtest).
func startMailbox(t *testing.T) (*mailtest.Server, string) {
	srv := mailtest.Start(t, mailtest.Options{})
	return srv, srv.Addr
}

// TestSMTPSettings: ERRLOGD_SMTP_* and ERRLOGD_MAIL_* are read as the
// client's ERRLOG_SMTP_* and ERRLOG_MAIL_* (package mail's parsers: the
// TLS mode in any case, a CA file), and a bad value stops errlogd with
// one line naming the variable.
func TestSMTPSettings(t *testing.T) {
	cmd := exec.Command(errlogdBin, "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "e.db"))
	cmd.Env = append(os.Environ(), "ERRLOGD_SMTP_ADDR=127.0.0.1:25", "ERRLOGD_SMTP_TLS=ssl", "ERRLOGD_MAIL_TO=ops@example.com")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, string(out))
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), `ERRLOGD_SMTP_TLS (-smtp-tls) "ssl": want starttls, required, implicit or none`)

	// Upper case is read too; the sender defaults to errlogd@ the public
	// URL's host, which a mail server accepts (not errlogd@127.0.0.1).
	db := filepath.Join(t.TempDir(), "e.db")
	createStore(t, db)
	out, err = exec.Command(errlogdBin, "project", "add", "app", "-db", db).CombinedOutput()
	require.NoError(t, err, string(out))
	key := regexp.MustCompile(`[0-9a-f]{32}`).FindString(string(out))
	box := mailtest.Start(t, mailtest.Options{Implicit: true}) // TLS from the first byte, as on port 465
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: box.CertDER()}), 0o600))
	p := start(t, []string{"ERRLOGD_SMTP_ADDR=" + box.Addr, "ERRLOGD_SMTP_TLS=IMPLICIT", "ERRLOGD_SMTP_CA_FILE=" + ca,
		"ERRLOGD_MAIL_TO=ops@example.com", "ERRLOGD_MAIL_SUBJECT_PREFIX=[shop] ", "ERRLOGD_PUBLIC_URL=https://errors.example.com"},
		"-addr", "127.0.0.1:0", "-db", db)
	defer p.stop(t)
	id := event.NewID()
	body := fmt.Sprintf(`{"event_id":%q}`+"\n"+`{"type":"event"}`+"\n"+`{"event_id":%q,"level":"error","exception":[{"type":"Err","value":"disk full"}]}`+"\n", id, id)
	req, _ := http.NewRequest("POST", p.base+"/api/1/envelope/", strings.NewReader(body))
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	mails := box.WaitMails(t, 1, 10*time.Second)
	assert.Equal(t, "errlogd@errors.example.com", mails[0].From, p.errText())
	assert.True(t, mails[0].TLS)
	assert.Contains(t, string(mails[0].Data), "Subject: [shop] ERROR: disk full")
	assert.Contains(t, string(mails[0].Data), `Details: <a href=3D"https://err`) // quoted-printable
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
	for (len(box.Mails()) < 1 || issues.Load() < 1) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // two more polls of each process: nothing more may come
	assert.Equal(t, 1, len(box.Mails()), "one mail\n%s%s", a.errText(), b.errText())
	assert.Equal(t, int32(1), issues.Load(), "one issue")
	if mails := box.Mails(); len(mails) > 0 {
		assert.Contains(t, string(mails[0].Data), "disk full")
		assert.Contains(t, string(mails[0].Data), "/dev/error/groups/")
	}
	a.stop(t)
	b.stop(t)
}
