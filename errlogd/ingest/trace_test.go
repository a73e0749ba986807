package ingest

import (
	"github.com/errlog/errlog/wire/decode"
	"testing"

	"github.com/errlog/errlog/errlogd/store"
)

// The trace of an event is read from contexts.trace, as sentry-go, the
// JS SDKs and errlog's OpenTelemetry hook send it; a contexts of another
// shape is no trace and no error.
func TestParseEventTrace(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"message":"x","contexts":{"os":{"name":"linux"},"trace":{"trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736","span_id":"00f067aa0ba902b7","op":"http.server"}}}`, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{`{"message":"x","contexts":{"trace":{"trace_id":"4bf92f35-77b3-4da6-a3ce-929d0e0e4736"}}}`, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{`{"message":"x","contexts":{"trace":"4bf92f3577b34da6a3ce929d0e0e4736"}}`, ""},
		{`{"message":"x","contexts":[1,2]}`, ""},
		{`{"message":"x","contexts":{"trace":{"trace_id":42}}}`, ""},
		{`{"message":"x","contexts":null}`, ""},
		{`{"message":"x"}`, ""},
	} {
		ev, err := decode.Summary([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if got := store.TraceID(ev); got != tc.want {
			t.Errorf("%s: trace %q, want %q", tc.body, got, tc.want)
		}
	}
}
