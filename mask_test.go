package errlog

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One masking pass: the console, the file and the event all show the mask
// and never the secret, at any group depth.
func TestMaskEverySink(t *testing.T) {
	h, console, file, sink := newTestHandler(t, Options{})
	log := slog.New(h).With("api_key", "k-123").WithGroup("db")
	log.Error("connect failed",
		"password", "hunter2",
		slog.Group("conn", "host", "db1", "Secret", "s3"),
		"settings", map[string]any{"nested": map[string]any{"client_secret": "deep"}},
		"access_token", 12345,
	)
	flush(t, h)
	for name, out := range map[string]string{"console": console.String(), "file": file.String()} {
		for _, secret := range []string{"hunter2", "k-123", "s3 ", "12345"} {
			assert.NotContains(t, out, secret, "%s shows a secret", name)
		}
		assert.Contains(t, out, DefaultMaskWith, name)
		assert.Contains(t, out, "db1", name)
	}
	ev := sink.all()[0]
	assert.Equal(t, DefaultMaskWith, ev.Extra["api_key"])
	assert.Equal(t, DefaultMaskWith, ev.Extra["db.password"])
	assert.Equal(t, map[string]any{"host": "db1", "Secret": DefaultMaskWith}, ev.Extra["db.conn"])
	assert.Equal(t, DefaultMaskWith, ev.Extra["db.access_token"])
	assert.Equal(t, map[string]any{"nested": map[string]any{"client_secret": DefaultMaskWith}}, ev.Extra["db.settings"])
	raw, err := ev.MarshalJSON()
	require.NoError(t, err)
	for _, secret := range []string{"hunter2", "k-123", "deep", "12345"} {
		assert.NotContains(t, string(raw), secret)
	}
}

func TestMaskOptionsCustom(t *testing.T) {
	h, console, _, sink := newTestHandler(t, Options{Mask: MaskOptions{
		Keys:    []string{"ssn"},
		With:    "[hidden]",
		Headers: []string{"/^x-internal-/"},
	}})
	slog.New(h).Error("x", "user_ssn", "123-45", "password", "visible-now")
	flush(t, h)
	assert.Contains(t, console.String(), "user_ssn=[hidden]")
	assert.Contains(t, console.String(), "password=visible-now", "Keys replaces the defaults")
	assert.Equal(t, "[hidden]", sink.all()[0].Extra["user_ssn"])

	m, err := newMasker(MaskOptions{Headers: []string{"/^x-internal-/"}})
	require.NoError(t, err)
	assert.True(t, m.hides(catHeaders, "X-Internal-Token"))
	assert.True(t, m.hides(catHeaders, "X-Internal-Id"))
	assert.False(t, m.hides(catHeaders, "Accept"), "a filter given replaces the default filter")
	assert.False(t, m.hides(catParams, "X-Internal-Id"), "a category's filter applies to its category only")

	_, err = newMasker(MaskOptions{Params: []string{"/([/"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "errlog: mask: params filter")
}

// The names people give secrets, normalised (case, "-", "_", "." alike),
// short ones as whole words.
func TestMaskKeyNormalisation(t *testing.T) {
	m, err := newMasker(MaskOptions{})
	require.NoError(t, err)
	for _, k := range []string{
		"password", "api-key", "api_key", "API.KEY", "apiKey", "pwd", "MYSQL_PWD", "pass", "DB_PASS", "dbPass",
		"auth", "X-Auth", "authorization", "bearer", "cookie", "jwt", "sessionid", "session_id", "sessionId",
		"sid", "user.sid", "access_key", "X-Access-Key", "client_secret", "refresh-token", "private.key",
	} {
		assert.True(t, m.secretKey(k), "%q should be masked", k)
	}
	for _, k := range []string{
		"passenger", "author", "authored_by", "status", "user_id", "session", "side", "inside", "compass",
		"pwdx", "keyboard", "message", "", "bypass",
	} {
		assert.False(t, m.secretKey(k), "%q should not be masked", k)
	}
	// Headers: anything whose name says it carries a credential.
	for _, k := range []string{"Authorization", "Api-Key", "X-Auth", "X-Access-Key", "X-Session", "X-Csrf-Token", "Set-Cookie", "X-Upstream-Secret"} {
		assert.True(t, m.hides(catHeaders, k), k)
	}
	for _, k := range []string{"Accept", "User-Agent", "Content-Type", "X-Request-Id"} {
		assert.False(t, m.hides(catHeaders, k), k)
	}
	// A user's short key is a word too; a long one a part.
	m, _ = newMasker(MaskOptions{Keys: []string{"ssn", "card-number"}})
	assert.True(t, m.secretKey("user_ssn"))
	assert.False(t, m.secretKey("lessness"))
	assert.True(t, m.secretKey("CardNumber"))
	assert.True(t, m.secretKey("billing.card_number"))
}

// A bad filter entry is reported and skipped: every other entry, and the
// category's defaults, still apply (issue 12: it used to stop at the bad
// entry and leave Authorization in clear).
func TestMaskBadFilterFailsClosed(t *testing.T) {
	m, err := newMasker(MaskOptions{Headers: []string{"/([/", "X-Custom", "/^x-internal-/"}, Environment: []string{"/(/"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `headers filter "/([/" skipped`)
	assert.Contains(t, err.Error(), `environment filter "/(/" skipped`)
	assert.True(t, m.hides(catHeaders, "Authorization"), "the default still applies")
	assert.True(t, m.hides(catHeaders, "X-Custom"), "the entry after the bad one applies")
	assert.True(t, m.hides(catHeaders, "X-Internal-Id"))
	assert.True(t, m.hides(catEnv, "DATABASE_URL"))

	var reported []error
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Mask: MaskOptions{Headers: []string{"/([/", "Authorization"}},
		OnDeliveryError: func(err error) { reported = append(reported, err) }})
	require.Len(t, reported, 1)
	mw := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).ErrorContext(r.Context(), "x")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer sk-live-1")
	req.Header.Set("X-Api-Key", "k-2")
	mw.ServeHTTP(httptest.NewRecorder(), req)
	flush(t, h)
	hd := sink.all()[0].Request.Headers
	assert.Equal(t, DefaultMaskWith, hd["Authorization"])
	assert.Equal(t, DefaultMaskWith, hd["X-Api-Key"], "the default filter applies beside the good entries")
}

// The defaults are functions: a caller cannot weaken them for the process.
func TestMaskDefaultsAreCopies(t *testing.T) {
	k := DefaultMaskKeys()
	k[0] = "nothing"
	assert.Equal(t, "password", DefaultMaskKeys()[0])
	hf := DefaultHeaderFilter()
	hf[0] = "x"
	assert.Equal(t, "Authorization", DefaultHeaderFilter()[0])
	DefaultCookieFilter()[0] = "x"
	assert.Equal(t, "/.*/", DefaultCookieFilter()[0])
	DefaultEnvironmentFilter()[0] = "x"
	assert.Equal(t, "SECRET_KEY", DefaultEnvironmentFilter()[0])
}

// Every place a secret was seen in clear with the old defaults: attrs,
// query, headers, user data, http.Header and url.Values attrs, in every
// sink.
func TestMaskLeaksOfIssue8(t *testing.T) {
	h, console, file, sink := newTestHandler(t, Options{})
	log := slog.New(h)
	mw := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ScopeFrom(r.Context()).SetUser(event.User{ID: "u1", Data: map[string]any{"password": "user-pw-1", "plan": "pro"}})
		log.ErrorContext(r.Context(), "failed",
			"api-key", "s-apikey", "pwd", "s-pwd", "pass", "s-pass", "auth", "s-auth", "authorization", "s-authz",
			"bearer", "s-bearer", "cookie", "s-cookie", "jwt", "s-jwt", "sessionid", "s-sessionid",
			"passenger", "Ada", "author", "Bob",
			"hdr", http.Header{"Authorization": {"Bearer s-hdr-auth"}, "X-Api-Key": {"s-hdr-key"}, "Accept": {"text/html"}},
			"form", url.Values{"password": {"s-form-pw"}, "q": {"go"}},
		)
	}))
	req := httptest.NewRequest("GET", "http://example.com/p?api-key=s-query&page=2", nil)
	req.Header.Set("Api-Key", "s-h1")
	req.Header.Set("X-Auth", "s-h2")
	req.Header.Set("X-Access-Key", "s-h3")
	mw.ServeHTTP(httptest.NewRecorder(), req)
	flush(t, h)
	ev := sink.all()[0]
	raw, err := ev.MarshalJSON()
	require.NoError(t, err)
	for name, out := range map[string]string{"console": console.String(), "file": file.String(), "event": string(raw)} {
		assert.NotRegexp(t, `s-[a-z0-9-]+`, out, name)
		assert.NotContains(t, out, "user-pw-1", name)
		assert.Contains(t, out, "Ada", name)
		assert.Contains(t, out, "Bob", name)
	}
	assert.Contains(t, string(raw), "text/html")
	assert.Equal(t, "api-key=**************&page=2", ev.Request.QueryString)
	assert.Equal(t, "pro", ev.User.Data["plan"])
	assert.Equal(t, DefaultMaskWith, ev.User.Data["password"])
	for _, hd := range []string{"Api-Key", "X-Auth", "X-Access-Key"} {
		assert.Equal(t, DefaultMaskWith, ev.Request.Headers[hd], hd)
	}
}

func TestMaskEnvironmentAndConfig(t *testing.T) {
	t.Setenv("SECRET_KEY", "flask-secret")
	t.Setenv("DATABASE_URL", "postgres://u:pw@h/db")
	t.Setenv("PLAIN_VAR", "plain")
	h, _, _, sink := newTestHandler(t, Options{
		Console: io.Discard,
		EnvKeys: []string{"SECRET_KEY", "DATABASE_URL", "PLAIN_VAR"},
		Config:  map[string]any{"SMTP_PASSWORD": "x", "Workers": 4, "Nested": map[string]string{"token": "t"}},
	})
	slog.New(h).Error("x")
	flush(t, h)
	ev := sink.all()[0]
	env := ev.Contexts["environment"]
	assert.Equal(t, DefaultMaskWith, env["os.SECRET_KEY"])
	assert.Equal(t, DefaultMaskWith, env["os.DATABASE_URL"])
	assert.Equal(t, "plain", env["os.PLAIN_VAR"])
	cfg := ev.Contexts["app"]["config"].(map[string]any)
	assert.Equal(t, DefaultMaskWith, cfg["SMTP_PASSWORD"])
	assert.Equal(t, int64(4), cfg["Workers"])
	assert.Equal(t, map[string]any{"token": DefaultMaskWith}, cfg["Nested"])
	raw, _ := ev.MarshalJSON()
	assert.False(t, strings.Contains(string(raw), "flask-secret"))
	assert.NotEmpty(t, ev.Modules, "loaded Go modules are listed")
}

func TestMaskQuery(t *testing.T) {
	m, _ := newMasker(MaskOptions{})
	assert.Equal(t, "a=1&password=**************&b&api-key=**************", m.maskQuery("a=1&password=x&b&api-key=k"))
	assert.Equal(t, "q=go", m.maskQuery("q=go"))
	w := DefaultMaskWith
	for in, want := range map[string]string{
		"token=t&":         "token=" + w + "&",
		"&&token=t&&a=1":   "&&token=" + w + "&&a=1",
		"a=1&b=2&secret=s": "a=1&b=2&secret=" + w,
		"a=1&&b=2&":        "a=1&&b=2&",
		"api%5Fkey=k&x=":   "api%5Fkey=" + w + "&x=",
	} {
		assert.Equal(t, want, m.maskQuery(in), "%q", in)
	}
	assert.Equal(t, 0.0, testing.AllocsPerRun(10, func() { _ = m.maskQuery("page=2&sort=name&q=go") }))
}

// %(url)s in the file shows the request URL with secret query parameters
// masked, as events do.
func TestMaskURLInFileTemplate(t *testing.T) {
	buf := &syncBuffer{}
	h, _, _, _ := newTestHandler(t, Options{
		Console: io.Discard,
		File:    &logfile.Options{Writer: buf, Format: "%(levelname)s %(url)s %(message)s"},
	})
	mw := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).ErrorContext(r.Context(), "reset failed")
	}))
	mw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://example.com/reset?password=hunter2&token=abc&page=2", nil))
	line := strings.SplitN(buf.String(), "\n", 2)[0]
	assert.NotContains(t, line, "hunter2")
	assert.NotContains(t, line, "abc")
	assert.Contains(t, line, "ERROR http://example.com/reset?password=**************&token=**************&page=2")
	assert.Contains(t, line, "&page=2 reset failed")
}

// A group whose name is secret masks everything under it, whether it is
// an attr (slog.Group) or a handler's group (WithGroup).
func TestMaskSecretWithGroup(t *testing.T) {
	h, console, file, sink := newTestHandler(t, Options{})
	log := slog.New(h).WithGroup("credentials").With("user", "svc-1")
	log.Error("login", "value", "grp-secret", slog.Group("nested", "x", "deep-secret"))
	flush(t, h)
	for name, out := range map[string]string{"console": console.String(), "file": file.String()} {
		assert.NotContains(t, out, "grp-secret", name)
		assert.NotContains(t, out, "deep-secret", name)
		assert.NotContains(t, out, "svc-1", name)
	}
	ev := sink.all()[0]
	assert.Equal(t, DefaultMaskWith, ev.Extra["credentials.value"])
	assert.Equal(t, DefaultMaskWith, ev.Extra["credentials.user"])
	assert.Equal(t, DefaultMaskWith, ev.Extra["credentials.nested"])
}

type marshalsSecret struct{}

func (marshalsSecret) MarshalJSON() ([]byte, error) {
	return []byte(`{"password":"hunter2","plain":"ok"}`), nil
}

// A value that marshals itself to JSON is masked inside, in attrs, scope
// extras and Config alike.
func TestMaskInsideMarshalJSON(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Config: map[string]any{"db": marshalsSecret{}}})
	ctx, scope := WithScope(context.Background())
	scope.SetExtra("settings", marshalsSecret{})
	slog.New(h).ErrorContext(ctx, "x", "attr", marshalsSecret{})
	flush(t, h)
	raw, err := sink.all()[0].MarshalJSON()
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "hunter2")
	assert.Contains(t, string(raw), `"plain":"ok"`)
}

func TestMaskURLPasswordsInEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://bob:proxy-pw@proxy:3128")
	t.Setenv("SENTRY_DSN", "https://key@o1.ingest.sentry.io/1")
	t.Setenv("CACHE_ADDR", "localhost:6379")
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, EnvKeys: []string{"HTTP_PROXY", "SENTRY_*", "CACHE_ADDR"},
		Config: map[string]any{"Redis": "redis://:redis-pw@cache:6379/0"}})
	slog.New(h).Error("x")
	flush(t, h)
	ev := sink.all()[0]
	raw, _ := ev.MarshalJSON()
	for _, secret := range []string{"proxy-pw", "redis-pw", "https://key@"} {
		assert.NotContains(t, string(raw), secret)
	}
	assert.Equal(t, "localhost:6379", ev.Contexts["environment"]["os.CACHE_ADDR"])
	assert.Contains(t, ev.Contexts["environment"]["os.HTTP_PROXY"], "bob:")
}

// The process environment is allow-listed: secrets under names no
// deny-list knows stay in the process; Go's settings, errlog's own (but
// its secrets) and the names the user adds are sent.
func TestEnvironmentAllowList(t *testing.T) {
	leaks := map[string]string{
		"MYSQL_PWD": "s-1", "DB_PASS": "s-2", "STRIPE_KEY": "s-3", "STRIPE_SK": "s-4",
		"SLACK_WEBHOOK": "s-5", "ENCRYPTION_KEY": "s-6", "SIGNING_KEY": "s-7", "GITHUB_PAT": "s-8",
		"ERRLOG_DSN": "https://pub-s-9@example.com/1", "ERRLOG_SMTP_PASSWORD": "s-10", "ERRLOG_DEBUG_URL": "http://x/s-11",
	}
	for k, v := range leaks {
		t.Setenv(k, v)
	}
	t.Setenv("GOGC", "150")
	t.Setenv("TZ", "UTC")
	t.Setenv("ERRLOG_LEVEL", "info")
	t.Setenv("APP_REGION", "eu-1")
	t.Setenv("APP_TOKEN", "s-12")
	t.Setenv("OTHER", "o")
	o := fromEnv(func(k string) (string, bool) {
		if k == "ERRLOG_ENV_KEYS" {
			return "APP_*, OTHER", true
		}
		return "", false
	}, io.Discard)
	assert.Equal(t, []string{"APP_*", "OTHER"}, o.EnvKeys)
	o.Console = io.Discard
	h, _, _, sink := newTestHandler(t, o)
	slog.New(h).Error("x")
	flush(t, h)
	env := sink.all()[0].Contexts["environment"]
	raw, _ := sink.all()[0].MarshalJSON()
	assert.NotRegexp(t, `s-[0-9]+`, string(raw))
	for k := range leaks {
		assert.NotContains(t, env, "os."+k)
	}
	assert.Equal(t, "150", env["os.GOGC"])
	assert.Equal(t, "UTC", env["os.TZ"])
	assert.Equal(t, "info", env["os.ERRLOG_LEVEL"])
	assert.Equal(t, "eu-1", env["os.APP_REGION"])
	assert.Equal(t, DefaultMaskWith, env["os.APP_TOKEN"], "a name the user adds is masked as before")
	assert.Equal(t, "o", env["os.OTHER"])
	assert.NotContains(t, env, "os.PATH")
	assert.NotContains(t, env, "os.HOME")
}

// A bare "*" does not open the allow-list: from the environment it is
// left out and said so; in code it names no variable.
func TestEnvironmentStarOpensNothing(t *testing.T) {
	t.Setenv("STRIPE_SK", "sk_live_STAR")
	var stderr strings.Builder
	o := fromEnv(func(k string) (string, bool) {
		if k == "ERRLOG_ENV_KEYS" {
			return "*, APP_*", true
		}
		return "", false
	}, &stderr)
	assert.Equal(t, []string{"APP_*"}, o.EnvKeys)
	assert.Contains(t, stderr.String(), `ERRLOG_ENV_KEYS: "*" would send the whole environment`)
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, EnvKeys: []string{"*"}})
	slog.New(h).Error("x")
	flush(t, h)
	raw, _ := sink.all()[0].MarshalJSON()
	assert.NotContains(t, string(raw), "sk_live_STAR")
	assert.NotContains(t, sink.all()[0].Contexts["environment"], "os.STRIPE_SK")
}
