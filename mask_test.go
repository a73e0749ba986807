package errlog

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContainsFold(t *testing.T) {
	for _, tc := range []struct {
		s, sub string
		want   bool
	}{
		{"DB_PASSWORD", "password", true},
		{"userPassword2", "password", true},
		{"pass", "password", false},
		{"", "x", false},
		{"Secret", "secret", true},
		{"sekret", "secret", false},
		{"x", "", false},
	} {
		assert.Equal(t, tc.want, containsFold(tc.s, tc.sub), "%q in %q", tc.sub, tc.s)
	}
}

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
	assert.False(t, m.hides(catHeaders, "Authorization"), "a filter given replaces the default filter")
	assert.False(t, m.hides(catParams, "X-Internal-Id"), "a category's filter applies to its category only")

	_, err = newMasker(MaskOptions{Params: []string{"/([/"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "errlog: mask: params filter")
}

func TestMaskEnvironmentAndConfig(t *testing.T) {
	t.Setenv("SECRET_KEY", "flask-secret")
	t.Setenv("DATABASE_URL", "postgres://u:pw@h/db")
	t.Setenv("PLAIN_VAR", "plain")
	h, _, _, sink := newTestHandler(t, Options{
		Console: io.Discard,
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
	assert.Equal(t, "a=1&password=%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A&b", m.maskQuery("a=1&password=x&b"))
	assert.Equal(t, "q=go", m.maskQuery("q=go"))
}

// %(url)s in the file shows the request URL with secret query parameters
// masked, as events do.
func TestMaskURLInFileTemplate(t *testing.T) {
	buf := &syncBuffer{}
	h, _, _, _ := newTestHandler(t, Options{
		Console: io.Discard,
		File:    &FileOptions{Writer: buf, Format: "%(levelname)s %(url)s %(message)s"},
	})
	mw := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).ErrorContext(r.Context(), "reset failed")
	}))
	mw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://example.com/reset?password=hunter2&token=abc&page=2", nil))
	line := strings.SplitN(buf.String(), "\n", 2)[0]
	assert.NotContains(t, line, "hunter2")
	assert.NotContains(t, line, "abc")
	assert.Contains(t, line, "ERROR http://example.com/reset?password=%2A%2A")
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
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Config: map[string]any{"Redis": "redis://:redis-pw@cache:6379/0"}})
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
