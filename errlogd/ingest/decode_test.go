package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/sentryproto/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseEventAgreesWithFullDecode: the slim decode groups, titles and
// blames an event exactly as decoding all of it would.
func TestParseEventAgreesWithFullDecode(t *testing.T) {
	for _, raw := range []string{
		`{"event_id":"0123456789abcdef0123456789abcdef","timestamp":"2024-05-01T10:00:00.5Z","level":"fatal","environment":"prod","release":"r1",
		  "exception":[{"type":"*errors.errorString","value":"inner","mechanism":{"type":"generic","handled":false},
		    "stacktrace":{"frames":[{"function":"main","module":"main","filename":"main.go","abs_path":"/app/main.go","lineno":3,"in_app":true,
		      "pre_context":["a","b"],"context_line":"x()","post_context":["c"],"vars":{"x":1}},
		      {"function":"Do","module":"github.com/lib/x","abs_path":"/root/go/pkg/mod/github.com/lib/x@v1/x.go","lineno":9,"in_app":true}]}},
		    {"type":"*fmt.wrapError","value":"outer: inner","module":"app"}],
		  "extra":{"big":[1,2,3]},"breadcrumbs":{"values":[{"message":"m"}]},"modules":{"a":"v1"}}`,
		`{"exception":{"values":[{"type":"E","value":"v","stacktrace":{"frames":[{"function":"f","module":"m","in_app":true}]}}]},"timestamp":1700000000.25}`,
		`{"message":"plain message","logger":"l","fingerprint":["{{ default }}","x"]}`,
		`{"logentry":{"message":"queue %s stalled","params":["a"]},"stacktrace":{"frames":[{"function":"w","module":"q","lineno":7,"in_app":true}]}}`,
	} {
		ev, err := parseEvent([]byte(raw))
		require.NoError(t, err, raw)
		full, err := decode.Event([]byte(raw))
		require.NoError(t, err, raw)
		assert.Equal(t, full.GroupKey(), ev.GroupKey(), raw)
		assert.Equal(t, full.Title(), ev.Title(), raw)
		assert.Equal(t, full.Culprit(), ev.Culprit(), raw)
		assert.Equal(t, full.Timestamp, ev.Timestamp)
		assert.Equal(t, full.Level, ev.Level)
		assert.Equal(t, full.Environment, ev.Environment)
		assert.Equal(t, full.Release, ev.Release)
		assert.Equal(t, full.Fingerprint, ev.Fingerprint)
		assert.Equal(t, full.EventID, ev.EventID)
	}
}

// TestParseEventStackAgreesWithEncodingJSON: the exceptions and stack
// traces read by stack.go equal encoding/json's decoding of them (frames
// without their source lines, which are never read), and the values
// encoding/json refuses are refused.
func TestParseEventStackAgreesWithEncodingJSON(t *testing.T) {
	frames := `[{"function":"main","module":"main","filename":"main.go","abs_path":"/app/main.go","lineno":3,"in_app":true,"pre_context":["a"],"context_line":"x","vars":{"a":1}},` +
		`null,{},{"function":"a\"b\u00e9\n","lineno":null,"in_app":null,"module":null},{"function":"bad ` + "\xff" + ` utf8","in_app":false,"lineno":-7},` +
		`{"function":"dup","function":"last wins"}]`
	inputs := []string{
		`{"exception":[{"type":"E","value":"v","module":"m","mechanism":{"type":"panic","handled":false,"data":{"k":"v"}},"stacktrace":{"frames":` + frames + `}}]}`,
		`{"exception":{"values":[{"type":"E","stacktrace":{"frames":[]}},null,{"stacktrace":null,"mechanism":null}]}}`,
		`{"exception":{"values":null}}`,
		`{"exception":{"other":1}}`,
		`{"exception":[]}`,
		`{"exception":null,"stacktrace":{"frames":` + frames + `}}`,
		`{"stacktrace":{"frames":null}}`,
		`{"stacktrace":{}}`,
		`{"exception":[{"type":"E","value":"` + "\xff\xfe" + `"}]}`,
	}
	// And what the stock sentry-go SDK sent (recorded).
	files, _ := filepath.Glob("../../internal/sentryproto/decode/testdata/*.envelope")
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		env, err := decode.Envelope(b)
		require.NoError(t, err)
		for _, it := range env.Items {
			if it.Header.Type == "event" {
				inputs = append(inputs, string(it.Payload))
			}
		}
	}
	for _, raw := range inputs {
		ev, err := parseEvent([]byte(raw))
		require.NoError(t, err, raw)
		full, err := decode.Event([]byte(raw))
		require.NoError(t, err, raw)
		strip := func(st *event.Stacktrace) {
			if st == nil {
				return
			}
			for i := range st.Frames {
				st.Frames[i].ContextLine, st.Frames[i].PreContext, st.Frames[i].PostContext = "", nil, nil
			}
		}
		for i := range full.Exception {
			strip(full.Exception[i].Stacktrace)
		}
		strip(full.Stacktrace)
		assert.Equal(t, full.Exception, ev.Exception, raw)
		assert.Equal(t, full.Stacktrace, ev.Stacktrace, raw)
	}
	for _, raw := range []string{
		`{"exception":"boom"}`,
		`{"exception":{"values":"boom"}}`,
		`{"exception":[1]}`,
		`{"exception":[{"type":1}]}`,
		`{"exception":[{"value":true}]}`,
		`{"exception":[{"stacktrace":[]}]}`,
		`{"exception":[{"mechanism":"x"}]}`,
		`{"exception":[{"stacktrace":{"frames":{}}}]}`,
		`{"exception":[{"stacktrace":{"frames":["f"]}}]}`,
		`{"stacktrace":{"frames":[{"lineno":"3"}]}}`,
		`{"stacktrace":{"frames":[{"lineno":3.5}]}}`,
		`{"stacktrace":{"frames":[{"lineno":1e3}]}}`,
		`{"stacktrace":{"frames":[{"lineno":99999999999999999999}]}}`,
		`{"stacktrace":{"frames":[{"in_app":"yes"}]}}`,
		`{"stacktrace":{"frames":[{"in_app":1}]}}`,
		`{"stacktrace":{"frames":[{"abs_path":{}}]}}`,
		`{"stacktrace":"x"}`,
	} {
		_, err := decode.Event([]byte(raw))
		require.Error(t, err, "encoding/json refuses %s", raw)
		_, err = parseEvent([]byte(raw))
		assert.Error(t, err, raw)
	}
}

// TestParseEventThreads: a message event's stack comes from the crashed
// thread, else the current one, else the first with a stack; a thread
// that does not decode is passed over.
func TestParseEventThreads(t *testing.T) {
	st := func(fn string) string { return `{"frames":[{"function":"` + fn + `","in_app":true}]}` }
	for _, c := range []struct{ threads, want string }{
		{`[{"stacktrace":` + st("first") + `},{"stacktrace":` + st("second") + `}]`, "first"},
		{`{"values":[{"stacktrace":` + st("first") + `},{"current":true,"stacktrace":` + st("current") + `}]}`, "current"},
		{`[{"crashed":true,"stacktrace":` + st("crashed") + `},{"current":true,"stacktrace":` + st("current") + `}]`, "crashed"},
		{`[{"stacktrace":{"frames":[{"lineno":"x"}]}},{"stacktrace":` + st("good") + `}]`, "good"},
		{`[1,"x",{"stacktrace":` + st("only") + `}]`, "only"},
	} {
		ev, err := parseEvent([]byte(`{"message":"m","threads":` + c.threads + `}`))
		require.NoError(t, err, c.threads)
		require.NotNil(t, ev.Stacktrace, c.threads)
		assert.Equal(t, c.want, ev.Stacktrace.Frames[0].Function, c.threads)
	}
	ev, err := parseEvent([]byte(`{"message":"m","threads":"nonsense"}`))
	require.NoError(t, err)
	assert.Nil(t, ev.Stacktrace)
}

// FuzzParseEventStack: on any input, the exception and stack trace read
// by stack.go are those encoding/json reads, and it refuses what
// encoding/json refuses (go test -fuzz FuzzParseEventStack ./ingest).
func FuzzParseEventStack(f *testing.F) {
	f.Add(`{"exception":[{"type":"E","value":"v","stacktrace":{"frames":[{"function":"f","lineno":3,"in_app":true}]}}]}`)
	f.Add(`{"exception":{"values":[{"mechanism":{"type":"panic"},"stacktrace":null}]},"stacktrace":{"frames":[null,{}]}}`)
	f.Add(`{"stacktrace":{"frames":[{"lineno":-0,"abs_path":"a\u00e9","in_app":false}]}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		ev, perr := parseEvent([]byte(raw))
		var probe map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &probe) != nil {
			if perr == nil {
				t.Fatalf("accepted invalid JSON %q", raw)
			}
			return
		}
		var tree any
		json.Unmarshal([]byte(raw), &tree)
		if foldedKey(tree) {
			return // keys match exactly, as in Relay; encoding/json ignores case
		}
		only := map[string]json.RawMessage{}
		for _, k := range []string{"exception", "stacktrace"} {
			if v, ok := probe[k]; ok {
				only[k] = v
			}
		}
		b, _ := json.Marshal(only)
		full, ferr := decode.Event(b)
		if ferr != nil {
			if perr == nil {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", raw, ferr)
			}
			return
		}
		if perr != nil {
			if strings.Contains(perr.Error(), "exception") || strings.Contains(perr.Error(), "stacktrace") || strings.Contains(perr.Error(), "frame") {
				t.Fatalf("refused %q (%v), which encoding/json reads", raw, perr)
			}
			return
		}
		for _, st := range append([]*event.Stacktrace{full.Stacktrace}, stacks(full.Exception)...) {
			if st != nil {
				for i := range st.Frames {
					st.Frames[i].ContextLine, st.Frames[i].PreContext, st.Frames[i].PostContext = "", nil, nil
				}
			}
		}
		assert.Equal(t, full.Exception, ev.Exception, raw)
		assert.Equal(t, full.Stacktrace, ev.Stacktrace, raw)
	})
}

// foldedKey reports whether v has a key that is a field name read by
// stack.go in another case.
func foldedKey(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			for _, n := range []string{"exception", "stacktrace", "values", "type", "value", "module", "mechanism", "frames",
				"function", "filename", "abs_path", "lineno", "in_app", "context_line", "pre_context", "post_context"} {
				if k != n && strings.EqualFold(k, n) {
					return true
				}
			}
			if foldedKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if foldedKey(e) {
				return true
			}
		}
	}
	return false
}

func stacks(exc []event.Exception) []*event.Stacktrace {
	var out []*event.Stacktrace
	for _, e := range exc {
		out = append(out, e.Stacktrace)
	}
	return out
}
