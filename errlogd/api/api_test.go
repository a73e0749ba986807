package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/api"
	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

type fixture struct {
	st  store.Store
	srv *httptest.Server
	p   *store.Project
}

func setup(t *testing.T, password string) *fixture {
	return setupOn(t, openStore(t, "sqlite"), password)
}

// openStore opens an empty store on SQLite, or on PostgreSQL (skipping
// without ERRLOG_TEST_POSTGRES).
func openStore(t *testing.T, db string) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if db == "sqlite" {
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	} else {
		st, err = postgres.Open(ctx, pgtest.URL(t), postgres.Options{})
	}
	require.NoError(t, err)
	t.Cleanup(func() { st.Close(ctx) })
	return st
}

// setupOn fills st with three groups and serves the API on it.
func setupOn(t *testing.T, st store.Store, password string) *fixture {
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	now := time.Now().UTC().Add(-time.Hour)
	add := func(typ, msg, env string, n int) {
		for i := 0; i < n; i++ {
			ev := &event.Event{EventID: event.NewID(), Timestamp: now.Add(time.Duration(i) * time.Second), Environment: env, Level: event.LevelError,
				Exception: []event.Exception{{Type: typ, Value: msg, Stacktrace: &event.Stacktrace{Frames: []event.Frame{{Module: "app", Function: typ, Filename: "a.go", Lineno: 1, InApp: true}}}}}}
			in, err := store.Prepare(p, ev, nil, time.Now())
			require.NoError(t, err)
			require.NoError(t, st.Submit(ctx, in))
		}
	}
	add("DBError", "connection refused", "production", 5)
	add("IOError", "disk full", "staging", 2)
	add("NetError", "timeout", "production", 1)
	srv := httptest.NewServer(api.New(st, api.Options{Prefix: "/dev/error", Password: password}))
	t.Cleanup(srv.Close)
	return &fixture{st: st, srv: srv, p: p}
}

func (f *fixture) do(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+"/dev/error/api"+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("admin", "s3cret")
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if pg, ok := out.(*page); ok {
		*pg = page{}
	}
	if out != nil && resp.StatusCode == 200 {
		require.NoError(t, json.Unmarshal(b, out), string(b))
	}
	return resp.StatusCode
}

type page struct {
	Groups []map[string]any `json:"groups"`
	Next   string           `json:"next"`
}

func TestAuth(t *testing.T) {
	f := setup(t, "s3cret")
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"admin", "wrong", 401}, {"root", "s3cret", 401}, {"admin", "s3cret", 200}} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/dev/error/api/groups", nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, c.want, resp.StatusCode, c)
		if c.want == 401 {
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
		}
	}
	// No password: this machine only — a loopback address, no proxy in
	// between, and a loopback name (a rebound DNS name is refused).
	h := api.New(f.st, api.Options{Prefix: "/dev/error"})
	for _, c := range []struct {
		addr, host, forwarded string
		want                  int
	}{
		{"127.0.0.1:5000", "localhost:8080", "", 200},
		{"[::1]:5000", "[::1]:8080", "", 200},
		{"192.0.2.7:5000", "localhost:8080", "", 401},
		{"127.0.0.1:5000", "evil.example:8080", "", 401},
		{"127.0.0.1:5000", "localhost:8080", "192.0.2.7", 401},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://"+c.host+"/dev/error/api/groups", nil)
		req.RemoteAddr = c.addr
		if c.forwarded != "" {
			req.Header.Set("X-Forwarded-For", c.forwarded)
		}
		h.ServeHTTP(rec, req)
		assert.Equal(t, c.want, rec.Code, "%+v", c)
	}
}

// Password guesses are limited per address; the right password from
// another address still gets in.
func TestAuthGuessesLimited(t *testing.T) {
	f := setup(t, "s3cret")
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	h := api.New(f.st, api.Options{Prefix: "/dev/error", Password: "s3cret", Now: func() time.Time { return now }})
	try := func(addr, pass string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/dev/error/api/groups", nil)
		req.RemoteAddr = addr
		req.SetBasicAuth("admin", pass)
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 5; i++ {
		assert.Equal(t, 401, try("192.0.2.7:1", "guess").Code)
	}
	rec := try("192.0.2.7:1", "s3cret")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "even the right password waits")
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, 200, try("192.0.2.8:1", "s3cret").Code)
	now = now.Add(time.Minute)
	assert.Equal(t, 200, try("192.0.2.7:1", "s3cret").Code, "a minute later")
}

// A page on another site cannot change a group through a browser that
// remembers the admin's credentials.
func TestCrossSitePostRefused(t *testing.T) {
	f := setup(t, "s3cret")
	for _, hdr := range [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		req, _ := http.NewRequest("POST", f.srv.URL+"/dev/error/api/groups/1", strings.NewReader("status=resolved"))
		req.SetBasicAuth("admin", "s3cret")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdr[0], hdr[1])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, hdr)
	}
	var g map[string]any
	require.Equal(t, 200, f.do(t, "GET", "/groups/1", "", &g))
	assert.Equal(t, "unresolved", g["status"], "nothing changed")
	assert.Equal(t, 200, f.do(t, "POST", "/groups/1", "status=resolved", nil), "curl (no browser headers) is served")
}

func TestGroups(t *testing.T) {
	f := setup(t, "s3cret")
	var p page
	require.Equal(t, 200, f.do(t, "GET", "/groups", "", &p))
	require.Len(t, p.Groups, 3)
	for _, k := range []string{"id", "title", "culprit", "level", "count", "first_seen", "last_seen", "status"} {
		assert.Contains(t, p.Groups[0], k)
	}
	require.Equal(t, 200, f.do(t, "GET", "/groups?sort=count&limit=2", "", &p))
	require.Len(t, p.Groups, 2)
	assert.Equal(t, float64(5), p.Groups[0]["count"])
	require.NotEmpty(t, p.Next)
	require.Equal(t, 200, f.do(t, "GET", "/groups?sort=count&limit=2&cursor="+url.QueryEscape(p.Next), "", &p))
	require.Len(t, p.Groups, 1)
	assert.Equal(t, float64(1), p.Groups[0]["count"])
	assert.Empty(t, p.Next)

	require.Equal(t, 200, f.do(t, "GET", "/groups?environment=staging", "", &p))
	require.Len(t, p.Groups, 1)
	assert.Equal(t, "IOError: disk full", p.Groups[0]["title"])
	require.Equal(t, 200, f.do(t, "GET", "/groups?q=refused&level=error&since=24h", "", &p))
	require.Len(t, p.Groups, 1)
	require.Equal(t, 200, f.do(t, "GET", "/groups?since=1m", "", &p))
	assert.Empty(t, p.Groups)

	for _, bad := range []string{"?status=open", "?sort=size", "?limit=x", "?since=yesterday", "?cursor=zz"} {
		assert.Equal(t, 400, f.do(t, "GET", "/groups"+bad, "", nil), bad)
	}
}

// TestFilterNotText: a filter holding a NUL byte or bytes that are not
// UTF-8 is answered 400, on both databases: SQLite's full-text MATCH
// failed on NUL, PostgreSQL refused both (SQLSTATE 22021), and the API
// answered 500 with the database's error.
func TestFilterNotText(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			f := setupOn(t, openStore(t, db), "s3cret")
			for _, bad := range []string{"q=refused%00", "q=ab%00cd", "q=%FFrefused", "level=%00", "environment=%FF", "release=a%00"} {
				assert.Equal(t, 400, f.do(t, "GET", "/groups?"+bad, "", nil), bad)
			}
			var p page
			require.Equal(t, 200, f.do(t, "GET", "/groups?q=refused&environment=production", "", &p))
			assert.Len(t, p.Groups, 1)
		})
	}
}

// TestBulkStatusIDs: POST /groups/status counts each group once, and
// takes at most store.MaxStatusIDs groups, as the dashboard does: 40,001
// ids (an 80 KB body) was a 500, "too many SQL variables".
func TestBulkStatusIDs(t *testing.T) {
	f := setup(t, "s3cret")
	var p page
	require.Equal(t, 200, f.do(t, "GET", "/groups?sort=count", "", &p))
	id, other := int64(p.Groups[0]["id"].(float64)), int64(p.Groups[1]["id"].(float64))
	var got struct{ Updated int }
	require.Equal(t, 200, f.do(t, "POST", "/groups/status", fmt.Sprintf(`{"ids":[%d,%d,%d,%d],"status":"resolved"}`, id, other, id, id), &got))
	assert.Equal(t, 2, got.Updated)

	ids := func(n int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%d", id)
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, ",%d", id+int64(i))
		}
		return `{"ids":[` + b.String() + `],"status":"ignored"}`
	}
	assert.Equal(t, 200, f.do(t, "POST", "/groups/status", ids(store.MaxStatusIDs), nil))
	assert.Equal(t, 400, f.do(t, "POST", "/groups/status", ids(store.MaxStatusIDs+1), nil))
	assert.Equal(t, 400, f.do(t, "POST", "/groups/status", ids(40001), nil))
}

func TestGroupLifecycle(t *testing.T) {
	f := setup(t, "s3cret")
	var p page
	require.Equal(t, 200, f.do(t, "GET", "/groups?sort=count", "", &p))
	id := int64(p.Groups[0]["id"].(float64))
	other := int64(p.Groups[1]["id"].(float64))

	var g map[string]any
	require.Equal(t, 200, f.do(t, "GET", fmt.Sprintf("/groups/%d", id), "", &g))
	assert.Equal(t, float64(5), g["count"])
	assert.Len(t, g["seen"], 1)

	var evs struct{ Events []store.EventRow }
	require.Equal(t, 200, f.do(t, "GET", fmt.Sprintf("/groups/%d/events?limit=2", id), "", &evs))
	require.Len(t, evs.Events, 2)
	newest := evs.Events[0]
	require.Equal(t, 200, f.do(t, "GET", fmt.Sprintf("/groups/%d/events?before=%d&limit=10", id, evs.Events[1].ID), "", &evs))
	assert.Len(t, evs.Events, 3)

	var ev map[string]any
	require.Equal(t, 200, f.do(t, "GET", fmt.Sprintf("/events/%d", newest.ID), "", &ev))
	assert.Equal(t, newest.EventID, ev["event_id"])
	require.Equal(t, 200, f.do(t, "GET", "/events/"+newest.EventID, "", &ev))
	assert.Equal(t, newest.EventID, ev["event_id"])
	assert.Equal(t, 404, f.do(t, "GET", "/events/999999", "", nil))
	assert.Equal(t, 400, f.do(t, "GET", "/events/xyz", "", nil))

	var counts struct {
		Unit   string
		Counts []store.Count
	}
	require.Equal(t, 200, f.do(t, "GET", fmt.Sprintf("/groups/%d/counts?hours=48", id), "", &counts))
	var total int64
	for _, c := range counts.Counts {
		total += c.Count
	}
	assert.Equal(t, int64(5), total)
	require.Equal(t, 200, f.do(t, "GET", fmt.Sprintf("/groups/%d/counts?minutes=120", id), "", &counts))
	assert.Equal(t, "minute", counts.Unit)

	require.Equal(t, 200, f.do(t, "POST", fmt.Sprintf("/groups/%d", id), `{"status":"resolved"}`, &g))
	assert.Equal(t, "resolved", g["status"])
	require.Equal(t, 200, f.do(t, "POST", fmt.Sprintf("/groups/%d", id), `status=ignored`, &g))
	assert.Equal(t, "ignored", g["status"])
	assert.Equal(t, 400, f.do(t, "POST", fmt.Sprintf("/groups/%d", id), `{"status":"gone"}`, nil))
	assert.Equal(t, 404, f.do(t, "POST", "/groups/424242", `{"status":"resolved"}`, nil))
	require.Equal(t, 200, f.do(t, "POST", "/groups/status", fmt.Sprintf(`{"ids":[%d,%d],"status":"resolved"}`, id, other), nil))
	require.Equal(t, 200, f.do(t, "GET", "/groups?status=resolved", "", &p))
	assert.Len(t, p.Groups, 2)

	require.Equal(t, 200, f.do(t, "DELETE", fmt.Sprintf("/groups/%d", id), "", nil))
	assert.Equal(t, 404, f.do(t, "GET", fmt.Sprintf("/groups/%d", id), "", nil))
	assert.Equal(t, 404, f.do(t, "GET", fmt.Sprintf("/groups/%d/events", id), "", nil))
	assert.Equal(t, 400, f.do(t, "GET", "/groups/abc", "", nil))
	assert.Equal(t, 404, f.do(t, "GET", "/nothing", "", nil))

	var projects struct{ Projects []map[string]any }
	require.Equal(t, 200, f.do(t, "GET", "/projects", "", &projects))
	assert.Equal(t, f.p.PublicKey, projects.Projects[0]["public_key"])
	var stats store.Stats
	require.Equal(t, 200, f.do(t, "GET", "/stats", "", &stats))
	assert.Equal(t, int64(3), stats.Events)
	assert.Equal(t, int64(2), stats.Groups)
}

// failingList is a store whose group list fails as a database does,
// naming its statement.
type failingList struct{ store.Store }

func (failingList) ListGroups(context.Context, store.GroupQuery) (*store.GroupPage, error) {
	return nil, errors.New("SQL logic error: SELECT id, project_id FROM event_groups WHERE key_hash = ?")
}

// An error answered 500 goes to errlogd's log, not to the client: the
// answer used to carry the database's text (tables, statements).
func TestInternalErrorLoggedNotSent(t *testing.T) {
	var logged bytes.Buffer
	st := failingList{openStore(t, "sqlite")}
	srv := httptest.NewServer(api.New(st, api.Options{Prefix: "/dev/error", Password: "s3cret", Logger: slog.New(slog.NewTextHandler(&logged, nil))}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequest("GET", srv.URL+"/dev/error/api/groups", nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.JSONEq(t, `{"error":"internal error; it is in errlogd's log"}`, string(b))
	assert.Contains(t, logged.String(), "errlog: api: GET /dev/error/api/groups")
	assert.Contains(t, logged.String(), "SELECT id, project_id FROM event_groups")
}
