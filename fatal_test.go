package errlog

import (
	"errors"
	"github.com/errlog/errlog/internal/trackertest"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/errlog/errlog/event"
)

// TestFatalDelivers: a program that stops with errlog.Fatal right after
// it starts (a server that cannot listen) exits with status 1 only after
// its error reached the tracker; os.Exit would have lost it in the queue.
func TestFatalDelivers(t *testing.T) {
	trk := trackertest.NewFake(t)
	bin := buildChild(t, "fatal", false)
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(childEnv(cmd.Environ()), "ERRLOG_DSN="+trk.DSN(), "ERRLOG_CONSOLE_COLOR=false")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "child: %v\n%s", err, out)
	assert.Equal(t, 1, exit.ExitCode(), "%s", out)
	assert.NotContains(t, string(out), "errlog.Fatal returned")
	assert.Contains(t, string(out), "server stopped")

	evs := trk.Acked()
	require.Len(t, evs, 1, "the fatal record's event reached the tracker before the exit\n%s", out)
	ev := evs[0]
	assert.Equal(t, event.LevelFatal, ev.Level)
	assert.Equal(t, "server stopped", ev.Message())
	require.NotEmpty(t, ev.Exception)
	assert.Contains(t, ev.Exception[len(ev.Exception)-1].Value, "address already in use")
	// The culprit is the caller of Fatal, not Fatal itself.
	assert.True(t, strings.Contains(ev.Culprit(), "main"), "culprit %q", ev.Culprit())
	assert.NotContains(t, ev.Culprit(), "Fatal")
}
