package event_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/sentryschema"
)

// validate checks one encoded event against the Sentry event schema.
func validate(t *testing.T, b []byte) {
	t.Helper()
	if err := sentryschema.Validate(b); err != nil {
		t.Errorf("%v\n%s", err, b)
	}
}

func fullEvent() *event.Event {
	handled := false
	frames := []event.Frame{
		{Function: "main", Module: "main", Filename: "main.go", AbsPath: "/src/app/main.go", Lineno: 12, InApp: true},
		{Function: "(*Server).handle", Module: "example.com/app/server", Filename: "server/server.go", AbsPath: "/src/app/server/server.go", Lineno: 88, InApp: true},
		{Function: "Open", Module: "os", Filename: "os/file.go", AbsPath: "/usr/lib/go/src/os/file.go", Lineno: 300},
	}
	return &event.Event{
		EventID:     event.NewID(),
		Timestamp:   time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.FixedZone("CET", 3600)),
		Level:       event.LevelError,
		Logger:      "slog",
		Platform:    "go",
		Logentry:    &event.Logentry{Message: "open %s", Formatted: "open config: no such file", Params: []any{"config", 1, 2.5, true, nil}},
		Transaction: "GET /users/{id}",
		Exception: []event.Exception{
			{Type: "syscall.Errno", Value: "no such file or directory", Module: "syscall"},
			{Type: "*fs.PathError", Value: "open config: no such file or directory", Module: "io/fs"},
			{
				Type: "*fmt.wrapError", Value: "loading: open config: no such file or directory",
				Stacktrace: &event.Stacktrace{Frames: frames},
				Mechanism:  &event.Mechanism{Type: "slog", Description: "slog.Error", Handled: &handled, Data: map[string]any{"k": "v"}},
			},
		},
		Stacktrace: &event.Stacktrace{Frames: frames},
		Request: &event.Request{
			URL: "https://example.com/users/7", Method: "POST", QueryString: "a=1&b=2",
			Data:    map[string]any{"name": "x", "password": "**************"},
			Headers: map[string]string{"User-Agent": "curl/8", "Content-Type": "application/json"},
			Cookies: map[string]string{"session": "**************"},
			Env:     map[string]string{"REMOTE_ADDR": "10.0.0.1"},
		},
		Contexts: map[string]map[string]any{
			"os":              {"name": "linux", "type": "os"},
			"runtime":         {"name": "go", "version": "go1.26", "type": "runtime"},
			"device":          {"arch": "amd64", "num_cpu": 8, "type": "device"},
			"request context": {"tenant": "acme", "nested": map[string]any{"a": []any{1, "b"}}},
		},
		Tags:        map[string]string{"region": "eu", "component": "api"},
		Extra:       map[string]any{"attempt": 3, "ratio": 0.5, "ids": []any{1, 2}, "nested": map[string]any{"deep": map[string]any{"x": nil}}},
		User:        &event.User{ID: "7", Email: "a@example.com", Username: "ann", IPAddress: "10.0.0.1", Data: map[string]any{"plan": "pro"}},
		Environment: "production",
		Release:     "v1.4.2",
		ServerName:  "web-1",
		Modules:     map[string]string{"github.com/errlog/errlog": "v0.1.0", "golang.org/x/text": "v0.14.0"},
		Fingerprint: []string{"{{ default }}", "db"},
		SDK:         &event.SDK{Name: "errlog.go", Version: "0.1.0"},
	}
}

func TestSchemaFullEvent(t *testing.T) {
	b, err := json.Marshal(fullEvent())
	if err != nil {
		t.Fatal(err)
	}
	validate(t, b)
	if !strings.Contains(string(b), `"timestamp":"2024-02-29T22:59:59.999999Z"`) {
		t.Errorf("timestamp is not UTC RFC 3339 with Z: %s", b)
	}
}

func TestSchemaMinimalEvents(t *testing.T) {
	for name, ev := range map[string]*event.Event{
		"message only":            {EventID: event.NewID(), Timestamp: time.Now(), Level: event.LevelInfo, Logentry: &event.Logentry{Formatted: "hello"}},
		"exception without stack": {EventID: event.NewID(), Timestamp: time.Now(), Exception: []event.Exception{{Type: "*errors.errorString", Value: "x"}}},
		"empty frames":            {EventID: event.NewID(), Timestamp: time.Now(), Stacktrace: &event.Stacktrace{Frames: []event.Frame{}}},
		"every level":             {EventID: event.NewID(), Timestamp: time.Now(), Level: event.LevelFatal},
		"debug and warning":       {EventID: event.NewID(), Timestamp: time.Now(), Level: event.LevelWarning, Logger: "x", Platform: "go"},
	} {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		validate(t, b)
	}
}

// TestStrictRoundTrip: Event's own UnmarshalJSON reads back what
// MarshalJSON writes, and only that; other SDKs' shapes are the server's
// decoder's (wire/decode).
func TestStrictRoundTrip(t *testing.T) {
	ev := fullEvent()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back event.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Errorf("round trip changed the event:\n%s\n%s", b, b2)
	}
	if !back.Timestamp.Equal(ev.Timestamp.Round(time.Microsecond)) || len(back.Exception) != len(ev.Exception) || len(back.Breadcrumbs) != len(ev.Breadcrumbs) {
		t.Errorf("decoded %+v", back)
	}
	for _, in := range []string{`{"timestamp":1700000000}`, `{"exception":[{"type":"x"}]}`, `{"timestamp":"yesterday"}`} {
		if err := json.Unmarshal([]byte(in), &back); err == nil {
			t.Errorf("strict UnmarshalJSON(%s): no error", in)
		}
	}
}

// TestSchemaCatchesErrors makes sure the validation above can fail.
func TestSchemaCatchesErrors(t *testing.T) {
	for _, bad := range []string{
		`{"event_id":"fc6d8c0c43fc4630ad850ee518f1b9d0","level":"loud"}`,
		`{"exception":{"values":"not a list"}}`,
		`{"event_id":"FC6D8C0C43FC4630AD850EE518F1B9D0"}`,
		`{"event_id":"fc6d8c0c"}`,
		`{"timestamp":"2024-01-01T10:00:00+01:00"}`,
		`{"timestamp":"yesterday"}`,
		`{"event_id":"fc6d8c0c43fc4630ad850ee518f1b9d0","user":"ann"}`,
		`not json`,
	} {
		if sentryschema.Validate([]byte(bad)) == nil {
			t.Errorf("%s validates; the schema check would miss it", bad)
		}
	}
}

// An event with processing errors and a client culprit, as errlogd's
// decoder makes one, still encodes in the schema.
func TestProcessingErrorsInSchema(t *testing.T) {
	ev := event.Event{EventID: event.NewID(), ClientCulprit: "app.views.index",
		Errors: []event.ProcessingError{{Type: "invalid_data", Name: "user.email", Value: `["x"]`, Reason: "a list, want a string"}}}
	b, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := sentryschema.Validate(b); err != nil {
		t.Errorf("%v\n%s", err, b)
	}
}
