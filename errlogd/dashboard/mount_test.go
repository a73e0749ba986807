package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errlogd mounts the dashboard on prefix+"/" beside its API on
// prefix+"/api/": each answers its own paths, with the same password.
func TestMountBesideAPI(t *testing.T) {
	st := openStore(t)
	submit(t, st, project(t, st), httpEvent("boom", "*app.Error", time.Now().Add(-time.Minute)))
	for _, prefix := range []string{"/dev/error", ""} {
		mux := http.NewServeMux()
		mux.Handle(prefix+"/api/", api.New(st, api.Options{Prefix: prefix, Password: pw}))
		mux.HandleFunc("GET "+prefix+"/healthz", func(w http.ResponseWriter, r *http.Request) {})
		mux.Handle(prefix+"/", Handler(st, Options{Prefix: prefix, Password: pw}))
		srv := httptest.NewServer(mux)
		try := func(path string) (int, string) {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.SetBasicAuth("admin", pw)
			resp, err := client(t).Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Content-Type")
		}
		code, ct := try(prefix + "/api/groups")
		assert.Equal(t, 200, code, prefix)
		assert.Equal(t, "application/json", ct, prefix)
		code, ct = try(prefix + "/")
		assert.Equal(t, 200, code, prefix)
		assert.True(t, strings.HasPrefix(ct, "text/html"), prefix)
		code, _ = try(prefix + "/groups/1")
		assert.Equal(t, 200, code, prefix)
		srv.Close()
	}
}
