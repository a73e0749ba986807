package store_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatParams(t *testing.T) {
	for _, c := range []struct {
		tmpl   string
		params string
		want   string
	}{
		{"charge %s failed for user %s", `["ch_1","ann"]`, "charge ch_1 failed for user ann"},
		{"%d items at %.2f, 100%%", `[3, 4.5]`, "3 items at 4.5, 100%"},
		{"%(op)s failed for %(user)r", `{"op":"refund","user":"ann"}`, "refund failed for ann"},
		{"{} then {}", `["a","b"]`, "a then b"},
		{"{1} before {0}", `["a","b"]`, "b before a"},
		{"{op} failed", `{"op":"refund"}`, "refund failed"},
		{"%s and %s", `["only"]`, "only and %s"},
		{"no params %s", `[]`, "no params %s"},
		{"value %s", `[{"k":1}]`, `value {"k":1}`},
		{"%(missing)s", `{"op":1}`, "%(missing)s"},
		{"{not closed", `["x"]`, "{not closed"},
	} {
		ev, err := decode.Event([]byte(`{"logentry":{"message":` + mustQuote(c.tmpl) + `,"params":` + c.params + `}}`))
		require.NoError(t, err)
		got, cut := store.FormatParams(ev.Logentry.Message, ev.Logentry.Params, 1<<10)
		assert.Equal(t, c.want, got, c.tmpl)
		assert.False(t, cut, c.tmpl)
	}
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestTitleAndCulprit: Sentry's title rules for every SDK, errlog's own
// for its client; the culprit the client sent, else the frame's without
// empty parts, else the transaction.
func TestTitleAndCulprit(t *testing.T) {
	for _, c := range []struct {
		raw, title, culprit string
	}{
		// raven-js: the message repeats the exception.
		{`{"message":"Error: x","exception":{"values":[{"type":"Error","value":"x"}]}}`, "Error: x", ""},
		// ASP.NET Core: the logger's boilerplate is not the title.
		{`{"logentry":{"formatted":"An unhandled exception has occurred while executing the request."},"exception":{"values":[{"type":"System.InvalidOperationException","value":"Sequence contains no elements"}]}}`,
			"System.InvalidOperationException: Sequence contains no elements", ""},
		{`{"logentry":{"message":"charge %s failed","params":["ch_1"]}}`, "charge ch_1 failed", ""},
		{`{"logentry":{"message":"charge %s failed","formatted":"charge #1 failed","params":["ch_1"]}}`, "charge #1 failed", ""},
		{`{"exception":[{"type":"E","value":"first line\nsecond"}]}`, "E: first line", ""},
		{`{"exception":[{"value":"no type"}]}`, "no type", ""},
		{`{}`, "(no message)", ""},
		// errlog's client: the logged message says what was being done.
		{`{"sdk":{"name":"errlog.go","version":"1"},"logentry":{"formatted":"charge failed"},"exception":[{"type":"*errors.errorString","value":"declined"}]}`,
			"charge failed: *errors.errorString: declined", ""},
		// Culprits.
		{`{"message":"m","culprit":"app.views.index","stacktrace":{"frames":[{"function":"f","in_app":true}]}}`, "m", "app.views.index"},
		{`{"message":"m","transaction":"/checkout","stacktrace":{"frames":[{"function":"f","module":"app","filename":"a.py","lineno":3,"in_app":true}]}}`, "m", "/checkout"},
		{`{"message":"m","stacktrace":{"frames":[{"function":"f","module":"app","filename":"a.py","lineno":3,"in_app":true}]}}`, "m", "app.f (a.py:3)"},
		{`{"sdk":{"name":"errlog.go"},"message":"m","transaction":"GET /users/{id}","stacktrace":{"frames":[{"function":"f","module":"app","filename":"a.go","lineno":3,"in_app":true}]}}`, "m", "app.f (a.go:3)"},
		{`{"message":"m","transaction":"/checkout"}`, "m", "/checkout"},
		{`{"message":"m","stacktrace":{"frames":[{"in_app":true}]}}`, "m", ""},
		{`{"message":"m","stacktrace":{"frames":[{"function":"onCreate","module":"com.app.Main","lineno":0,"in_app":true}]}}`, "m", "com.app.Main.onCreate"},
		{`{"message":"m","stacktrace":{"frames":[{"function":"handler","filename":"https://shop.example/app.js?v=3&token=x#top","lineno":12,"in_app":true}]}}`, "m", "handler (https://shop.example/app.js:12)"},
		{`{"message":"m","stacktrace":{"frames":[{"filename":"app.js","lineno":12,"in_app":true}]}}`, "m", "app.js:12"},
	} {
		ev, err := decode.Summary([]byte(c.raw))
		require.NoError(t, err, c.raw)
		assert.Equal(t, c.title, store.Title(ev), c.raw)
		assert.Equal(t, c.culprit, store.Culprit(ev), c.raw)
	}
}

// TestFormatParamsMax: the text stops at max bytes, on a rune boundary,
// and says it was cut; a text of exactly max bytes is not cut.
func TestFormatParamsMax(t *testing.T) {
	for _, c := range []struct {
		tmpl   string
		params []any
		max    int
		want   string
		cut    bool
	}{
		{"{0}{0}{0}", []any{"abc"}, 9, "abcabcabc", false},
		{"{0}{0}{0}", []any{"abc"}, 7, "abcabca", true},
		{"{0}, {0}", []any{"€€"}, 8, "€€, ", true},
		{"say %s", []any{"€"}, 5, "say ", true},
		{"€€ no params", nil, 4, "€", true},
		{"%s and %s", []any{"a", "b"}, 1 << 10, "a and b", false},
	} {
		got, cut := store.FormatParams(c.tmpl, c.params, c.max)
		assert.Equal(t, c.want, got, "%q max %d", c.tmpl, c.max)
		assert.Equal(t, c.cut, cut, "%q max %d", c.tmpl, c.max)
	}
}

// TestTitleOfRepeatedParam: a 19 KB event whose template names a 10 KB
// parameter 3,000 times ("{0}{0}…", as Python's str.format allows) gets
// its 200-byte title without formatting the 30 MB message: Prepare, which
// runs on every ingested event, allocated 154 MB for it.
func TestTitleOfRepeatedParam(t *testing.T) {
	ev := &event.Event{EventID: event.NewID(), Timestamp: time.Now(), Level: event.LevelError,
		Logentry: &event.Logentry{Message: strings.Repeat("{0}", 3000), Params: []any{strings.Repeat("A", 10000)}}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	in, err := store.Prepare(&store.Project{ID: 1, Name: "app"}, ev, nil, time.Now())
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("A", 200)+"…", in.Title)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated by Prepare")
}
