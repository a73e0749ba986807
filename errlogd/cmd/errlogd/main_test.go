package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errlogdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "errlogd-test")
	if err != nil {
		panic(err)
	}
	errlogdBin = filepath.Join(dir, "errlogd")
	// Built as the container image is (docs/operations.md): static,
	// without cgo (TestStaticBinary checks it).
	build := exec.Command("go", "build", "-o", errlogdBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running errlogd.
type proc struct {
	cmd    *exec.Cmd
	base   string // http://host:port/dev/error
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan error
}

var listening = regexp.MustCompile(`listening on (http://[^ ]+?)/ `)

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(errlogdBin, args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	outR, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	errR, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	addr := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(errR)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() {
		wg.Wait()
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
		}
	})
	select {
	case p.base = <-addr:
	case err := <-p.done:
		t.Fatalf("errlogd exited: %v\n%s", err, p.errText())
	case <-time.After(20 * time.Second):
		t.Fatalf("errlogd did not start:\n%s", p.errText())
	}
	return p
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *proc) outText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, p.errText())
	case <-time.After(30 * time.Second):
		t.Fatal("errlogd did not stop on SIGTERM")
	}
	assert.Contains(t, p.errText(), "errlogd: stopped")
}

func (p *proc) api(t *testing.T, path string, out any) {
	t.Helper()
	req, err := http.NewRequest("GET", p.base+"/api"+path, nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", "pw")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(b))
	require.NoError(t, json.Unmarshal(b, out))
}

type groupList struct {
	Groups []struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
		Count int64  `json:"count"`
	} `json:"groups"`
	Next string `json:"next"`
}

var dsnLine = regexp.MustCompile(`http://[0-9a-f]{32}@\S+/dev/error/\d+`)

// TestServeLifecycle: first start prints a DSN; errlog's tracker and
// errlogd test report to it; SIGTERM lets an in-flight request finish
// and closes the store; a restart keeps everything.
func TestServeLifecycle(t *testing.T) {
	db := filepath.Join(t.TempDir(), "errlog.db")
	env := []string{"ERRLOGD_ADMIN_PASSWORD=pw"}
	p := start(t, env, "-addr", "127.0.0.1:0", "-db", db)
	var dsn string
	for deadline := time.Now().Add(5 * time.Second); dsn == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		dsn = dsnLine.FindString(p.outText())
	}
	require.NotEmpty(t, dsn, "first start prints the DSN: %q", p.outText())

	log := errlog.New(errlog.Options{Console: io.Discard, Tracker: &tracker.Options{DSN: dsn}})
	for i := 0; i < 3; i++ {
		log.Error("lifecycle failure", "err", errors.New("boom"))
	}
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, log.Handler().(*errlog.Handler).Close(fctx))

	out, err := exec.Command(errlogdBin, "test", "-dsn", dsn).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "accepted the test event")
	assert.NotContains(t, string(out), dsn[7:39], "the key is not printed")

	var gl groupList
	p.api(t, "/groups?sort=count", &gl)
	require.Len(t, gl.Groups, 2)
	assert.Equal(t, int64(3), gl.Groups[0].Count)

	// An in-flight request whose body is still arriving when SIGTERM
	// comes is finished and stored.
	pr, pw := io.Pipe()
	key := dsn[7:39]
	req, _ := http.NewRequest("POST", strings.Replace(p.base, "/dev/error", "", 1)+"/dev/error/api/1/envelope/", pr)
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+key)
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			respc <- nil
			return
		}
		respc <- resp
	}()
	id := event.NewID()
	io.WriteString(pw, `{"event_id":"`+id+`"}`+"\n")
	time.Sleep(200 * time.Millisecond) // the request is in flight
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(200 * time.Millisecond)
	io.WriteString(pw, `{"type":"event"}`+"\n"+`{"message":"in flight at shutdown","event_id":"`+id+`"}`+"\n")
	pw.Close()
	resp := <-respc
	require.NotNil(t, resp)
	assert.Equal(t, 200, resp.StatusCode)
	resp.Body.Close()
	select {
	case err := <-p.done:
		require.NoError(t, err, p.errText())
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	assert.Contains(t, p.errText(), "errlogd: stopped")

	p2 := start(t, env, "-addr", "127.0.0.1:0", "-db", db)
	assert.Empty(t, dsnLine.FindString(p2.outText()), "no new project on restart")
	p2.api(t, "/groups?sort=count", &gl)
	require.Len(t, gl.Groups, 3, "restart keeps everything")
	assert.Equal(t, int64(3), gl.Groups[0].Count)
	var ev map[string]any
	p2.api(t, "/events/"+id, &ev)
	assert.Equal(t, "in flight at shutdown", ev["message"])

	// The dashboard is mounted at the prefix: a login form for a stranger,
	// the issue list for the admin.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(p2.base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Location"), "/dev/error/login")
	req, _ = http.NewRequest("GET", p2.base+"/", nil)
	req.SetBasicAuth("admin", "pw")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(page), "lifecycle failure")
	// Sentry endpoints errlogd does not implement say so, plainly.
	for _, ep := range []string{"minidump", "security", "unreal", "unreal/" + key, "csp-report"} {
		resp, err = http.Post(p2.base+"/api/1/"+ep+"/?sentry_key="+key, "application/octet-stream", strings.NewReader("x"))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, ep)
		assert.Contains(t, resp.Header.Get("X-Sentry-Error"), "errlogd does not support", ep)
	}
	p2.stop(t)
}

func TestRefusesNonLoopbackWithoutPassword(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	cmd := exec.Command(errlogdBin, "-addr", "0.0.0.0:0", "-db", db)
	cmd.Env = append(os.Environ(), "ERRLOGD_ADMIN_PASSWORD=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "ERRLOGD_ADMIN_PASSWORD")
	_, statErr := os.Stat(db)
	assert.True(t, os.IsNotExist(statErr), "refused before creating the store")

	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "0.0.0.0:0", "-db", db)
	p.stop(t)
}

func TestProjectCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	createStore(t, db)
	out, err := exec.Command(errlogdBin, "project", "add", "web", "-db", db, "-public-url", "https://errors.example.com").Output()
	require.NoError(t, err, string(out))
	assert.Regexp(t, `^https://[0-9a-f]{32}@errors\.example\.com/dev/error/1\n$`, string(out))
	out, err = exec.Command(errlogdBin, "project", "add", "api", "-db", db).CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command(errlogdBin, "project", "list", "-db", db).Output()
	require.NoError(t, err, string(out))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 2)
	assert.Regexp(t, `^1\tweb\thttp://[0-9a-f]{32}@127\.0\.0\.1:8131/dev/error/1$`, lines[0])
	assert.Contains(t, lines[1], "\tapi\t")
	out, err = exec.Command(errlogdBin, "project", "set", "2", "-rate-limit", "120", "-in-app", "github.com/acme/,example.com/x", "-disabled", "-db", db).Output()
	require.NoError(t, err, string(out))
	assert.Equal(t, "2\tapi\trate limit 120/min\tin-app [\"github.com/acme/\" \"example.com/x\"]\tdisabled true\n", string(out))
	out, err = exec.Command(errlogdBin, "project", "set", "2", "-disabled=false", "-db", db).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "rate limit 120/min", "unset flags keep their values")
	assert.Contains(t, string(out), "disabled false")
	err = exec.Command(errlogdBin, "project", "set", "99", "-db", db).Run()
	var ee1 *exec.ExitError
	require.ErrorAs(t, err, &ee1)
	err = exec.Command(errlogdBin, "project", "frob").Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	out, _ = exec.Command(errlogdBin, "-h").CombinedOutput()
	for _, s := range []string{"-addr", "-db", "-prefix", "ERRLOGD_ADMIN_PASSWORD", "ERRLOGD_DB", "project add", "bench"} {
		assert.Contains(t, string(out), s)
	}
}

// TestTwoProcessesPostgres: two errlogd processes on one PostgreSQL
// database take 10,000 events at once (plus resends of 1,000 of them to
// the other process); every count is exact and each key has one group.
func TestTwoProcessesPostgres(t *testing.T) {
	dbURL := pgtest.URL(t)
	createStore(t, dbURL)
	out, err := exec.Command(errlogdBin, "project", "add", "app", "-db", dbURL).CombinedOutput()
	require.NoError(t, err, string(out))
	key := regexp.MustCompile(`[0-9a-f]{32}`).FindString(string(out))
	env := []string{"ERRLOGD_ADMIN_PASSWORD=pw"}
	a := start(t, env, "-addr", "127.0.0.1:0", "-db", dbURL)
	b := start(t, env, "-addr", "127.0.0.1:0", "-db", dbURL)

	const total, groups, workers = 10000, 50, 8
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * workers}}
	ids := make([]string, total)
	for i := range ids {
		ids[i] = event.NewID()
	}
	send := func(base string, i int) error {
		body := fmt.Sprintf(`{"event_id":%q}`+"\n"+`{"type":"event"}`+"\n"+
			`{"event_id":%q,"level":"error","exception":[{"type":"Err%d","value":"failure %d","stacktrace":{"frames":[{"function":"f%d","module":"app","in_app":true}]}}]}`+"\n",
			ids[i], ids[i], i%groups, i, i%groups)
		req, _ := http.NewRequest("POST", base+"/api/1/envelope/", strings.NewReader(body))
		req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("event %d: status %d", i, resp.StatusCode)
		}
		return nil
	}
	work := make(chan int)
	errs := make(chan error, 2*workers)
	var wg sync.WaitGroup
	for w := 0; w < 2*workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				base := a.base
				if i%2 == 1 {
					base = b.base
				}
				if err := send(base, i%total); err != nil {
					errs <- err
					return
				}
				if i < 1000 { // resend to the other process
					other := b.base
					if base == b.base {
						other = a.base
					}
					if err := send(other, i); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	start := time.Now()
	for i := 0; i < total; i++ {
		select {
		case work <- i:
		case err := <-errs:
			t.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	t.Logf("%d events (+1000 resends) through two processes in %v", total, time.Since(start))

	// Counts may be owed a moment after the last answer (docs/store.md).
	counted := func(p *proc) bool {
		var gl groupList
		p.api(t, "/groups?limit=500", &gl)
		for _, g := range gl.Groups {
			if g.Count != int64(total/groups) {
				return false
			}
		}
		return true
	}
	require.Eventually(t, func() bool { return counted(a) && counted(b) }, 5*time.Second, 20*time.Millisecond)
	for _, p := range []*proc{a, b} {
		var gl groupList
		p.api(t, "/groups?limit=500", &gl)
		require.Len(t, gl.Groups, groups, "one group per key")
		for _, g := range gl.Groups {
			assert.Equal(t, int64(total/groups), g.Count, g.Title)
		}
		var st struct{ Events, Groups int64 }
		p.api(t, "/stats", &st)
		assert.Equal(t, int64(total), st.Events)
	}
	// Titles changed with every event, in both processes at once: the
	// search index caught up without an error (a deadlock would be
	// printed), and a search finds each group by its current title.
	var gl groupList
	a.api(t, "/groups?limit=500", &gl)
	for _, g := range gl.Groups[:5] {
		var found groupList
		b.api(t, "/groups?q="+url.QueryEscape(g.Title), &found)
		if assert.Len(t, found.Groups, 1, g.Title) {
			assert.Equal(t, g.ID, found.Groups[0].ID)
		}
	}
	a.stop(t)
	b.stop(t)
	for _, p := range []*proc{a, b} {
		p.mu.Lock()
		assert.NotContains(t, p.stderr.String(), "catch up")
		assert.NotContains(t, p.stderr.String(), "errlogd: errlog: store")
		p.mu.Unlock()
	}
}

// Refusing a public address without a password names the address as
// given: 0.0.0.0:PORT, not the listener's "[::]:PORT".
func TestServeRefusesPublicAddressAsGiven(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-addr", "0.0.0.0:0", "-db", filepath.Join(t.TempDir(), "e.db")}, func(string) string { return "" }, &out, &errb)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errb.String(), "errlogd: refusing to listen on 0.0.0.0:0, not a loopback address, without ERRLOGD_ADMIN_PASSWORD")
}

// Every document errlogd -h points to exists, with the section it names:
// it pointed at "README: Alerts", a section the README does not have.
func TestUsageReferencesExist(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	refs := regexp.MustCompile(`\((README|docs/[\w.-]+\.md)(?:: ([^)]+))?\)`).FindAllStringSubmatch(usageText, -1)
	require.NotEmpty(t, refs)
	for _, r := range refs {
		file := r[1]
		if file == "README" {
			file = "README.md"
		}
		doc, err := os.ReadFile(filepath.Join(root, file))
		if !assert.NoError(t, err, "errlogd -h points to %s", r[0]) {
			continue
		}
		if r[2] != "" {
			assert.Regexp(t, `(?m)^#+ `+regexp.QuoteMeta(r[2])+`$`, string(doc), "errlogd -h points to %s: no such heading", r[0])
		}
	}
}

// A blank admin password is none: a public address is refused; a short
// one on a public address is said to be weak, and errlogd still starts.
func TestServeAdminPasswordStrength(t *testing.T) {
	var out, errb bytes.Buffer
	blank := func(k string) string {
		if k == "ERRLOGD_ADMIN_PASSWORD" {
			return "   "
		}
		return ""
	}
	code := run(context.Background(), []string{"-addr", "0.0.0.0:0", "-db", filepath.Join(t.TempDir(), "e.db")}, blank, &out, &errb)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errb.String(), "ERRLOGD_ADMIN_PASSWORD is blank")
	assert.Contains(t, errb.String(), "refusing to listen on 0.0.0.0:0")

	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=hunter2"}, "-addr", "0.0.0.0:0", "-db", filepath.Join(t.TempDir(), "e.db"))
	defer p.stop(t)
	assert.Contains(t, p.errText(), "ERRLOGD_ADMIN_PASSWORD has 7 characters, and anyone who reaches 0.0.0.0:0 may try it")
}
