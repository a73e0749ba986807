package ingest

import (
	"testing"

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
	slim := slimException(nil, []byte(`[{"type":"E","stacktrace":{"frames":[{"function":"f","vars":{"a":1},"pre_context":["x"],"in_app":true}]},"extra":1}]`))
	assert.JSONEq(t, `[{"type":"E","stacktrace":{"frames":[{"function":"f","in_app":true}]}}]`, string(slim))
}
