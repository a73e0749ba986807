package ingest_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nodeScrubApp is a Node app as they are written: its secrets come from
// its environment, go to the SDK in a context, an extra and a tag, and
// come with the request its http server fails on (a token in the query,
// a bearer token, a session cookie), which @sentry/node 8 sends whole
// with sendDefaultPii. The secrets are not in the source, so the event's
// source lines hold none: each one reaches errlogd in the field it was
// given to.
const nodeScrubApp = `const Sentry = require('@sentry/node');
Sentry.init({dsn: process.env.DSN, sendDefaultPii: true, sendClientReports: false});
const http = require('http');
const env = process.env;
Sentry.setContext('database', {host: 'db1', name: 'shop', password: env.DB_PASSWORD});
Sentry.setExtra('stripeApiKey', env.STRIPE_API_KEY);
Sentry.setExtra('cartSize', 3);
Sentry.setTag('tenant', 'acme');
Sentry.setTag('session_id', env.SESSION_ID);
function chargeCard(amount) { throw new TypeError('card declined for amount ' + amount); }
const server = http.createServer((req, res) => {
  try { chargeCard(120); } catch (e) { Sentry.captureException(e); }
  res.statusCode = 500;
  res.end('payment failed');
});
server.listen(0, '127.0.0.1', () => {
  const req = http.get({host: '127.0.0.1', port: server.address().port,
    path: '/checkout/pay?access_token=' + env.ACCESS_TOKEN + '&cart=17',
    headers: {Authorization: 'Bearer ' + env.BEARER_TOKEN, Cookie: 'sessionid=' + env.SESSION_COOKIE + '; theme=dark'}}, (res) => {
    res.resume();
    res.on('end', () => {
      server.close();
      Sentry.flush(10000).then(() => Sentry.close(10000)).then(() => process.exit(0));
    });
  });
  req.on('error', (e) => { console.error('request failed:', e); process.exit(1); });
});
`

// TestScrubStockNodeSDK: the stock Node SDK (@sentry/node 8.55.2) sends
// what a Node app gave it (a context's password, an extra's API key, a
// tag's session id) and the request its http server failed on (the
// query's access_token, the Authorization and Cookie headers, the
// cookies parsed) as they are; errlogd stores them replaced, the other
// values and the event's group as sent. Without its Scrubber (the
// control) errlogd stores every secret, which is what this test would
// see if scrubbing broke.
func TestScrubStockNodeSDK(t *testing.T) {
	mods := os.Getenv("ERRLOG_TEST_NODE_MODULES")
	_, err := os.Stat(filepath.Join(mods, "node_modules", "@sentry", "node"))
	_, nodeErr := exec.LookPath("node")
	needSDK(t, "@sentry/node (ERRLOG_TEST_NODE_MODULES) and node", mods != "" && err == nil && nodeErr == nil)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(mods, "node_modules"), filepath.Join(dir, "node_modules")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.js"), []byte(nodeScrubApp), 0o644))

	secrets := map[string]string{
		"DB_PASSWORD":    "pg-pass-Zq81x",
		"STRIPE_API_KEY": "sk_live_51HxQf2Stripe",
		"SESSION_ID":     "tag-sess-7c41",
		"ACCESS_TOKEN":   "url-tok-9f3e2",
		"BEARER_TOKEN":   "hdr-bearer-ae77",
		"SESSION_COOKIE": "cookie-sess-5b90",
	}
	env := func(dsn string) []string {
		e := []string{"DSN=" + dsn}
		for k, v := range secrets {
			e = append(e, k+"="+v)
		}
		return e
	}
	const title = "TypeError: card declined for amount 120"
	sdkRun := func(s *server) map[string]any {
		t.Helper()
		out := runOutput(t, dir, env(s.dsn), "node", "app.js")
		assert.Empty(t, linesWith(out, "responded with status code", "Error while sending", "Sentry Logger [error]", "Sentry Logger [warn]"), "the SDK logged a transport error")
		assert.Equal(t, int64(1), s.h.Stats().Events)
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(storedEvent(t, s.st, title)), &ev))
		return ev
	}
	// where is where the SDK puts each secret, read from a stored event.
	where := func(ev map[string]any) map[string]any {
		req, _ := ev["request"].(map[string]any)
		headers, _ := req["headers"].(map[string]any)
		return map[string]any{
			"contexts.database.password":    jsonAt(ev, "contexts", "database", "password"),
			"extra.stripeApiKey":            jsonAt(ev, "extra", "stripeApiKey"),
			"tags.session_id":               jsonAt(ev, "tags", "session_id"),
			"request.url":                   req["url"],
			"request.query_string":          req["query_string"],
			"request.headers.authorization": headers["authorization"],
			"request.headers.cookie":        headers["cookie"],
			"request.cookies":               req["cookies"],
		}
	}

	control := newServer(t, ingest.Options{})
	ev := sdkRun(control)
	raw := storedEvent(t, control.st, title)
	for name, s := range secrets {
		require.Contains(t, raw, s, "the SDK sends %s, and errlogd without a Scrubber stores it", name)
	}
	got := where(ev)
	require.Equal(t, secrets["DB_PASSWORD"], got["contexts.database.password"])
	require.Equal(t, secrets["STRIPE_API_KEY"], got["extra.stripeApiKey"])
	require.Equal(t, secrets["SESSION_ID"], got["tags.session_id"])
	require.Contains(t, got["request.url"], "/checkout/pay?access_token="+secrets["ACCESS_TOKEN"]+"&cart=17")
	require.Equal(t, "access_token="+secrets["ACCESS_TOKEN"]+"&cart=17", got["request.query_string"])
	require.Equal(t, "Bearer "+secrets["BEARER_TOKEN"], got["request.headers.authorization"])
	require.Equal(t, "sessionid="+secrets["SESSION_COOKIE"]+"; theme=dark", got["request.headers.cookie"])
	require.Equal(t, map[string]any{"sessionid": secrets["SESSION_COOKIE"], "theme": "dark"}, got["request.cookies"])
	assert.Zero(t, control.h.Stats().Scrubbed)
	controlGroups := control.groups(t)
	require.Len(t, controlGroups, 1)

	s := scrubServer(t)
	ev = sdkRun(s)
	raw = storedEvent(t, s.st, title)
	for name, secret := range secrets {
		assert.False(t, strings.Contains(raw, secret), "%s (%s) reached the store", name, secret)
	}
	assert.Equal(t, int64(1), s.h.Stats().Scrubbed)
	got = where(ev)
	assert.Equal(t, ingest.Filtered, got["contexts.database.password"])
	assert.Equal(t, ingest.Filtered, got["extra.stripeApiKey"])
	assert.Equal(t, ingest.Filtered, got["tags.session_id"])
	assert.Equal(t, "access_token=[Filtered]&cart=17", got["request.query_string"])
	assert.Contains(t, got["request.url"], "/checkout/pay?access_token=[Filtered]&cart=17", "the URL's path and other parameters kept")
	assert.Equal(t, ingest.Filtered, got["request.headers.authorization"])
	assert.Equal(t, ingest.Filtered, got["request.headers.cookie"])
	assert.Equal(t, ingest.Filtered, got["request.cookies"])

	// The other values as sent.
	assert.Equal(t, map[string]any{"host": "db1", "name": "shop", "password": ingest.Filtered}, jsonAt(ev, "contexts", "database"))
	assert.Equal(t, float64(3), jsonAt(ev, "extra", "cartSize"))
	assert.Equal(t, "acme", jsonAt(ev, "tags", "tenant"))
	assert.Equal(t, "GET", jsonAt(ev, "request", "method"))
	assert.Equal(t, "GET /checkout/pay", ev["transaction"])
	assert.Equal(t, "sentry.javascript.node", jsonAt(ev, "sdk", "name"))
	assert.Equal(t, "8.55.2", jsonAt(ev, "sdk", "version"))
	assert.Contains(t, raw, `"function":"chargeCard"`)
	assert.Contains(t, raw, `"value":"card declined for amount 120"`)

	// Grouped and titled as without scrubbing.
	gs := s.groups(t)
	require.Len(t, gs, 1)
	assert.Equal(t, title, gs[0].Title)
	assert.Equal(t, controlGroups[0].Key, gs[0].Key)
	assert.Equal(t, controlGroups[0].Culprit, gs[0].Culprit)
	assert.True(t, strings.Contains(gs[0].Culprit, "chargeCard") || gs[0].Culprit == "GET /checkout/pay", "culprit %q", gs[0].Culprit)
	if t.Failed() {
		t.Logf("stored with scrubbing: %s", raw)
	}
}

// jsonAt is the value at keys in nested JSON objects, nil if there is none.
func jsonAt(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
