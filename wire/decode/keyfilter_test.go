package decode_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyFilterMissesNothing: every key errlog's masker masks by name
// passes the filter of the same words: each default word (and two of a
// user's) inside other words, with separators, in any case, as camelCase,
// and 200,000 random keys checked against the masker itself.
func TestKeyFilterMissesNothing(t *testing.T) {
	words := append(errlog.DefaultMaskKeys(), "ssn", "iban")
	m, err := errlog.NewMasker(errlog.MaskOptions{Keys: words})
	require.NoError(t, err)
	f := decode.NewKeyFilter(words)
	camel := func(w string) string {
		parts := strings.FieldsFunc(w, func(r rune) bool { return r == '_' })
		for i := range parts {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
		return strings.Join(parts, "")
	}
	for _, w := range words {
		for _, k := range []string{w, strings.ToUpper(w), camel(w), "db_" + w, "X-" + camel(w), "my." + w + ".value",
			"user " + w, strings.ReplaceAll(w, "_", "-"), "old" + camel(w) + "2"} {
			assert.True(t, m.Key(k) == false || f.Match(k), "%q: the masker masks it, the filter lets it by", k)
			assert.True(t, f.Match(k), "%q", k)
		}
	}
	rng := rand.New(rand.NewSource(1))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. "
	masked := 0
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		for n := rng.Intn(6); n > 0; n-- {
			b.WriteByte(alphabet[rng.Intn(len(alphabet))])
		}
		if rng.Intn(3) == 0 {
			w := words[rng.Intn(len(words))]
			if rng.Intn(2) == 0 {
				w = strings.ToUpper(w)
			}
			for n := rng.Intn(3); n > 0; n-- {
				// The masker skips separators: "pass-word", "Api Key".
				i := rng.Intn(len(w) + 1)
				w = w[:i] + string("-_. "[rng.Intn(4)]) + w[i:]
			}
			b.WriteString(w)
		}
		for n := rng.Intn(6); n > 0; n-- {
			b.WriteByte(alphabet[rng.Intn(len(alphabet))])
		}
		if k := b.String(); m.Key(k) {
			masked++
			require.True(t, f.Match(k), "%q: the masker masks it, the filter lets it by", k)
		}
	}
	assert.Greater(t, masked, 30000)
	// A word of one letter lets every key pass; one of two, any key
	// holding the two.
	assert.True(t, decode.NewKeyFilter([]string{"x"}).Match("anything"))
	assert.True(t, decode.NewKeyFilter([]string{"ip"}).Match("client_IP"))
	assert.False(t, decode.NewKeyFilter([]string{"ip"}).Match("address"))
	assert.False(t, decode.NewKeyFilter(nil).Match("password"))
}

// TestKeyFilterPassesHarmlessKeys: the keys of ordinary events (the
// schema's, common headers, frame variables) do not pass the filter of
// errlog's mask keys, so that their events are not decoded again.
func TestKeyFilterPassesHarmlessKeys(t *testing.T) {
	f := decode.NewKeyFilter(errlog.DefaultMaskKeys())
	for _, k := range strings.Fields(`Accept Accept-Encoding Accept-Language User-Agent Content-Type Host
Referer Origin X-Forwarded-For X-Request-Id category data level timestamp type message filename abs_path
function module lineno colno in_app context_line pre_context post_context vars contexts trace_id span_id
breadcrumbs environment release exception stacktrace frames mechanism request query_string headers user
id ip_address email username self args kwargs request_id order amount items cart description`) {
		assert.False(t, f.Match(k), "%q passes", k)
	}
	// Whole words are matched exactly after the filter: these pass it,
	// and the Scrubber leaves them.
	for _, k := range []string{"author", "passenger"} {
		assert.True(t, f.Match(k), "%q", k)
	}
	for _, k := range []string{"Authorization", "X-Api-Key", "apiKey", "db_password", "PASSWD", "csrftoken",
		"session_id", "Cookie", "aws_secret_access_key", "client_secret", "mysql_pwd", "privateKey", "credentials", "jwt"} {
		assert.True(t, f.Match(k), "%q does not pass", k)
	}
}

// TestSummaryKeys: SummaryKeys finds a secret key at any depth, with an
// escape in it, or at the top, but not among the modules' package names,
// and none in the events stock SDKs send by default.
func TestSummaryKeys(t *testing.T) {
	f := decode.NewKeyFilter(errlog.DefaultMaskKeys())
	frame := func(vars string) string {
		return `{"exception":{"values":[{"type":"E","stacktrace":{"frames":[{"function":"f","vars":` + vars + `}]}}]}}`
	}
	for _, c := range []struct {
		event string
		hit   bool
	}{
		{frame(`{"self":{"conn":{"db_password":"x"}}}`), true},
		{frame(`{"self":{"conn":{"host":"x"}}}`), false},
		{frame(`{"pass\u0077ord":"x"}`), true},
		{`{"message":"m","password":"x"}`, true},
		{`{"message":"m","modules":{"pyjwt":"2.8","oauthlib":"3"}}`, false},
		{`{"message":"m","_meta":{"request":{"headers":{"Cookie":{"":{"rem":[["!config","x"]]}}}}}}`, false},
		{`{"message":"m","modules":{"pyjwt":"2.8"},"extra":{"token":1}}`, true},
		{`{"message":"m","request":{"headers":[["Authorization","Bearer x"]]}}`, true}, // headers as pairs
		{`{"message":"m","request":{"url":"https://shop/cb","query_string":"code=1&access_token=x"}}`, true},
		{`{"message":"m","sentry.interfaces.Http":{"data":"user=ann&passwd=x"}}`, true},
		{`{"message":"m","request":{"url":"https://shop/cart","query_string":"page=2","headers":{"Accept":"*/*"}}}`, false},
		{`{"message":"m","extra":{"q":"access_token=x"}}`, false}, // values elsewhere are not read
		{`{"message":"m","request":{"url":"https://shop/api/tokens/7","query_string":"sort=token&page=2"}}`, false},
		{`{"message":"m","request":{"data":"{\"user\":\"ann\",\"password\":\"x\"}"}}`, true},
		{`{"message":"m","request":{"data":"Password : x"}}`, true},
		{`{"message":"m","request":{"query_string":"page=2\u0026sort=token\u0026q=\u00e9t\u00e9"}}`, false}, // Go's encoder escapes &
		{`{"message":"m","request":{"query_string":"page=2\u0026access_token=x"}}`, true},
		{`{"message":"m","request":{"query_string":"pass\u0077ord=x"}}`, true},
		{`{"message":"m","request":{"headers":{"Authorization":"Bearer x"}}}`, true},
		{`{"message":"m","breadcrumbs":{"values":[{"data":{"api_key":"k"}}]}}`, true},
	} {
		ev, found, err := decode.SummaryKeys([]byte(c.event), f, nil)
		require.NoError(t, err, c.event)
		assert.NotNil(t, ev)
		assert.Equal(t, c.hit, found.Any(), c.event)
		if found.RequestEnd > 0 {
			req := c.event[found.RequestStart:found.RequestEnd]
			assert.True(t, strings.HasPrefix(req, "{") && strings.HasSuffix(req, "}"), "the request's bytes: %s", req)
		}
	}
	_, _, err := decode.SummaryKeys([]byte(`{"password":`), f, nil)
	assert.Error(t, err, "invalid JSON is refused as Summary refuses it")

	paths, _ := filepath.Glob("../../errlogd/ingest/testdata/*-event.json")
	require.NotEmpty(t, paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		_, found, err := decode.SummaryKeys(b, f, nil)
		require.NoError(t, err, p)
		assert.False(t, found.Any(), "%s: a stock SDK's event without secrets is flagged", p)
	}
}

func ExampleKeyFilter() {
	f := decode.NewKeyFilter([]string{"password", "api_key"})
	fmt.Println(f.Match("X-Api-Key"), f.Match("dbPassword"), f.Match("Accept"))
	// Output: true true false
}
