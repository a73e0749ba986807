package errlog

import (
	"log/slog"

	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsolePanicOnceFramesFolded: a panic recovered by the middleware
// is printed once on the console (not as the message and again as
// error="…"), with the application's frames in full and net/http's
// serving loop folded into one line.
func TestConsolePanicOnceFramesFolded(t *testing.T) {
	h, console, _, _ := newTestHandler(t, Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]int
		//lint:ignore SA5000 the handler panics on purpose
		m["x"] = 1 // assignment to entry in nil map
	})
	base := serve(t, h, mux)
	resp, err := http.Get(base + "/boom")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	flush(t, h)

	out := console.String()
	assert.Equal(t, 1, strings.Count(out, "assignment to entry in nil map"), "the panic's text once:\n%s", out)
	assert.Contains(t, out, "TestConsolePanicOnceFramesFolded.func1", "the handler's own frame")
	assert.Regexp(t, regexp.MustCompile(`\+\d+ frames in net/http`), out, "net/http's frames folded")
	assert.NotContains(t, out, "net/http.(*conn).serve\n", "no net/http frame in full")
}

// TestFileKeepsEveryFrame: the log file is the full record; only the
// console folds.
func TestFileKeepsEveryFrame(t *testing.T) {
	h, _, file, _ := newTestHandler(t, Options{Console: io.Discard})
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	base := serve(t, h, mux)
	resp, err := http.Get(base + "/boom")
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	out := file.String()
	assert.Contains(t, out, "net/http.(*conn).serve")
	assert.Equal(t, 1, strings.Count(out, "panic: boom"), "the panic's text once:\n%s", out)
}

// TestStructPrintedOneWay: a struct is printed as slog prints a group, in
// field order by name, on the console and in the file alike (not as Go's
// map[…], which named it a map), and is an object in the event.
func TestStructPrintedOneWay(t *testing.T) {
	type order struct {
		ID    int
		Note  string
		Items []string
	}
	h, console, file, sink := newTestHandler(t, Options{NoColor: true})
	slog.New(h).Error("checkout failed", "order", order{ID: 7, Note: "gift", Items: []string{"a", "b"}}, "empty", struct{}{})
	flush(t, h)
	for name, out := range map[string]string{"console": console.String(), "file": file.String()} {
		assert.Contains(t, out, "order.ID=7", name)
		assert.Contains(t, out, "order.Note=gift", name)
		assert.Contains(t, out, "empty={}", name)
		assert.NotContains(t, out, "map[", name)
	}
	evs := sink.all()
	require.Len(t, evs, 1)
	assert.Equal(t, map[string]any{"ID": int64(7), "Note": "gift", "Items": []any{"a", "b"}}, evs[0].Extra["order"])
}
