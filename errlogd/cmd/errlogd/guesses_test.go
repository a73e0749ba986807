package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGuessesSharedByErrlogd: errlogd gives the API and the dashboard one
// limit of password guesses: five wrong ones at the API hold back the
// dashboard's login form, right password included.
func TestGuessesSharedByErrlogd(t *testing.T) {
	p := start(t, []string{"ERRLOGD_ADMIN_PASSWORD=pw"}, "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "e.db"))
	defer p.stop(t)
	for i := 0; i < 5; i++ {
		req, err := http.NewRequest("GET", p.base+"/api/stats", nil)
		require.NoError(t, err)
		req.SetBasicAuth("admin", fmt.Sprint("guess", i))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	req, err := http.NewRequest("GET", p.base+"/", nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", "pw")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the dashboard counts the API's guesses")
}
