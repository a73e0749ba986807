package examples

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeBlock returns the first fenced code block under the README heading
// (a "## " line), without its fences.
func readmeBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	text := string(b)
	i := strings.Index(text, "\n"+heading+"\n")
	require.GreaterOrEqual(t, i, 0, "the README has no %q section", heading)
	text = text[i:]
	start := strings.Index(text, "```"+lang+"\n")
	require.GreaterOrEqual(t, start, 0, "no ```%s block under %q", lang, heading)
	text = text[start+len("```"+lang+"\n"):]
	end := strings.Index(text, "```")
	require.GreaterOrEqual(t, end, 0)
	return text[:end]
}

// commands returns the command lines of a shell block, comments cut.
func commands(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestReadmeTwoCommands: the README's two commands are the ones that work.
// The test command is the one .ci/run runs; the demo command, run as a
// new user runs it from the repository's root, serves the quickstart,
// whose errors reach its dashboard.
func TestReadmeTwoCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the quickstart")
	}
	cmds := commands(readmeBlock(t, "## The two commands", "sh"))
	require.Len(t, cmds, 2, "two commands: the demo and the tests")
	demo, tests := cmds[0], cmds[1]

	ci, err := os.ReadFile("../.ci/run")
	require.NoError(t, err)
	assert.Contains(t, string(ci), "\n"+tests+"\n", ".ci/run runs the README's test command as written")

	require.Equal(t, "go run ./examples/quickstart", demo)
	// go run, from the repository's root, as the README says; on a port
	// of its own, in a folder of its own for the files it writes.
	port := freePort(t)
	bin := filepath.Join(t.TempDir(), "quickstart")
	build := exec.Command("go", "build", "-o", bin, "./examples/quickstart")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	work := t.TempDir()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:"+port)
	cmd.Dir = work
	cmd.Env = cleanEnv()
	var console lockedBuffer // all it prints; Wait copies the last of it
	cmd.Stderr = &console
	require.NoError(t, cmd.Start())
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	base := "http://127.0.0.1:" + port
	waitUp(t, base+"/")
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/error")
	assert.Equal(t, http.StatusBadGateway, code)
	// The dashboard shows the error once the store has it.
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		if code, body = get("/dev/error/"); code == 200 && strings.Contains(body, "profile unavailable") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Contains(t, body, "profile unavailable", "the demo's error on its dashboard")

	// Ctrl-C ends it cleanly, with its error in the log file and a mail.
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	done := make(chan error, 1)
	waited = true
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "the demo exits 0 on Ctrl-C")
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the demo did not stop on Ctrl-C")
	}
	log, err := os.ReadFile(filepath.Join(work, "quickstart.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "profile unavailable")
	mails, _ := filepath.Glob(filepath.Join(work, "quickstart-mail", "*.eml"))
	assert.NotEmpty(t, mails, "the error was mailed as an .eml file")
	assert.Regexp(t, regexp.MustCompile(`ERR.*profile unavailable`), console.String())
}

// TestReadmeDemoPortTaken: the demo started twice on one port stops with
// its error delivered (the file has it) and status 1, rather than a line
// that never leaves the process.
func TestReadmeDemoPortTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the quickstart")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	bin := filepath.Join(t.TempDir(), "quickstart")
	build := exec.Command("go", "build", "-o", bin, "./examples/quickstart")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", ln.Addr().String())
	cmd.Dir = work
	cmd.Env = cleanEnv()
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	assert.Equal(t, 1, exit.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "address already in use")
	log, err := os.ReadFile(filepath.Join(work, "quickstart.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "quickstart stopped")
	mails, _ := filepath.Glob(filepath.Join(work, "quickstart-mail", "*.eml"))
	assert.NotEmpty(t, mails, "the fatal error was mailed before the exit")
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func waitUp(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

// cleanEnv is the environment without the ERRLOG_ variables of whoever
// runs the tests: the demo runs on its embedded defaults.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ERRLOG_") {
			out = append(out, kv)
		}
	}
	return out
}

// lockedBuffer is a strings.Builder safe to write from the goroutine that
// copies a child's output and read from the test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
