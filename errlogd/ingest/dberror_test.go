package ingest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// downStore answers every project lookup as pgx does while PostgreSQL
// restarts.
type downStore struct{ store.Store }

func (downStore) ProjectByKey(context.Context, string) (*store.Project, error) {
	return nil, errors.New("failed to connect to `user=errlogd_prod database=errlog_prod`: db-primary.internal.example:5432 (10.1.2.3): server error: FATAL: the database system is shutting down (SQLSTATE 57P03)")
}

// TestDatabaseDownAnswerHidesTheDatabase: while the database is down,
// ingest answers 503 (retryable) to anyone holding a DSN, which a
// browser SDK publishes in every page. The answer must not tell them
// the database's host, address, user and name.
func TestDatabaseDownAnswerHidesTheDatabase(t *testing.T) {
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close(ctx) })
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	h := ingest.New(downStore{st}, ingest.Options{})
	mux := http.NewServeMux()
	mux.Handle("/dev/error/api/{project}/store/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/dev/error/api/1/store/?sentry_key="+p.PublicKey, "application/json", strings.NewReader(`{"event_id":"0123456789abcdef0123456789abcdef","message":"boom"}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"), "a 503 says when to try again")
	seen := string(body) + "\n" + resp.Header.Get("X-Sentry-Error")
	for _, secret := range []string{"db-primary.internal.example", "10.1.2.3", "errlogd_prod", "errlog_prod"} {
		assert.NotContains(t, seen, secret)
	}
}
