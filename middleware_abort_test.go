package errlog

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A panic after the response began cannot be answered with a 500: the
// connection is aborted, as net/http does without errlog, so that the
// client does not take the part it received for the whole body.
func TestMiddlewarePanicAfterResponseBeganAbortsIt(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	srv := httptest.NewUnstartedServer(h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[1,2,`)
		w.(http.Flusher).Flush()
		panic("database went away mid-stream")
	})))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the client must see the body cut short, not %q complete", body)
	assert.Equal(t, `{"items":[1,2,`, string(body))

	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1, "the panic is reported once")
	require.NotEmpty(t, evs[0].Exception)
	assert.Equal(t, "database went away mid-stream", evs[0].Exception[len(evs[0].Exception)-1].Value)
}

// Two Middlewares in a row report a panic once: the outer one lets the
// inner one's abort through.
func TestNestedMiddlewareReportsAbortedPanicOnce(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	mw := h.Middleware(h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic("mid-stream")
	})))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		mw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
	flush(t, h)
	assert.Len(t, sink.all(), 1)
}

// Repanic re-panics with the handler's own value, begun response or not.
func TestMiddlewareRepanicAfterResponseBegan(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Repanic: true})
	mw := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic("again")
	}))
	assert.PanicsWithValue(t, "again", func() {
		mw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
	flush(t, h)
	assert.Len(t, sink.all(), 1)
}
