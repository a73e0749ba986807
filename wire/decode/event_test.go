package decode

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/sentryschema"
	"github.com/stretchr/testify/assert"
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

// TestEventLenient: values of the wrong type cost themselves only, each
// recorded; numbers and booleans where strings belong are their text.
func TestEventLenient(t *testing.T) {
	ev, err := Event([]byte(`{"user":{"id":42,"email":{"x":1},"name":"Ann"},"release":1.5,"environment":true,
		"exception":[7,{"type":3,"value":"v","stacktrace":{"frames":["f",null,{"function":"g","lineno":"9","in_app":"yes"}]}}],
		"tags":{"n":1,"b":false,"o":{"k":"v"}},"level":"warn","fingerprint":["a",2,{}],"extra":{"n":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.User.ID != "42" || ev.User.Email != "" || ev.User.Data["name"] != "Ann" || ev.Release != "1.5" || ev.Environment != "true" {
		t.Errorf("user %+v, release %q, environment %q", ev.User, ev.Release, ev.Environment)
	}
	if len(ev.Exception) != 1 || ev.Exception[0].Type != "3" {
		t.Fatalf("exceptions %+v: the non-object dropped, the type a string", ev.Exception)
	}
	frames := ev.Exception[0].Stacktrace.Frames
	if len(frames) != 2 || frames[1].Function != "g" || frames[1].Lineno != 0 || frames[1].InApp {
		t.Errorf("frames %+v: the string dropped, null kept as encoding/json keeps it, bad lineno and in_app dropped", frames)
	}
	if ev.Tags["n"] != "1" || ev.Tags["b"] != "false" || ev.Tags["o"] != `{"k":"v"}` || ev.Level != "warning" {
		t.Errorf("tags %v, level %q", ev.Tags, ev.Level)
	}
	if len(ev.Fingerprint) != 2 || ev.Fingerprint[1] != "2" {
		t.Errorf("fingerprint %q", ev.Fingerprint)
	}
	if n, ok := ev.Extra["n"].(float64); !ok || n != 1 {
		t.Errorf("extra %v: numbers as encoding/json decodes them", ev.Extra)
	}
	var names []string
	for _, e := range ev.Errors {
		names = append(names, e.Name)
	}
	want := []string{"user.email", "fingerprint.2", "exception.exception", "exception.frame", "exception.lineno", "exception.in_app"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("errors %q, want %q", names, want)
	}
}

// TestDecoderPanicContained: a panic in decodeEvent's work becomes the
// event's error (contain, deferred by decodeEvent).
func TestDecoderPanicContained(t *testing.T) {
	decode := func() (_ *event.Event, err error) {
		defer contain(&err)
		var frames []event.Frame
		_ = frames[3] // a decoder bug: an index out of range
		return &event.Event{}, nil
	}
	ev, err := decode()
	assert.Nil(t, ev)
	assert.ErrorContains(t, err, "event: decoder failed: runtime error: index out of range")
}

// TestEscapedKeys: a key is read by what it says, escapes decoded, at
// every level, as encoding/json (and Relay) read it: "event\u005fid" is
// the event's id, not an unknown field.
func TestEscapedKeys(t *testing.T) {
	b := []byte(`{"event\u005fid":"0123456789abcdef0123456789abcdef","\u006cevel":"warning",
		"user":{"\u0069d":"7"},"tags":{"k\u00e9y":"v"},
		"exception":{"values":[{"typ\u0065":"E","value":"boom","stacktrace":{"frames":[{"fun\u0063tion":"f","in\u005fapp":true,"lineno":3}]}}]}}`)
	var want event.Event
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for name, decode := range map[string]func([]byte) (*event.Event, error){"Event": Event, "Summary": Summary} {
		ev, err := decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assert.Equal(t, "0123456789abcdef0123456789abcdef", ev.EventID, name)
		assert.Equal(t, event.Level("warning"), ev.Level, name)
		if assert.Len(t, ev.Exception, 1, name) {
			assert.Equal(t, want.Exception[0].Type, ev.Exception[0].Type, name)
			assert.Equal(t, "E", ev.Exception[0].Type, name)
			frames := ev.Exception[0].Stacktrace.Frames
			if assert.Len(t, frames, 1, name) {
				assert.Equal(t, "f", frames[0].Function, name)
				assert.True(t, frames[0].InApp, name)
				assert.Equal(t, 3, frames[0].Lineno, name)
			}
		}
		assert.Empty(t, ev.Errors, name)
	}
	ev, err := Event(b)
	if assert.NoError(t, err) {
		assert.Equal(t, "7", ev.User.ID)
		assert.Equal(t, map[string]string{"kéy": "v"}, ev.Tags)
	}
}

// TestNullNonFinite: Python's non-finite floats become null outside
// strings, nothing inside them, and the result is valid JSON.
func TestNullNonFinite(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":NaN,"b":[Infinity,-Infinity],"c":"NaN \"Infinity\" -Infinity\\"}`: `{"a":null,"b":[null,null],"c":"NaN \"Infinity\" -Infinity\\"}`,
		`{"x":-1.5,"y":"NaN"}`: `{"x":-1.5,"y":"NaN"}`,
		`NaN`:                  `null`,
	} {
		got, replaced := NullNonFinite([]byte(in))
		assert.Equal(t, want, string(got), in)
		assert.Equal(t, in != want, replaced, in)
		assert.True(t, json.Valid(got), in)
	}
}
