package ingest_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needSDK skips a test whose SDK is not installed, or fails it in CI
// (.ci/run installs them).
func needSDK(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI=true: .ci/run installs it", what)
	}
	t.Skipf("%s is not installed (.ci/run installs it)", what)
}

// sdkServer is errlogd's ingest over a fresh SQLite store.
func sdkServer(t *testing.T) (store.Store, *store.Project, string) {
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close(ctx) })
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	srv := httptest.NewServer(ingest.New(st, ingest.Options{}))
	t.Cleanup(srv.Close)
	return st, p, fmt.Sprintf("http://%s@%s/%d", p.PublicKey, strings.TrimPrefix(srv.URL, "http://"), p.ID)
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	runOutput(t, dir, env, name, args...)
}

// storedForms counts the forms in which a store holds its events'
// payloads: the SDK's own gzip kept (of an envelope, or of the JSON posted
// to the store endpoint) or compressed by errlogd (zstd).
func storedForms(t *testing.T, st store.Store) map[string]int {
	t.Helper()
	rows, err := st.(*sqlite.Store).Pool().Query(`SELECT payload FROM events`)
	require.NoError(t, err)
	defer rows.Close()
	forms := map[string]int{}
	for rows.Next() {
		var b []byte
		require.NoError(t, rows.Scan(&b))
		switch {
		case bytes.HasPrefix(b, []byte("\x00env")):
			forms["envelope gzip"]++
		case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
			forms["json gzip"]++
		case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			forms["zstd"]++
		default:
			forms["other"]++
		}
	}
	require.NoError(t, rows.Err())
	return forms
}

// checkSDKGroups checks what a stock SDK's script (below) left in the
// store: the exception with its culprit, the message events with their
// params filled in, the integer user id, the tag, feedback when sent.
func checkSDKGroups(t *testing.T, st store.Store, want map[string]string, feedback string) {
	page, err := st.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	got := map[string]store.Group{}
	for _, g := range page.Groups {
		got[g.Title] = g
	}
	for title, culprit := range want {
		g, ok := got[title]
		if !assert.True(t, ok, "no group %q in %v", title, page.Groups) {
			continue
		}
		if culprit != "" {
			assert.Contains(t, g.Culprit, culprit, title)
		}
		assert.Equal(t, int64(1), g.Users, "%s: the user with id 42", title)
		evs, err := st.GroupEvents(ctx, g.ID, store.EventQuery{})
		require.NoError(t, err)
		e, err := st.Event(ctx, evs[0].ID)
		require.NoError(t, err)
		assert.Contains(t, string(e.JSON), `"tenant"`, title)
		if feedback != "" && strings.HasPrefix(title, "TypeError") {
			fb, err := st.GroupFeedback(ctx, g.ID, 0)
			require.NoError(t, err)
			if assert.Len(t, fb, 1) {
				assert.Equal(t, feedback, fb[0].Comments)
			}
		}
	}
}

// pythonSDK is a python3 that imports sentry_sdk (Debian's
// python3-sentry-sdk); without one the test is skipped, or fails in CI.
func pythonSDK(t *testing.T) string {
	py := ""
	for _, c := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(c, "-c", "import sentry_sdk").Run() == nil {
			py = c
			break
		}
	}
	needSDK(t, "python3-sentry-sdk", py != "")
	return py
}

// TestPythonSDK: the stock Python SDK (Debian's python3-sentry-sdk)
// reports to errlogd.
func TestPythonSDK(t *testing.T) {
	py := pythonSDK(t)
	st, _, dsn := sdkServer(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.py"), []byte(`import logging, os, sentry_sdk
sentry_sdk.init(dsn=os.environ["DSN"], release=42, environment="production")
sentry_sdk.set_user({"id": 42})
sentry_sdk.set_tag("tenant", "acme")
log = logging.getLogger("shop.payments")

def charge(amount):
    raise ValueError("card declined for amount %d" % amount)

def checkout():
    try:
        charge(120)
    except ValueError as e:
        raise RuntimeError("checkout failed") from e

try:
    checkout()
except Exception:
    sentry_sdk.capture_exception()
log.error("charge %s failed for user %s", "ch_1", "ann")
log.error("%(op)s failed", {"op": "refund"})
sentry_sdk.flush()
`), 0o644))
	run(t, dir, []string{"DSN=" + dsn}, py, "app.py")
	checkSDKGroups(t, st, map[string]string{
		"RuntimeError: checkout failed":   "checkout (app.py:14)",
		"charge ch_1 failed for user ann": "",
		"refund failed":                   "",
	}, "")
	// This SDK gzips each event and posts it to the store endpoint: kept
	// as it came, and read back above.
	assert.Equal(t, map[string]int{"json gzip": 3}, storedForms(t, st))
}

// TestNodeSDK: the stock Node SDK (@sentry/node from npm, in the folder
// ERRLOG_TEST_NODE_MODULES names) reports to errlogd, feedback included.
func TestNodeSDK(t *testing.T) {
	mods := os.Getenv("ERRLOG_TEST_NODE_MODULES")
	_, err := os.Stat(filepath.Join(mods, "node_modules", "@sentry", "node"))
	_, nodeErr := exec.LookPath("node")
	needSDK(t, "@sentry/node (ERRLOG_TEST_NODE_MODULES) and node", mods != "" && err == nil && nodeErr == nil)
	st, _, dsn := sdkServer(t)
	script := filepath.Join(mods, fmt.Sprintf("errlog-test-%d.js", os.Getpid()))
	require.NoError(t, os.WriteFile(script, []byte(`const Sentry = require('@sentry/node');
Sentry.init({dsn: process.env.DSN, release: 42, environment: 'production', sendClientReports: false});
Sentry.setUser({id: 42});
Sentry.setTag('tenant', 'acme');
function chargeCard(amount) { throw new TypeError('card declined for amount ' + amount); }
let id;
try { chargeCard(120); } catch (e) { id = Sentry.captureException(e); }
Sentry.captureMessage('cart emptied', 'warning');
// Over 32 KiB, the SDK gzips the envelope.
Sentry.withScope(scope => {
  scope.setExtra('log', Array.from({length: 800}, (_, i) => 'line ' + i + ': request handled in ' + (i % 97) + ' ms by worker ' + (i % 7)));
  Sentry.captureMessage('nightly report failed');
});
if (Sentry.captureFeedback) Sentry.captureFeedback({message: 'the pay button does nothing', name: 'Ann', associatedEventId: id});
Sentry.flush(10000).then(() => process.exit(0));
`), 0o644))
	defer os.Remove(script)
	run(t, mods, []string{"DSN=" + dsn}, "node", script)
	checkSDKGroups(t, st, map[string]string{
		"TypeError: card declined for amount 120": "chargeCard (" + script,
		"cart emptied":          "",
		"nightly report failed": "",
	}, "the pay button does nothing")
	// The large event's gzipped envelope is kept as it came and read back
	// whole; the small ones came uncompressed.
	forms := storedForms(t, st)
	assert.Equal(t, 1, forms["envelope gzip"], "%v", forms)
	assert.Equal(t, 0, forms["other"], "%v", forms)
	page, err := st.ListGroups(ctx, store.GroupQuery{Text: "nightly report"})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	evs, err := st.GroupEvents(ctx, page.Groups[0].ID, store.EventQuery{})
	require.NoError(t, err)
	e, err := st.Event(ctx, evs[0].ID)
	require.NoError(t, err)
	assert.Contains(t, string(e.JSON), "line 799: request handled in 23 ms by worker 1")
}
