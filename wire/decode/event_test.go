package decode

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/sentryschema"
)

func validate(t *testing.T, b []byte) {
	t.Helper()
	if err := sentryschema.Validate(b); err != nil {
		t.Errorf("%v\n%s", err, b)
	}
}

// TestEventSchemaRoundTrip decodes events in the shapes other SDKs send and
// re-encodes them: what errlogd stores and forwards must validate too.
func TestEventSchemaRoundTrip(t *testing.T) {
	for _, in := range []string{
		// sentry-go: flat exception list, nanosecond timestamp, message.
		`{"event_id":"b6f57afa3cca4f5a9c05ca38af9781fe","level":"error","platform":"go","message":"m","timestamp":"2026-11-21T23:59:47.091027865Z","exception":[{"type":"*errors.errorString","value":"inner","stacktrace":{"frames":[{"function":"main","module":"main","lineno":3,"in_app":true}]}}]}`,
		// Python: numeric timestamp, headers as pairs, cookies as a string.
		`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","timestamp":1700000000.25,"platform":"python","request":{"url":"http://x/","headers":[["Host","x"],["Accept","*/*"]],"cookies":"a=1; b=2","query_string":{"q":"1"}},"tags":[["k","v"]]}`,
	} {
		ev, err := Event([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, b)
	}
}

// Other SDKs send a bare list and numeric timestamps.
func TestBreadcrumbsLenientDecoding(t *testing.T) {
	ev, err := Event([]byte(`{"event_id":"0123456789abcdef0123456789abcdef","timestamp":1700000000,
		"breadcrumbs":[{"timestamp":1700000000.25,"category":"http","message":"GET /"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Breadcrumbs) != 1 || ev.Breadcrumbs[0].Category != "http" ||
		!ev.Breadcrumbs[0].Timestamp.Equal(time.Unix(1700000000, 250000000)) {
		t.Errorf("%+v", ev.Breadcrumbs)
	}
	ev, err = Event([]byte(`{"breadcrumbs":{"values":[{"timestamp":true,"message":"kept"}]}}`))
	if err != nil || len(ev.Breadcrumbs) != 1 || ev.Breadcrumbs[0].Message != "kept" || len(ev.Errors) != 1 || ev.Errors[0].Name != "breadcrumbs.0.timestamp" {
		t.Errorf("a bad breadcrumb timestamp costs the timestamp: %+v, %v", ev, err)
	}
}
