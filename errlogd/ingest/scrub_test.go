package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScrubberEvent: the values under secret keys are replaced at any
// depth and in every shape SDKs send (objects, [key, value] pairs,
// headers by the header filter, a query's and a form's parameters), and
// nothing else changes: not the other values, not numbers beyond
// float64, not the modules' names.
func TestScrubberEvent(t *testing.T) {
	s := ingest.NewScrubber([]string{"ssn"})
	in := `{"event_id":"0123456789abcdef0123456789abcdef","message":"m","platform":"python",
"exception":{"values":[{"type":"E","value":"boom password=title-kept","stacktrace":{"frames":[{"function":"f","lineno":3,
  "context_line":"    db_password = \"src-secret\"","pre_context":["conn = connect(\"postgres://app:pg-src@db/shop\")"],
  "vars":{"dsn":"'postgres://app:pg-var@db/shop'","note":"a sentence, kept","password":"hunter2","self":{"conn":{"secret_token":{"a":1},"host":"db1"}},"n":123456789012345678901234567890,"x":1.5e300,"empty_pwd":"","masked_pass":"**************"}}]}}]},
"request":{"url":"https://shop/cb?access_token=tok-url&page=2","query_string":"a=1&password=qs-secret&b=2","data":"user=ann&passwd=form-secret",
  "headers":{"Authorization":"Bearer hdr-secret","X-Session":"sess-secret","Accept":"application/json"},
  "cookies":"sessionid=cookie-secret"},
"tags":[["api_key","tag-secret"],["region","eu"]],
"user":{"id":42,"ssn":"078-05-1120"},
"breadcrumbs":{"values":[{"category":"auth","data":{"Authorization":"Basic crumb-secret","status":401}}]},
"extra":{"credentials":{"user":"ann","key":"extra-secret"},"author":"Ann","passenger":"Bob","<b>":"&","cookie_jar":{},"tokens":["[Filtered]",""]},
"_meta":{"request":{"headers":{"Cookie":{"":{"rem":[["!config","x",0,464]]}}}}},
"modules":{"pyjwt":"2.8.0","token-bucket":"1.0"},
"contexts":{"db":{"mysql_pwd":"ctx-secret","name":"shop"}}}`
	out, changed, err := s.Event([]byte(in))
	require.NoError(t, err)
	require.True(t, changed)
	text := string(out)
	for _, secret := range []string{"hunter2", `"a":1`, "tok-url", "qs-secret", "form-secret", "hdr-secret", "sess-secret",
		"cookie-secret", "tag-secret", "078-05-1120", "crumb-secret", "extra-secret", "ctx-secret", "src-secret", "pg-src", "pg-var"} {
		assert.NotContains(t, text, secret)
	}
	var ev map[string]any
	require.NoError(t, json.Unmarshal(out, &ev))
	vars := ev["exception"].(map[string]any)["values"].([]any)[0].(map[string]any)["stacktrace"].(map[string]any)["frames"].([]any)[0].(map[string]any)["vars"].(map[string]any)
	assert.Equal(t, ingest.Filtered, vars["password"])
	assert.Equal(t, ingest.Filtered, vars["self"].(map[string]any)["conn"].(map[string]any)["secret_token"])
	assert.Equal(t, "db1", vars["self"].(map[string]any)["conn"].(map[string]any)["host"])
	assert.Equal(t, "", vars["empty_pwd"], "nothing to hide stays as it was")
	assert.Equal(t, "a sentence, kept", vars["note"])
	assert.Contains(t, text, `"value":"boom password=title-kept"`, "what the group's title is read from stays as it came")
	assert.Equal(t, errlog.DefaultMaskWith, vars["masked_pass"])
	assert.Contains(t, text, `"n":123456789012345678901234567890`)
	assert.Contains(t, text, `"x":1.5e300`)
	req := ev["request"].(map[string]any)
	assert.Equal(t, "https://shop/cb?access_token=[Filtered]&page=2", req["url"])
	assert.Equal(t, "a=1&password=[Filtered]&b=2", req["query_string"])
	assert.Equal(t, map[string]any{"Authorization": ingest.Filtered, "X-Session": ingest.Filtered, "Accept": "application/json"}, req["headers"])
	assert.Equal(t, ingest.Filtered, req["cookies"])
	assert.Equal(t, []any{[]any{"api_key", ingest.Filtered}, []any{"region", "eu"}}, ev["tags"])
	assert.Equal(t, map[string]any{"id": float64(42), "ssn": ingest.Filtered}, ev["user"], "an extra key")
	assert.Equal(t, map[string]any{"credentials": ingest.Filtered, "author": "Ann", "passenger": "Bob", "<b>": "&",
		"cookie_jar": map[string]any{}, "tokens": []any{ingest.Filtered, ""}}, ev["extra"],
		"a whole object under a secret key; whole-word keys matched as words; nothing to hide left as it is")
	assert.Contains(t, text, `"_meta":{"request":{"headers":{"Cookie":{"":{"rem":[["!config","x",0,464]]}}}}}`, "Relay's remarks kept")
	assert.Contains(t, text, `"<b>":"&"`, "not escaped for HTML")
	assert.Equal(t, map[string]any{"pyjwt": "2.8.0", "token-bucket": "1.0"}, ev["modules"])
	assert.Equal(t, map[string]any{"mysql_pwd": ingest.Filtered, "name": "shop"}, ev["contexts"].(map[string]any)["db"])

	plain := []byte(`{"message":"m","extra":{"author":"Ann","n":1}}`)
	out, changed, err = s.Event(plain)
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Equal(t, plain, out)
}

// scrubServer is newServer with errlogd's default scrubbing.
func scrubServer(t *testing.T) *server {
	return newServer(t, ingest.Options{Scrub: ingest.NewScrubber(nil)})
}

// TestScrubStockPythonSDK: Debian's python3-sentry-sdk (1.9.10, before
// the SDK scrubbed anything) sends its frames' local variables, a
// context and extras as they are; errlogd stores them with the secrets
// replaced, and without its Scrubber (the control) the secrets are
// stored, which is what this test would see if scrubbing broke.
func TestScrubStockPythonSDK(t *testing.T) {
	py := pythonSDK(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.py"), []byte(`import os, sentry_sdk
sentry_sdk.init(dsn=os.environ["DSN"])
sentry_sdk.set_context("database", {"host": "db1", "password": "ctx-hunter2"})
sentry_sdk.set_extra("stripe_api_key", "sk_test_extra")

def connect(user):
    db_password = "local-hunter2"
    auth_token = "local-token-abc"
    host = "db1.internal"
    raise ConnectionError("connection refused for %s" % user)

try:
    connect("ann")
except ConnectionError:
    sentry_sdk.capture_exception()
sentry_sdk.flush()
`), 0o644))
	secrets := []string{"ctx-hunter2", "sk_test_extra", "local-hunter2", "local-token-abc"}
	title := "ConnectionError: connection refused for ann"

	control := newServer(t, ingest.Options{})
	run(t, dir, []string{"DSN=" + control.dsn}, py, "app.py")
	ev := storedEvent(t, control.st, title)
	for _, s := range secrets {
		require.Contains(t, ev, s, "the SDK sends it, and errlogd without a Scrubber stores it")
	}

	s := scrubServer(t)
	run(t, dir, []string{"DSN=" + s.dsn}, py, "app.py")
	ev = storedEvent(t, s.st, title)
	for _, secret := range secrets {
		assert.NotContains(t, ev, secret)
	}
	assert.Contains(t, ev, `"db_password":"[Filtered]"`)
	assert.Contains(t, ev, `"host":"'db1.internal'"`, "the other variables as sent")
	assert.Contains(t, ev, `"user":"'ann'"`)
	assert.Equal(t, int64(1), s.h.Stats().Scrubbed)
	gs := s.groups(t)
	require.Len(t, gs, 1)
	assert.Equal(t, title, gs[0].Title)
}

// TestScrubLeavesErrlogEvents: errlog's client masks before it sends, as
// its MaskOptions say; errlogd stores its events as sent, without
// decoding them again, even when they hold a masked key.
func TestScrubLeavesErrlogEvents(t *testing.T) {
	s := scrubServer(t)
	log := errlog.New(errlog.Options{Console: io.Discard, Tracker: &tracker.Options{DSN: s.dsn}})
	log.Error("login failed", "password", "hunter2", "user", "ann")
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, log.Handler().(*errlog.Handler).Close(flushCtx))
	assert.Equal(t, int64(1), s.events(t))
	assert.Zero(t, s.h.Stats().Scrubbed)
	ev := storedEvent(t, s.st, "login failed")
	assert.NotContains(t, ev, "hunter2")
	assert.Contains(t, ev, errlog.DefaultMaskWith, "masked by the client")
	assert.NotContains(t, ev, ingest.Filtered)

	// The same key from another SDK is scrubbed.
	body := `{"event_id":"0123456789abcdef0123456789abcdef","message":"login failed","platform":"node","sdk":{"name":"sentry.javascript.node","version":"8.55.2"},"extra":{"password":"hunter2"}}`
	resp := post(t, s.url("store"), []byte(body), s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(1), s.h.Stats().Scrubbed)
	found := false
	page, err := s.st.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	for _, g := range page.Groups {
		evs, err := s.st.GroupEvents(ctx, g.ID, store.EventQuery{})
		require.NoError(t, err)
		for _, e := range evs {
			full, err := s.st.Event(ctx, e.ID)
			require.NoError(t, err)
			assert.NotContains(t, string(full.JSON), "hunter2")
			found = found || strings.Contains(string(full.JSON), `"password":"[Filtered]"`)
		}
	}
	assert.True(t, found)
}

// TestScrubRequestValues: a stock SDK's event whose only secret is in its
// request's values (a query's access_token, a form's password) is
// scrubbed; one whose request only mentions a word ("sort=token") is
// stored as sent, its SDK's gzip kept.
func TestScrubRequestValues(t *testing.T) {
	s := scrubServer(t)
	send := func(id, request string) {
		body := `{"event_id":"` + id + `","message":"checkout failed","platform":"node","sdk":{"name":"sentry.javascript.node","version":"8.55.2"},"request":` + request + `}`
		resp := post(t, s.url("store"), []byte(body), s.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	send("11111111111111111111111111111111", `{"url":"https://shop/cb","query_string":"code=7&access_token=tok-secret&state=s"}`)
	send("22222222222222222222222222222222", `{"url":"https://shop/login","method":"POST","data":"user=ann&password=form-secret"}`)
	send("33333333333333333333333333333333", `{"url":"https://shop/api/tokens","query_string":"sort=token&page=2"}`)
	// A URL's password, which no name announces (a review found it
	// stored, shown and mailed as sent), its slashes escaped or not; a
	// user and a port without one stay.
	send("44444444444444444444444444444444", `{"url":"https://admin:url-secret@internal.example/x","method":"GET"}`)
	send("55555555555555555555555555555555", `{"url":"https:\/\/admin:esc-secret@internal.example\/x"}`)
	send("66666666666666666666666666666666", `{"url":"https://deploy@internal.example:8443/x"}`)
	assert.Equal(t, int64(6), s.events(t))
	assert.Equal(t, int64(4), s.h.Stats().Scrubbed)
	byID := map[string]string{}
	for _, id := range []string{"11111111111111111111111111111111", "22222222222222222222222222222222", "33333333333333333333333333333333",
		"44444444444444444444444444444444", "55555555555555555555555555555555", "66666666666666666666666666666666"} {
		e, err := s.st.EventByEventID(ctx, s.p.ID, id)
		require.NoError(t, err)
		byID[id] = string(e.JSON)
	}
	assert.Contains(t, byID["11111111111111111111111111111111"], `"query_string":"code=7&access_token=[Filtered]&state=s"`)
	assert.Contains(t, byID["22222222222222222222222222222222"], `"data":"user=ann&password=[Filtered]"`)
	assert.Contains(t, byID["33333333333333333333333333333333"], `"query_string":"sort=token&page=2"`)
	for id, secret := range map[string]string{"44444444444444444444444444444444": "url-secret", "55555555555555555555555555555555": "esc-secret"} {
		assert.NotContains(t, byID[id], secret)
		assert.Contains(t, byID[id], "admin:[Filtered]@internal.example")
	}
	assert.Contains(t, byID["66666666666666666666666666666666"], `"url":"https://deploy@internal.example:8443/x"`)
}

// TestScrubReviewedShapes: the shapes a review found stored as sent. A
// feedback item's own event; a header only errlog's header filter names;
// tags sent as pairs; pairs written with spaces; an escape in a query's
// name; strings under keys named like the title's (a frame variable called
// "value", a breadcrumb's "message") once the event is flagged; headers
// sent as one string. And what must stay: an exception's value, a .NET
// frame's package with its PublicKeyToken.
func TestScrubReviewedShapes(t *testing.T) {
	s := scrubServer(t)
	n := 0
	storeJSON := func(body string) string {
		t.Helper()
		n++
		id := fmt.Sprintf("%032x", n)
		body = strings.Replace(body, "{", `{"event_id":"`+id+`","platform":"other","sdk":{"name":"sentry.other","version":"1"},`, 1)
		resp := post(t, s.url("store"), []byte(body), s.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		e, err := s.st.EventByEventID(ctx, s.p.ID, id)
		require.NoError(t, err)
		return string(e.JSON)
	}
	for _, c := range []struct{ body, secret, kept string }{
		{`{"message":"m","request":{"url":"https://f/x","headers":{"X-Functions-Key":"S1-secret","Accept":"*/*"}}}`, "S1-secret", `"Accept":"*/*"`},
		{`{"message":"m","tags":[["api_key","S2-secret"],["region","eu"]]}`, "S2-secret", `["region","eu"]`},
		{`{"message":"m","request":{"headers":[ [ "Authorization" , "Bearer S3-secret" ] ]}}`, "S3-secret", `"m"`},
		{`{"message":"m","request":{"query_string":"pass\u0077ord=S4-secret"}}`, "S4-secret", `"m"`},
		{`{"message":"m","request":{"headers":"Authorization: Bearer S5secretS5secretS5\nAccept: */*"}}`, "S5secretS5secretS5", `Accept: */*`},
		{`{"extra":{"password":"p"},"exception":{"values":[{"type":"E","value":"boom at postgres://u:kept@db","stacktrace":{"frames":[
			{"function":"f","package":"Shop, Version=1.0.0.0, PublicKeyToken=7cec85d7bea7798e","vars":{"value":"'postgres://u:S6-secret@db/x'"}}]}}]},
		  "breadcrumbs":{"values":[{"message":"GET https://api/x?access_token=S6-secret"}]}}`, "S6-secret", `PublicKeyToken=7cec85d7bea7798e`},
	} {
		ev := storeJSON(c.body)
		assert.NotContains(t, ev, c.secret, c.body)
		assert.Contains(t, ev, c.kept, c.body)
	}
	assert.Contains(t, storeJSON(`{"extra":{"password":"p"},"exception":{"values":[{"type":"E","value":"boom at postgres://u:kept@db"}]}}`),
		`"value":"boom at postgres://u:kept@db"`, "an exception's value is what the title is read from")

	// A feedback item's own event, as @sentry/browser sends one.
	fb := `{"type":"feedback","event_id":"` + event.NewID() + `","contexts":{"feedback":{"message":"the pay button fails","url":"https://shop/pay?token=S7-secret"}},` +
		`"request":{"headers":{"Authorization":"Bearer S7-secret"}},"extra":{"api_key":"S7-secret"}}`
	resp := post(t, s.url("envelope"), envelope(`{}`, `{"type":"feedback"}`, fb), s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ev := storedEvent(t, s.st, "User feedback: the pay button fails")
	assert.NotContains(t, ev, "S7-secret")
	var url string
	require.NoError(t, s.st.Pool().QueryRow(`SELECT url FROM feedback`).Scan(&url))
	assert.Equal(t, "https://shop/pay?token=[Filtered]", url)
}
