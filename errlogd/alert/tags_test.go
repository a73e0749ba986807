package alert

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTagFilterThroughIngest: tags sent by an SDK (as an object, or as
// [key, value] pairs as the Python SDK may) reach the rules: a rule with
// filter: {tags: …} fires for them, and only for them.
func TestTagFilterThroughIngest(t *testing.T) {
	c := rules(t, `
rules:
  - name: pay
    triggers: [{type: every}]
    filter: {tags: {team: pay}}
    actions: [{type: mail, to: [pay@example.com]}]
`)
	f := newFixture(t, c, func(o *Options) { o.Now = time.Now })
	h := ingest.New(f.st, ingest.Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	send := func(msg, tags string) {
		t.Helper()
		payload := fmt.Sprintf(`{"message":%q,"tags":%s}`, msg, tags)
		body := []byte("{}\n{\"type\":\"event\"}\n" + payload + "\n")
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/%d/envelope/", srv.URL, f.prj.ID), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+f.prj.PublicKey)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	send("payments down", `{"team":"pay","region":"eu"}`)
	send("search slow", `[["team","search"]]`)
	send("refund failed", `[["team","pay"],["flag",true]]`)
	f.run()
	var all string
	for _, m := range f.smtp.Mails() {
		all += m.Header.Get("Subject") + "\n" + mailBody(t, m)
	}
	assert.Contains(t, all, "payments down")
	assert.Contains(t, all, "refund failed")
	assert.NotContains(t, all, "search slow")
}
