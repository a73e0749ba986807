package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A method the API does not serve on an existing resource is 405 with
// Allow, not 404 "not found": a script (Sentry's API updates an issue
// with PUT) is told the group does not exist.
func TestMethodNotAllowed(t *testing.T) {
	f := setup(t, "s3cret")
	for _, c := range []struct{ method, path string }{
		{"PUT", "/groups/1"}, {"PATCH", "/groups/1"}, {"POST", "/groups"}, {"DELETE", "/events/1"}, {"PUT", "/groups/status"},
	} {
		req, err := http.NewRequest(c.method, f.srv.URL+"/dev/error/api"+c.path, nil)
		require.NoError(t, err)
		req.SetBasicAuth("admin", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s: %s", c.method, c.path, b)
		assert.NotEmpty(t, resp.Header.Get("Allow"), "%s %s", c.method, c.path)
	}
}

// /groups/{id}/counts of a group that does not exist is 404, as
// /groups/{id} and /groups/{id}/events are; it was 200 with no counts,
// which a script reads as "no events lately".
func TestCountsOfMissingGroup(t *testing.T) {
	f := setup(t, "s3cret")
	assert.Equal(t, 404, f.do(t, "GET", "/groups/424242/events", "", nil))
	assert.Equal(t, 404, f.do(t, "GET", "/groups/424242/counts", "", nil))
	assert.Equal(t, 404, f.do(t, "GET", "/groups/424242/counts?minutes=60", "", nil))
}

// A media type is case-insensitive (RFC 9110 8.3.1): a JSON body sent
// as "Application/JSON" is JSON, not a form without a status.
func TestJSONContentTypeCase(t *testing.T) {
	f := setup(t, "s3cret")
	req, err := http.NewRequest("POST", f.srv.URL+"/dev/error/api/groups/1", strings.NewReader(`{"status":"resolved"}`))
	require.NoError(t, err)
	req.SetBasicAuth("admin", "s3cret")
	req.Header.Set("Content-Type", "Application/JSON; charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, string(b))
}
