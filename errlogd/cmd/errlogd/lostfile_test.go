package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLostDatabaseFile: the SQLite file deleted or replaced under a
// running errlogd (issue 20.3). Ingest answers 503 instead of
// acknowledging into a file nobody can read, healthz fails, and stderr
// says why.
func TestLostDatabaseFile(t *testing.T) {
	for _, how := range []string{"deleted", "replaced"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "errlog.db")
			p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", db)
			var dsn string
			for deadline := time.Now().Add(5 * time.Second); dsn == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				dsn = dsnLine.FindString(p.outText())
			}
			require.NotEmpty(t, dsn)
			key := dsn[7:39]
			send := func() (int, string) {
				req, _ := http.NewRequest("POST", p.base+"/api/1/store/", strings.NewReader(`{"message":"stored?"}`))
				req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+key)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			health := func() (int, string) {
				resp, err := http.Get(p.base + "/healthz")
				require.NoError(t, err)
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			code, body := send()
			require.Equal(t, 200, code, body)
			code, _ = health()
			require.Equal(t, 200, code)

			if how == "deleted" {
				require.NoError(t, os.Remove(db))
			} else {
				// Another errlogd database moved into its place.
				other := filepath.Join(dir, "other.db")
				o := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", other)
				o.stop(t)
				require.NoError(t, os.Rename(other, db))
			}
			for i := 0; i < 3; i++ {
				code, body = send()
				assert.Equal(t, http.StatusServiceUnavailable, code, body)
				assert.NotContains(t, body, dir, "the path is for the operator, not the client")
			}
			code, body = health()
			assert.Equal(t, http.StatusServiceUnavailable, code)
			assert.Contains(t, body, "deleted or replaced")
			assert.NotContains(t, body, dir)
			assert.Contains(t, p.errText(), db+" was "+how)
			assert.Equal(t, 1, strings.Count(p.errText(), db+" was "+how), "said once:\n%s", p.errText())
			p.stop(t)
		})
	}
}
