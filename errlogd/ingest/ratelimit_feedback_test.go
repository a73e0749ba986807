package ingest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A project's rate limit ("events per minute ingest accepts") is what
// stands between a public (browser) DSN and a flood; user feedback
// items (user_report, feedback) pass it without limit: with a limit of
// 1 a minute, every one of 20 user reports is stored (a row each),
// and nothing else bounds them per project.
func TestRateLimitFeedback(t *testing.T) {
	s := newServer(t, ingest.Options{})
	s.p.RateLimit = 1
	require.NoError(t, s.st.UpdateProject(ctx, s.p))
	s.h.ForgetKeys()
	ok := 0
	for i := 0; i < 20; i++ {
		resp := post(t, s.url("envelope"), envelope(`{}`, `{"type":"user_report"}`,
			fmt.Sprintf(`{"event_id":%q,"name":"n","email":"a@example.com","comments":"flood %d"}`, event.NewID(), i)), s.auth())
		if resp.StatusCode == http.StatusOK {
			ok++
		}
	}
	assert.LessOrEqual(t, ok, 1, "a project limited to 1 a minute stored %d user reports in a minute", ok)
}
