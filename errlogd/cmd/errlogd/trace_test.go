package main

import (
	"context"
	"errors"
	"github.com/errlog/errlog/tracker"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

type traceKey struct{}

// traceHook is an errlog.Hook that puts a trace from the context in
// events, as github.com/errlog/errlog/otel does from a span.
type traceHook struct{}

func (traceHook) Field(context.Context, string) (string, bool) { return "", false }
func (traceHook) Event(ctx context.Context, _ errlog.HookEvent) map[string]map[string]any {
	if id, ok := ctx.Value(traceKey{}).(string); ok {
		return map[string]map[string]any{"trace": {"trace_id": id, "span_id": "00f067aa0ba902b7"}}
	}
	return nil
}

// TestTraceURL: with ERRLOGD_TRACE_URL, an event's trace is a link on
// the dashboard, and the list finds the event's issue by its trace.
func TestTraceURL(t *testing.T) {
	db := filepath.Join(t.TempDir(), "errlog.db")
	env := []string{"ERRLOGD_ADMIN_PASSWORD=pw", "ERRLOGD_TRACE_URL=https://tempo.example.com/explore?traceId={trace_id}"}
	p := start(t, env, "-addr", "127.0.0.1:0", "-db", db)
	var dsn string
	for deadline := time.Now().Add(5 * time.Second); dsn == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		dsn = dsnLine.FindString(p.outText())
	}
	require.NotEmpty(t, dsn)
	log := errlog.New(errlog.Options{Console: io.Discard, Tracker: &tracker.Options{DSN: dsn}, Hooks: []errlog.Hook{traceHook{}}})
	log.ErrorContext(context.WithValue(context.Background(), traceKey{}, traceID), "traced failure", "err", errors.New("boom"))
	log.Error("untraced failure")
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, log.Handler().(*errlog.Handler).Close(fctx))

	req, _ := http.NewRequest("GET", p.base+"/?trace="+traceID, nil)
	req.SetBasicAuth("admin", "pw")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(page), "traced failure")
	assert.NotContains(t, string(page), "untraced failure")
	assert.Contains(t, string(page), `href="https://tempo.example.com/explore?traceId=`+traceID+`"`)
	p.stop(t)
}

func TestTraceURLRefused(t *testing.T) {
	for _, bad := range []string{"https://tempo.example.com/explore", "tempo.example.com/{trace_id}", "javascript:alert({trace_id})"} {
		db := filepath.Join(t.TempDir(), "e.db")
		cmd := exec.Command(errlogdBin, "-addr", "127.0.0.1:0", "-db", db)
		cmd.Env = append(os.Environ(), "ERRLOGD_TRACE_URL="+bad)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, bad)
		assert.Equal(t, 2, ee.ExitCode(), bad)
		assert.Contains(t, string(out), "ERRLOGD_TRACE_URL", bad)
	}
}
