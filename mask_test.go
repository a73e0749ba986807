package errlog

import (
	"io"
	"log/slog"
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
