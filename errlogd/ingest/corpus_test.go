package ingest_test

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// request is one request of the corpus: a fixture of a public SDK or
// tracker repository, or one recorded from a stock SDK
// (testdata/corpus/README.md).
type request struct {
	name     string
	endpoint string // "envelope" or "store"
	headers  map[string]string
	body     []byte
}

// corpus reads testdata/corpus.
func corpus(t *testing.T) []request {
	var out []request
	files, err := filepath.Glob("testdata/corpus/*/*")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		name := strings.TrimPrefix(f, "testdata/corpus/")
		switch {
		case strings.HasPrefix(name, "recorded/"):
			var reqs []struct {
				Path    string
				Headers map[string]string
				Body    string
			}
			require.NoError(t, json.Unmarshal(b, &reqs), f)
			for i, r := range reqs {
				ep := "envelope"
				if strings.Contains(r.Path, "/store/") {
					ep = "store"
				}
				out = append(out, request{name: fmt.Sprintf("%s#%d", name, i), endpoint: ep, headers: r.Headers, body: []byte(r.Body)})
			}
		case strings.HasSuffix(name, ".txt"):
			out = append(out, request{name: name, endpoint: "envelope", body: b})
		case bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")):
			// GlitchTip keeps an envelope as a JSON list of its lines.
			var lines []map[string]any
			require.NoError(t, json.Unmarshal(b, &lines), f)
			var env bytes.Buffer
			for _, l := range lines {
				delete(l, "length") // re-encoded: the lengths no longer hold
				js, _ := json.Marshal(l)
				env.Write(js)
				env.WriteByte('\n')
			}
			out = append(out, request{name: name, endpoint: "envelope", body: env.Bytes()})
		default:
			out = append(out, request{name: name, endpoint: "store", body: b})
		}
	}
	return out
}

var eventIDs = regexp.MustCompile(`"(?:event_id|associated_event_id)"\s*:\s*"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"`)

// renewIDs gives every event id of b a fresh value of the same form
// (lengths in envelope headers still hold); a legacy body (base64 of
// zlib) is unpacked, renewed and packed again.
func renewIDs(b []byte) []byte {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' && t[0] != '[' {
		if z, err := base64.StdEncoding.DecodeString(string(t)); err == nil {
			if zr, err := zlib.NewReader(bytes.NewReader(z)); err == nil {
				if js, err := io.ReadAll(zr); err == nil {
					var out bytes.Buffer
					zw := zlib.NewWriter(&out)
					zw.Write(renewJSONIDs(js))
					zw.Close()
					return []byte(base64.StdEncoding.EncodeToString(out.Bytes()))
				}
			}
		}
	}
	return renewJSONIDs(b)
}

func renewJSONIDs(b []byte) []byte {
	seen := map[string]string{}
	return eventIDs.ReplaceAllFunc(b, func(m []byte) []byte {
		q := bytes.LastIndexByte(m[:len(m)-1], '"')
		key, id := m[:q+1], m[q+1:len(m)-1]
		if n, ok := seen[string(id)]; ok {
			return append(append(key[:len(key):len(key)], n...), '"')
		}
		n := event.NewID()
		if bytes.Contains(id, []byte("-")) {
			n = n[:8] + "-" + n[8:12] + "-" + n[12:16] + "-" + n[16:20] + "-" + n[20:]
		}
		seen[string(id)] = n
		return append(append(key[:len(key):len(key)], n...), '"')
	})
}

func (tg *target) replay(t *testing.T, r request, body []byte) (int, string, string) {
	hdr := tg.auth()
	for k, v := range r.headers {
		if k != "x-sentry-auth" && k != "authorization" {
			hdr[k] = v
		}
	}
	resp := post(t, tg.url(r.endpoint), body, hdr)
	var out struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.ID, resp.Header.Get("X-Sentry-Error")
}

// corpusTitles are the title and culprit of a sample from each source:
// for GlitchTip's fixtures, the titles Sentry itself gave them (GlitchTip's
// oss_sentry_json); culprits are errlogd's ("" when not checked).
var corpusTitles = map[string][2]string{
	"glitchtip/python_zero_division.json":         {"ZeroDivisionError: division by zero", "/divide-zero/"},
	"glitchtip/django_template_error.json":        {"NoReverseMatch: Reverse for 'nope' not found. 'nope' is not a valid view function or pattern name.", "/template-error/"},
	"glitchtip/dotnet_divide_zero.json":           {"System.DivideByZeroException: Attempted to divide by zero.", ""},
	"glitchtip/elixir_error.json":                 {"UndefinedFunctionError: function FakeModule.fake_function/0 is undefined (module FakeModule is not available)", ""},
	"glitchtip/js_error_with_context.json":        {"Error: Error with context", ""},
	"glitchtip/js_event_with_unix_timestamp.json": {"Error: A Generic Error 9371d7", ""},
	"glitchtip/python_logging.json":               {"This is a warning: warning", "/logger-warning/"},
	"glitchtip/small_js_error.json":               {"Error: this is an error", ""},
	"glitchtip/django_message_params.json":        {"Here is a new error", "/message/Z"},
	"recorded/python-sentry-sdk-1.9.10.json#0":    {"RuntimeError: checkout failed", "__main__.checkout (rec.py:33)"},
	"recorded/python-sentry-sdk-1.9.10.json#1":    {"charge ch_1 failed for user ann", ""},
	"recorded/python-sentry-sdk-1.9.10.json#2":    {"refund failed", ""},
	"recorded/node-sentry-8.55.2.json#5":          {"TypeError: card declined for amount 120", "rec.chargeCard (/tmp/traffic-node/rec.js:21)"},
	"recorded/node-sentry-8.55.2.json#1":          {"cart emptied", ""},
	"recorded/node-sentry-7.120.4.json#3":         {"TypeError: card declined for amount 120", "rec.chargeCard (/tmp/traffic-node7/rec.js:21)"},
	"sentry-java/envelopes-java-event.txt":        {"(no message)", ""},
	"sentry-go/json-event-000.json":               {"", ""},
}

// TestCorpus replays every request of the corpus twice (the second time
// with fresh event ids) on both databases: every one is accepted, no
// answer is a 5xx, both copies of an event land in one group, and the
// sample's titles and culprits are as Sentry's rules make them.
func TestCorpus(t *testing.T) {
	reqs := corpus(t)
	require.Greater(t, len(reqs), 30)
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		names := make([]string, 0, len(reqs))
		for _, r := range reqs {
			names = append(names, r.name)
		}
		sort.Strings(names)
		events := 0
		for _, r := range reqs {
			s1, id1, msg := tg.replay(t, r, r.body)
			if !assert.Equal(t, http.StatusOK, s1, "%s: %s", r.name, msg) {
				continue
			}
			s2, id2, msg := tg.replay(t, r, renewIDs(r.body))
			assert.Equal(t, http.StatusOK, s2, "%s (copy): %s", r.name, msg)
			if id1 == "" {
				continue // no event: a session, a user report, a feedback on an event
			}
			events++
			e1, err := tg.st.EventByEventID(ctx, tg.p.ID, id1)
			require.NoError(t, err, r.name)
			e2, err := tg.st.EventByEventID(ctx, tg.p.ID, id2)
			require.NoError(t, err, r.name)
			assert.NotEqual(t, e1.EventID, e2.EventID, r.name)
			assert.Equal(t, e1.GroupID, e2.GroupID, "%s: both copies in one group", r.name)
			g, err := tg.st.Group(ctx, e1.GroupID)
			require.NoError(t, err)
			if want, ok := corpusTitles[r.name]; ok {
				if want[0] != "" {
					assert.Equal(t, want[0], g.Title, r.name)
				}
				if want[1] != "" {
					assert.Equal(t, want[1], g.Culprit, r.name)
				}
			}
			t.Logf("%-50s %q  %q", r.name, g.Title, g.Culprit)
		}
		assert.Zero(t, tg.h.Stats().Failed, "no 5xx")
		t.Logf("%d requests, %d with events, each twice", len(reqs), events)
	})
}

// TestCorpusScrubbed replays the corpus, the events other SDKs and
// trackers wrote, on errlogd as it runs by default (scrubbing) and
// without scrubbing: every request is answered alike, every event lands
// in a group of the same key, title and culprit, and an event the
// scrubber left is stored byte for byte as the other.
func TestCorpusScrubbed(t *testing.T) {
	reqs := corpus(t)
	plain := newTarget(t, "sqlite", ingest.Options{})
	scrub := newTarget(t, "sqlite", ingest.Options{Scrub: ingest.NewScrubber(nil)})
	events, changed := 0, 0
	var scrubbed []string
	for _, r := range reqs {
		before := scrub.h.Stats().Scrubbed
		s1, id1, msg1 := plain.replay(t, r, r.body)
		s2, id2, msg2 := scrub.replay(t, r, r.body)
		require.Equal(t, s1, s2, "%s: %s / %s", r.name, msg1, msg2)
		if s1 != http.StatusOK || id1 == "" {
			continue
		}
		events++
		e1, err := plain.st.EventByEventID(ctx, plain.p.ID, id1)
		require.NoError(t, err, r.name)
		e2, err := scrub.st.EventByEventID(ctx, scrub.p.ID, id2)
		require.NoError(t, err, r.name)
		g1, err := plain.st.Group(ctx, e1.GroupID)
		require.NoError(t, err)
		g2, err := scrub.st.Group(ctx, e2.GroupID)
		require.NoError(t, err)
		assert.Equal(t, g1.Key, g2.Key, "%s: the same group", r.name)
		assert.Equal(t, g1.Title, g2.Title, r.name)
		assert.Equal(t, g1.Culprit, g2.Culprit, r.name)
		if scrub.h.Stats().Scrubbed == before {
			assert.Equal(t, string(e1.JSON), string(e2.JSON), "%s: not scrubbed, stored as sent", r.name)
			continue
		}
		changed++
		diff := leafDiff(e1.JSON, e2.JSON)
		require.NotEmpty(t, diff, "%s: counted as scrubbed, stored the same", r.name)
		for _, d := range diff {
			assert.True(t, strings.HasSuffix(d, "-> "+ingest.Filtered), "%s: %s: only values replaced", r.name, d)
		}
		scrubbed = append(scrubbed, r.name)
		t.Logf("scrubbed: %s %q", r.name, diff)
	}
	require.Greater(t, events, 20)
	// What was scrubbed, and why: the environment's SSH_AUTH_SOCK ("auth"),
	// GNOME_DESKTOP_SESSION_ID and PWD (a directory, taken for "pwd":
	// errlog's client allow-lists the environment instead), and a Java
	// event's cookies. Relay's _meta remarks and empty cookie objects are
	// left as they are.
	assert.Equal(t, []string{"glitchtip/sentry_cli_send_event_no_level.json", "recorded/sentry-cli-3.8.0.json#0",
		"recorded/sentry-cli-3.8.0.json#1", "sentry-java/json-sentry_event.json"}, scrubbed)
	t.Logf("%d events, %d scrubbed", events, changed)
}

// leafDiff lists the values of the event JSON a that b holds otherwise,
// as "path: a's -> b's".
func leafDiff(a, b []byte) []string {
	var x, y any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	var out []string
	var walk func(p string, x, y any)
	walk = func(p string, x, y any) {
		switch xv := x.(type) {
		case map[string]any:
			yv, ok := y.(map[string]any)
			if !ok {
				out = append(out, fmt.Sprintf("%s: %.80v -> %.60v", p, x, y))
				return
			}
			for k := range xv {
				walk(p+"."+k, xv[k], yv[k])
			}
		case []any:
			yv, ok := y.([]any)
			if !ok {
				out = append(out, fmt.Sprintf("%s: %.80v -> %.60v", p, x, y))
				return
			}
			for i := range xv {
				if i < len(yv) {
					walk(fmt.Sprintf("%s[%d]", p, i), xv[i], yv[i])
				}
			}
		default:
			if !reflect.DeepEqual(x, y) {
				s := fmt.Sprintf("%s: %.80v -> %.60v", p, x, y)
				out = append(out, s)
			}
		}
	}
	walk("", x, y)
	return out
}
