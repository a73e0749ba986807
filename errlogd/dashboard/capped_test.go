package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBigEventPage: a 900 KB event of any shape (one huge value, many
// keys, many frames, a huge message, text that HTML escaping inflates)
// makes a group page of under 1 MB, which says it was cut and links to
// the whole JSON; the JSON link serves the event whole.
func TestBigEventPage(t *testing.T) {
	quotes := strings.Repeat(`"'x`, 60<<10) // 180 KB that HTML escaping makes 680 KB
	many := map[string]any{}
	for i := 0; i < 20000; i++ {
		many[fmt.Sprintf("key-%05d", i)] = strings.Repeat("v", 30)
	}
	var frames []event.Frame
	for i := 0; i < 3500; i++ {
		frames = append(frames, event.Frame{Function: fmt.Sprintf("f%d", i), Module: "example.com/app", Filename: "app.go", Lineno: i,
			InApp: true, ContextLine: strings.Repeat("x", 140)})
	}
	for name, mod := range map[string]func(*event.Event){
		"one value": func(e *event.Event) { e.Extra = map[string]any{"blob": quotes + quotes + quotes + quotes} },
		"many keys": func(e *event.Event) { e.Extra = many },
		"frames":    func(e *event.Event) { e.Exception[0].Stacktrace = &event.Stacktrace{Frames: frames} },
		"message":   func(e *event.Event) { e.Logentry = &event.Logentry{Message: strings.Repeat("m'", 400<<10)} },
		"nested big": func(e *event.Event) {
			e.Contexts = map[string]map[string]any{"c": {"k": []any{map[string]any{"v": quotes}, quotes, quotes}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := openStore(t)
			ev := httpEvent("big "+name, "*app.Error", time.Now().Add(-time.Minute))
			mod(ev)
			b, _ := json.Marshal(ev)
			require.Greater(t, len(b), 500<<10, "the event is big")
			require.Less(t, len(b), 1<<20, "as ingest takes it")
			submit(t, st, project(t, st), ev)
			srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
			defer srv.Close()
			resp, page := get(t, client(t), srv.URL+"/dev/error/groups/1")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			t.Logf("%s: event %d KB, page %d KB", name, len(b)>>10, len(page)>>10)
			assert.Less(t, len(page), 1<<20, "page bytes")
			assertHas(t, page, `id="capped"`)
			assertHas(t, page, `href="/dev/error/events/1/json"`)
			resp, whole := get(t, client(t), srv.URL+"/dev/error/events/1/json")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Greater(t, len(whole), 500<<10, "the JSON link serves the whole event")
		})
	}
}

// TestCapEvent: what is cut, and that members keep their order.
func TestCapEvent(t *testing.T) {
	small := []byte(`{"b":1,"a":"x"}`)
	out, cut, deep := capEvent(small)
	assert.False(t, cut || deep)
	assert.Equal(t, small, out)
	big := fmt.Sprintf(`{"z":%q,"a":[%s],"m":{"x":1}}`, strings.Repeat("s", 40<<10), strings.TrimSuffix(strings.Repeat(`"i",`, 1000), ","))
	out, cut, deep = capEvent([]byte(big))
	require.True(t, cut)
	assert.False(t, deep)
	var v struct {
		Z string
		A []string
		M map[string]int
	}
	require.NoError(t, json.Unmarshal(out, &v))
	assert.True(t, strings.HasSuffix(v.Z, "… (32,768 bytes more)"), v.Z[len(v.Z)-40:])
	assert.Len(t, v.A, 201)
	assert.Equal(t, "… (800 more items)", v.A[100])
	assert.Equal(t, 1, v.M["x"])
	assert.True(t, strings.Index(string(out), `"z"`) < strings.Index(string(out), `"a"`), "order kept")
}

// TestRepeatedParamMessagePage: a 19 KB event whose template names a
// 10 KB parameter 3,000 times shows the first 8 KiB of its message, cut,
// in a small page: the page formatted the 30 MB message twice and printed
// it whole.
func TestRepeatedParamMessagePage(t *testing.T) {
	st := openStore(t)
	ev := httpEvent("repeated", "*app.Error", time.Now().Add(-time.Minute))
	ev.Logentry = &event.Logentry{Message: strings.Repeat("{0}", 3000), Params: []any{strings.Repeat("A", 10000)}}
	submit(t, st, project(t, st), ev)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	resp, page := get(t, client(t), srv.URL+"/dev/error/groups/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Less(t, len(page), 128<<10, "page bytes")
	assertHas(t, page, `<pre class="msg" dir="auto">`+strings.Repeat("A", capString)+"…</pre>")
}

// TestDeepEventPage: a 30 KB event nesting lists 990 deep, 15 times, in
// its extras (under capFrom, so not cut as big) makes a small page, which
// says it was cut: indenting each level, the page grew with the square of
// the depth (59 MB).
func TestDeepEventPage(t *testing.T) {
	st := openStore(t)
	ev := httpEvent("deep", "*app.Error", time.Now().Add(-time.Minute))
	ev.Extra = map[string]any{}
	for i := 0; i < 15; i++ {
		var v any = 1
		for range 990 {
			v = []any{v}
		}
		ev.Extra[fmt.Sprintf("x%d", i)] = v
	}
	b, _ := json.Marshal(ev)
	require.Less(t, len(b), capFrom, "not a big event")
	submit(t, st, project(t, st), ev)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	resp, page := get(t, client(t), srv.URL+"/dev/error/groups/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Logf("event %d bytes, page %d bytes", len(b), len(page))
	assert.Less(t, len(page), 256<<10, "page bytes")
	assertHas(t, page, `id="capped">This event nests lists and objects more than 32 deep`)
	assertHas(t, page, "… (nested too deep)")
	assertHasNot(t, page, "This event is big")
}

// TestCapEventDepth: a small event is cut only past capMaxDepth levels,
// its own object included; what is not too deep is shown as it was sent.
func TestCapEventDepth(t *testing.T) {
	nested := func(levels int) []byte {
		return []byte(`{"s":"[[[[{{","x":` + strings.Repeat("[", levels-1) + "1" + strings.Repeat("]", levels-1) + `}`)
	}
	out, big, deep := capEvent(nested(capMaxDepth))
	assert.False(t, big || deep)
	assert.Equal(t, nested(capMaxDepth), out, "shown as sent")
	out, big, deep = capEvent(nested(capMaxDepth + 1))
	assert.False(t, big)
	assert.True(t, deep)
	want := `{"s":"[[[[{{","x":` + strings.Repeat("[", capMaxDepth-1) + `"… (nested too deep)"` + strings.Repeat("]", capMaxDepth-1) + `}`
	assert.Equal(t, want, string(out))
}
