package decode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSummaryAgreesWithEvent: the slim decode groups, titles and
// blames an event exactly as decoding all of it would.
func TestSummaryAgreesWithEvent(t *testing.T) {
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
		ev, err := Summary([]byte(raw))
		require.NoError(t, err, raw)
		full, err := Event([]byte(raw))
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
		// Repeated keys: decoded over what the first one made.
		`{"stacktrace":{"frames":[{"function":"a","in_app":true}]},"stacktrace":{}}`,
		`{"stacktrace":{"frames":[{"function":"a"}]},"stacktrace":null,"stacktrace":{"frames":[{"lineno":2}]}}`,
		`{"exception":[{"type":"E","stacktrace":{"frames":[{"function":"f","in_app":true},{"function":"g"}],"frames":[{}]}}]}`,
		`{"exception":{"values":[{"type":"A"},{"type":"B"}],"values":[{"value":"v"}]}}`,
		`{"exception":{"values":[{"type":"A"}],"values":[]}}`,
		`{"exception":[{"mechanism":{"type":"a","handled":true},"mechanism":{"description":"d"}}]}`,
	}
	// And what the stock sentry-go SDK sent (recorded).
	files, _ := filepath.Glob("testdata/*.envelope")
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		env, err := Envelope(b)
		require.NoError(t, err)
		for _, it := range env.Items {
			if it.Header.Type == "event" {
				inputs = append(inputs, string(it.Payload))
			}
		}
	}
	for _, raw := range inputs {
		ev, err := Summary([]byte(raw))
		require.NoError(t, err, raw)
		full, err := jsonEvent([]byte(raw))
		require.NoError(t, err, raw)
		strip := func(st *event.Stacktrace) {
			if st == nil {
				return
			}
			for i := range st.Frames {
				st.Frames[i].PreContext, st.Frames[i].PostContext = nil, nil
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
		_, err := jsonEvent([]byte(raw))
		require.Error(t, err, "encoding/json refuses %s", raw)
		// A value of the wrong type costs that value, never the event.
		// (Numbers and booleans where strings belong are their text:
		// TestEventLenient.)
		ev, err := Summary([]byte(raw))
		require.NoError(t, err, raw)
		assert.NotEmpty(t, ev.Errors, raw)
		for _, e := range ev.Errors {
			assert.Equal(t, "invalid_data", e.Type, raw)
		}
	}
}

// threadStackJSON is threadStack with encoding/json (Values): the
// oracle it must agree with.
func threadStackJSON(raw []byte) *event.Stacktrace {
	type thread struct {
		Crashed    bool              `json:"crashed"`
		Current    bool              `json:"current"`
		Stacktrace *event.Stacktrace `json:"stacktrace"`
	}
	list, _ := Values[thread](raw)
	var pick *event.Stacktrace
	for _, th := range list {
		if th.Stacktrace == nil {
			continue
		}
		if pick == nil || th.Crashed || th.Current {
			pick = th.Stacktrace
		}
		if th.Crashed {
			break
		}
	}
	if pick != nil {
		for i := range pick.Frames {
			pick.Frames[i].PreContext, pick.Frames[i].PostContext = nil, nil
		}
	}
	return pick
}

// TestParseEventThreads: a message event's stack comes from the crashed
// thread, else the current one, else the first with a stack, read
// leniently as encoding/json reads it (a field of the wrong type is
// passed over, the rest kept).
func TestParseEventThreads(t *testing.T) {
	st := func(fn string) string { return `{"frames":[{"function":"` + fn + `","in_app":true}]}` }
	for _, c := range []struct{ threads, want string }{
		{`[{"stacktrace":` + st("first") + `},{"stacktrace":` + st("second") + `}]`, "first"},
		{`{"values":[{"stacktrace":` + st("first") + `},{"current":true,"stacktrace":` + st("current") + `}]}`, "current"},
		{`[{"crashed":true,"stacktrace":` + st("crashed") + `},{"current":true,"stacktrace":` + st("current") + `}]`, "crashed"},
		{`[{"crashed":true,"stacktrace":{"frames":[{"function":"crashfn","lineno":"12"}]}},{"stacktrace":` + st("other") + `}]`, "crashfn"},
		{`[{"crashed":true,"stacktrace":{"frames":[{"function":"crashfn","in_app":"true"}]}}]`, "crashfn"},
		{`[1,"x",{"stacktrace":` + st("only") + `}]`, "only"},
		{`[{"crashed":"yes","stacktrace":` + st("a") + `},{"stacktrace":"x"},{"current":true,"stacktrace":` + st("b") + `}]`, "b"},
		{`{"values":[{"stacktrace":` + st("dup") + `}],"values":[{"current":true}]}`, "dup"},
	} {
		raw := []byte(`{"message":"m","threads":` + c.threads + `}`)
		ev, err := Summary(raw)
		require.NoError(t, err, c.threads)
		require.NotNil(t, ev.Stacktrace, c.threads)
		assert.Equal(t, c.want, ev.Stacktrace.Frames[0].Function, c.threads)
		assert.Equal(t, threadStackJSON([]byte(c.threads)), ev.Stacktrace, c.threads)
	}
	for _, threads := range []string{`"nonsense"`, `{"values":null}`, `[{"stacktrace":null}]`, `{"values":[{"stacktrace":` + st("x") + `}],"values":null}`} {
		ev, err := Summary([]byte(`{"message":"m","threads":` + threads + `}`))
		require.NoError(t, err)
		assert.Nil(t, ev.Stacktrace, threads)
		assert.Nil(t, threadStackJSON([]byte(threads)), threads)
	}
}

// FuzzParseEventStack: on any input, the exception and stack trace read
// by stack.go are those encoding/json reads, when it reads them; any JSON
// object is an event (go test -fuzz FuzzParseEventStack ./wire/decode).
func FuzzParseEventStack(f *testing.F) {
	f.Add(`{"exception":[{"type":"E","value":"v","stacktrace":{"frames":[{"function":"f","lineno":3,"in_app":true}]}}]}`)
	f.Add(`{"exception":{"values":[{"mechanism":{"type":"panic"},"stacktrace":null}]},"stacktrace":{"frames":[null,{}]}}`)
	f.Add(`{"stacktrace":{"frames":[{"lineno":-0,"abs_path":"a\u00e9","in_app":false}]}}`)
	f.Add(`{"stacktrace":{"frames":[{"function":"a","in_app":true}]},"stacktrace":{}}`)
	f.Add(`{"exception":[{"stacktrace":{"frames":[{"function":"f"},{"function":"g"}],"frames":[{}]}}]}`)
	f.Add(`{"message":"m","threads":[{"crashed":true,"stacktrace":{"frames":[{"lineno":"1","function":"c"}]}}]}`)
	f.Add(`{"request":{"headers":[["a",1],"x"],"cookies":7,"env":[]},"user":{"id":1.5e3,"data":"x"},"breadcrumbs":[1,{"timestamp":"x"}],"contexts":{"os":1},"tags":"t","logentry":{"params":{"a":[1]}}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		ev, perr := Summary([]byte(raw))
		var probe map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &probe) != nil {
			if perr == nil {
				t.Fatalf("accepted invalid JSON %q", raw)
			}
			return
		}
		if probe == nil {
			return // null: not an event (encoding/json reads it as an empty one)
		}
		if _, err := Event([]byte(raw)); err != nil {
			t.Fatalf("Event refused the JSON object %q: %v", raw, err)
		}
		if foldedKey(raw) {
			return // keys match exactly, as in Relay; encoding/json ignores case
		}
		if th, ok := probe["threads"]; ok && perr == nil && strictThreads(th) {
			if got, want := threadStack(th, false, nil), threadStackJSON(th); !assert.Equal(t, want, got, "threads of %q", raw) {
				return
			}
		}
		// What encoding/json reads of the whole event, when it reads it.
		if full, ferr := jsonEvent([]byte(raw)); ferr == nil {
			if perr != nil {
				t.Fatalf("refused %q (%v), which encoding/json reads", raw, perr)
			}
			for _, st := range append([]*event.Stacktrace{full.Stacktrace}, stacks(full.Exception)...) {
				if st != nil {
					for i := range st.Frames {
						st.Frames[i].PreContext, st.Frames[i].PostContext = nil, nil
					}
				}
			}
			assert.Equal(t, full.Exception, ev.Exception, raw)
			if ev.Stacktrace != nil && full.Stacktrace == nil {
				return // from threads, which encoding/json's Event does not read
			}
			assert.Equal(t, full.Stacktrace, ev.Stacktrace, raw)
			return
		}
		if perr != nil {
			t.Fatalf("refused the JSON object %q: %v", raw, perr)
		}
	})
}

// foldedKey reports whether raw has a string (a key, or a value: it
// cannot tell) that is a field name read by stack.go in another case,
// duplicate keys included, which a map would lose.
func foldedKey(raw string) bool {
	dec := json.NewDecoder(strings.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		k, ok := tok.(string)
		if !ok {
			continue
		}
		for _, n := range []string{"exception", "stacktrace", "values", "type", "value", "module", "mechanism", "frames",
			"function", "filename", "abs_path", "lineno", "in_app", "context_line", "pre_context", "post_context",
			"threads", "crashed", "current"} {
			if k != n && strings.EqualFold(k, n) {
				return true
			}
		}
	}
}

func stacks(exc []event.Exception) []*event.Stacktrace {
	var out []*event.Stacktrace
	for _, e := range exc {
		out = append(out, e.Stacktrace)
	}
	return out
}

// jsonEvent is the oracle of the one-pass reader: encoding/json's
// decoding of an event's exception and stack trace.
func jsonEvent(b []byte) (*event.Event, error) {
	var raw struct {
		Exception  json.RawMessage
		Stacktrace *event.Stacktrace
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	ex, err := Values[event.Exception](raw.Exception)
	if err != nil {
		return nil, err
	}
	return &event.Event{Exception: ex, Stacktrace: raw.Stacktrace}, nil
}

// strictThreads reports whether encoding/json reads the threads without
// a type error: where it meets one, it leaves the zero value and the
// lenient reader may take a number as a string.
func strictThreads(raw []byte) bool {
	type thread struct {
		Crashed    bool              `json:"crashed"`
		Current    bool              `json:"current"`
		Stacktrace *event.Stacktrace `json:"stacktrace"`
	}
	_, err := Values[thread](raw)
	return err == nil
}

// TestFramesPoolKeepsNothing: a stack trace decoded after a longer one,
// into a pooled list, has none of its frames' fields, even where an
// element was dropped or a repeated key merged over the first.
func TestFramesPoolKeepsNothing(t *testing.T) {
	full := `{"function":"f","module":"m","filename":"f.go","abs_path":"/a/f.go","lineno":9,"colno":2,"in_app":true,"context_line":"x"}`
	long := `{"stacktrace":{"frames":[` + strings.Repeat(full+",", 40) + full + `]}}`
	for _, c := range []struct {
		raw  string
		want []event.Frame
	}{
		{`{"stacktrace":{"frames":[{},{"lineno":1}]}}`, []event.Frame{{}, {Lineno: 1}}},
		{`{"stacktrace":{"frames":["x",{},7,{"module":"n"}]}}`, []event.Frame{{}, {Module: "n"}}},
		{`{"stacktrace":{"frames":[{"colno":3},{}],"frames":[{"in_app":true}]}}`, []event.Frame{{Colno: 3, InApp: true}}},
		{`{"stacktrace":{"frames":[]}}`, []event.Frame{}},
	} {
		for i := 0; i < 3; i++ {
			_, err := Summary([]byte(long))
			require.NoError(t, err)
			ev, err := Summary([]byte(c.raw))
			require.NoError(t, err)
			require.NotNil(t, ev.Stacktrace, c.raw)
			assert.Equal(t, c.want, ev.Stacktrace.Frames, c.raw)
		}
	}
}
