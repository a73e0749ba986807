package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exchange is one request an SDK sent, and errlogd's answer.
type exchange struct {
	items  []string // the envelope's item types; "store" for the store endpoint's event
	status int
	answer string
}

func (x exchange) String() string {
	return fmt.Sprintf("%v -> %d %s", x.items, x.status, strings.TrimSpace(x.answer))
}

// recorder notes each request's items and errlogd's answer to it.
type recorder struct {
	h  http.Handler
	mu sync.Mutex
	xs []exchange
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	x := exchange{items: itemTypes(r, body)}
	rw := &recordingWriter{ResponseWriter: w, status: http.StatusOK}
	rec.h.ServeHTTP(rw, r)
	x.status, x.answer = rw.status, rw.buf.String()
	rec.mu.Lock()
	rec.xs = append(rec.xs, x)
	rec.mu.Unlock()
}

func (rec *recorder) exchanges() []exchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]exchange(nil), rec.xs...)
}

func itemTypes(r *http.Request, body []byte) []string {
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				body = b
			}
		}
	}
	if r.Method != http.MethodPost {
		return []string{r.Method}
	}
	if strings.Contains(r.URL.Path, "/store") && !strings.Contains(r.Header.Get("Content-Type"), "envelope") {
		return []string{"store"}
	}
	env, err := decode.Envelope(body)
	if err != nil {
		return []string{"unreadable: " + err.Error()}
	}
	var ts []string
	for _, it := range env.Items {
		ts = append(ts, it.Header.Type)
	}
	return ts
}

type recordingWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *recordingWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }
func (w *recordingWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

// recordingServer is sdkServer with each exchange recorded, and the
// handler's Stats at hand.
func recordingServer(t *testing.T) (store.Store, *ingest.Handler, *recorder, string) {
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close(ctx) })
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	h := ingest.New(st, ingest.Options{})
	rec := &recorder{h: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return st, h, rec, fmt.Sprintf("http://%s@%s/%d", p.PublicKey, strings.TrimPrefix(srv.URL, "http://"), p.ID)
}

// runOutput is run, returning what the command printed.
func runOutput(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// linesWith returns the lines of out that hold any of words, in any case.
func linesWith(out string, words ...string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		for _, w := range words {
			if strings.Contains(strings.ToLower(l), strings.ToLower(w)) {
				lines = append(lines, l)
				break
			}
		}
	}
	return lines
}

// checkExchanges checks that errlogd answered every request 200 and
// refused nothing, and that the SDK sent each item type of want.
func checkExchanges(t *testing.T, h *ingest.Handler, rec *recorder, want ...string) {
	t.Helper()
	xs := rec.exchanges()
	seen := map[string]bool{}
	for _, x := range xs {
		assert.Equal(t, http.StatusOK, x.status, "%v", x)
		for _, it := range x.items {
			seen[it] = true
		}
	}
	for _, it := range want {
		assert.True(t, seen[it], "the SDK sent no %s item: %v", it, xs)
	}
	s := h.Stats()
	assert.Zero(t, s.Malformed, "%+v", s)
	assert.Zero(t, s.TooLarge, "%+v", s)
	assert.Zero(t, s.Failed, "%+v", s)
	assert.Zero(t, s.Unauthorized, "%+v", s)
	if t.Failed() {
		t.Logf("exchanges: %v", xs)
	}
}

// storedEvent is the stored JSON of the latest event of the group titled
// title.
func storedEvent(t *testing.T, st store.Store, title string) string {
	t.Helper()
	page, err := st.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	for _, g := range page.Groups {
		if g.Title != title {
			continue
		}
		evs, err := st.GroupEvents(ctx, g.ID, store.EventQuery{})
		require.NoError(t, err)
		require.NotEmpty(t, evs)
		e, err := st.Event(ctx, evs[0].ID)
		require.NoError(t, err)
		return string(e.JSON)
	}
	t.Fatalf("no group %q", title)
	return ""
}

// TestPythonSDKFeatures: the stock Python SDK with what its users switch
// on (tracing, sessions, attachments, local variables, default PII,
// logging breadcrumbs, client reports, debug) reports to errlogd: every
// envelope and event is answered 200, nothing is refused, the SDK logs
// no transport error, and the error events are stored and grouped.
func TestPythonSDKFeatures(t *testing.T) {
	py := pythonSDK(t)
	st, h, rec, dsn := recordingServer(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.py"), []byte(`import logging, os, sentry_sdk
from sentry_sdk import Hub

def before_send(event, hint):
    if event.get("message") == "dropped by before_send":
        return None  # counted in a client report
    return event

sentry_sdk.init(dsn=os.environ["DSN"], release="shop@1.2.3", environment="production",
                traces_sample_rate=1.0, send_default_pii=True, debug=True, max_breadcrumbs=5,
                auto_session_tracking=True, before_send=before_send)
sentry_sdk.set_user({"id": 42, "email": "ann@example.com"})
sentry_sdk.set_tag("tenant", "acme")
sentry_sdk.set_extra("big", 10 ** 400)
log = logging.getLogger("shop.payments")
for i in range(10):
    log.warning("retrying %d", i)

def charge(amount):
    cart = {"items": [1, 2, 3], "nested": {"a": {"b": {"c": {"d": 1}}}}}
    skus, raw, big, nan = {"x", "y"}, b"\x00\xff binary", 10 ** 400, float("nan")
    loop = []
    loop.append(loop)
    raise ValueError("card declined for amount %d" % amount)

def checkout():
    with sentry_sdk.start_transaction(name="checkout", op="task"):
        with sentry_sdk.start_span(op="charge", description="charge card"):
            try:
                charge(120)
            except ValueError:
                sentry_sdk.capture_exception()

hub = Hub.current
hub.start_session(session_mode="application")
try:
    {}["missing"]
except KeyError:
    sentry_sdk.capture_exception()
with sentry_sdk.push_scope() as scope:
    scope.add_attachment(bytes=b"order-id=17\n", filename="order.txt", content_type="text/plain")
    scope.add_attachment(bytes=bytes(range(256)) * 4, filename="dump.bin")
    sentry_sdk.capture_message("stock low", level="warning")
checkout()
sentry_sdk.capture_message("dropped by before_send")
hub.end_session()
sentry_sdk.flush()
hub.client.close()
`), 0o644))
	out := runOutput(t, dir, []string{"DSN=" + dsn}, py, "app.py")
	assert.Empty(t, linesWith(out, "Unexpected status code", "discarded", "[sentry] ERROR", "Internal error"), "the SDK logged a transport error")
	// The store endpoint's event, the event with its attachments, the
	// transaction, the session, the client report of the dropped event.
	checkExchanges(t, h, rec, "store", "event", "attachment", "transaction", "session", "client_report")
	assert.Equal(t, int64(3), h.Stats().Events)
	checkSDKGroups(t, st, map[string]string{
		"KeyError: 'missing'": "__main__.<module> (app.py:",
		"stock low":           "",
		// Raised in a transaction: its name is the culprit, as in Sentry.
		"ValueError: card declined for amount 120": "checkout",
	}, "")
	ev := storedEvent(t, st, "ValueError: card declined for amount 120")
	assert.Contains(t, ev, `"<cyclic>"`, "the frame's local variables")
	assert.Contains(t, ev, `"op":"charge"`, "the span's trace context")
	assert.Contains(t, ev, `"retrying 9"`, "the logging integration's breadcrumbs")
	assert.NotContains(t, ev, `"retrying 4"`, "max_breadcrumbs=5")
	assert.Contains(t, ev, `"big":1`+strings.Repeat("0", 400), "a 401-digit integer in extra, kept")
}

// TestNodeSDKFeatures: the stock Node SDK with what its users switch on
// (tracing with spans around a throw, client reports, sessions, non-Error
// values captured, a cause chain, attachments, cron check-ins, debug)
// reports to errlogd: every envelope is answered 200, nothing is
// refused, the SDK logs no transport error, and every error is stored
// under its own title.
func TestNodeSDKFeatures(t *testing.T) {
	mods := os.Getenv("ERRLOG_TEST_NODE_MODULES")
	_, err := os.Stat(filepath.Join(mods, "node_modules", "@sentry", "node"))
	_, nodeErr := exec.LookPath("node")
	needSDK(t, "@sentry/node (ERRLOG_TEST_NODE_MODULES) and node", mods != "" && err == nil && nodeErr == nil)
	st, h, rec, dsn := recordingServer(t)
	script := filepath.Join(mods, fmt.Sprintf("errlog-features-%d.js", os.Getpid()))
	require.NoError(t, os.WriteFile(script, []byte(`const Sentry = require('@sentry/node');
Sentry.init({dsn: process.env.DSN, release: 'shop@1.2.3', environment: 'production', debug: true,
  tracesSampleRate: 1.0, autoSessionTracking: true, sendDefaultPii: true,
  // counted in a client report (sendClientReports is on by default)
  beforeSend: (event) => event.message === 'dropped by beforeSend' ? null : event});
Sentry.setUser({id: 42});
Sentry.setTag('tenant', 'acme');
function chargeCard(amount) { throw new TypeError('card declined for amount ' + amount); }
Sentry.startSpan({name: 'checkout', op: 'task'}, () => {
  Sentry.startSpan({name: 'charge card', op: 'charge'}, () => {
    try { chargeCard(120); } catch (e) { Sentry.captureException(e); }
  });
});
Sentry.captureException('a plain string was thrown');
Sentry.captureException({code: 'E_CART', detail: 'cart is locked'});
Sentry.captureException(null);
Sentry.captureException(42);
function loadOrder() {
  try { JSON.parse('{bad'); } catch (e) { throw new Error('order unreadable', {cause: e}); }
}
try { loadOrder(); } catch (e) { Sentry.captureException(new RangeError('checkout aborted', {cause: e})); }
Sentry.withScope(scope => {
  scope.addAttachment({filename: 'order.txt', data: 'order-id=17\n'});
  scope.addAttachment({filename: 'dump.bin', data: new Uint8Array([0, 1, 2, 255])});
  Sentry.captureMessage('with attachments', 'error');
});
Sentry.captureMessage('dropped by beforeSend');
const checkInId = Sentry.captureCheckIn({monitorSlug: 'nightly', status: 'in_progress'});
Sentry.captureCheckIn({checkInId, monitorSlug: 'nightly', status: 'ok'},
  {schedule: {type: 'crontab', value: '0 3 * * *'}, checkinMargin: 2, maxRuntime: 10, timezone: 'UTC'});
Sentry.flush(10000).then(() => Sentry.close(10000)).then(() => process.exit(0));
`), 0o644))
	defer os.Remove(script)
	out := runOutput(t, mods, []string{"DSN=" + dsn}, "node", script)
	assert.Empty(t, linesWith(out, "responded with status code", "Error while sending", "Sentry Logger [error]", "Sentry Logger [warn]"), "the SDK logged a transport error")
	checkExchanges(t, h, rec, "event", "attachment", "transaction", "session", "client_report", "check_in")
	assert.Equal(t, int64(7), h.Stats().Events)
	checkSDKGroups(t, st, map[string]string{
		"TypeError: card declined for amount 120": "chargeCard (" + script,
		// Non-Error values: the SDK's synthetic Error, titled as Sentry does.
		"Error: a plain string was thrown":                            "",
		"Error: Object captured as exception with keys: code, detail": "",
		"Error: null":                  "",
		"Error: 42":                    "",
		"RangeError: checkout aborted": "",
		"with attachments":             "",
	}, "")
	ev := storedEvent(t, st, "TypeError: card declined for amount 120")
	assert.Contains(t, ev, `"parent_span_id"`, "the span's trace context")
	ev = storedEvent(t, st, "RangeError: checkout aborted")
	assert.Contains(t, ev, `"order unreadable"`, "the cause")
	assert.Contains(t, ev, `"SyntaxError"`, "the cause's cause")
}
