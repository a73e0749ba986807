//go:build go1.23

// The ServeMux patterns of Go 1.22 and later are what users have; this
// module says go 1.21, which would turn them off in its own tests, and
// http.Request.Pattern, the route, arrived in Go 1.23.

//go:debug httpmuxgo121=0

package errlog

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMiddlewareRoute(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).ErrorContext(r.Context(), "bad item", "id", r.PathValue("id"))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	base := serve(t, h, mux)
	resp, err := http.Post(base+"/api/items/9", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = http.Get(base + "/login?x=1")
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	assert.Equal(t, "POST /api/items/{id}", evs[0].Transaction, "the ServeMux pattern is the route")
	assert.Equal(t, "9", evs[0].Extra["id"])
	assert.Equal(t, "/login", evs[1].Transaction)
	assert.Equal(t, []string{"errlog.http-status", "500", "/login"}, evs[1].Fingerprint, "a tracked status groups by route")
}
