package ingest_test

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/tracker"
	"github.com/getsentry/sentry-go"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

type server struct {
	st  *sqlite.Store
	h   *ingest.Handler
	srv *httptest.Server
	p   *store.Project
	dsn string
}

func newServer(t *testing.T, opts ingest.Options) *server {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close(ctx) })
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	h := ingest.New(st, opts)
	mux := http.NewServeMux()
	mux.Handle("/dev/error/api/{project}/envelope/", h)
	mux.Handle("/dev/error/api/{project}/store/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dsn := fmt.Sprintf("http://%s@%s/dev/error/%d", p.PublicKey, strings.TrimPrefix(srv.URL, "http://"), p.ID)
	return &server{st: st, h: h, srv: srv, p: p, dsn: dsn}
}

func (s *server) url(endpoint string) string {
	return fmt.Sprintf("%s/dev/error/api/%d/%s/", s.srv.URL, s.p.ID, endpoint)
}

func (s *server) groups(t *testing.T) []store.Group {
	t.Helper()
	page, err := s.st.ListGroups(ctx, store.GroupQuery{Sort: store.SortCount})
	require.NoError(t, err)
	return page.Groups
}

func (s *server) events(t *testing.T) int64 {
	t.Helper()
	st, err := s.st.Stats(ctx)
	require.NoError(t, err)
	return st.Events
}

func post(t *testing.T, url string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func (s *server) auth() map[string]string {
	return map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_client=test/1, sentry_key=" + s.p.PublicKey}
}

func eventJSON(id, msg string) []byte {
	return []byte(fmt.Sprintf(`{"event_id":%q,"timestamp":%q,"level":"error","platform":"go","exception":[{"type":"*errors.errorString","value":%q,"stacktrace":{"frames":[{"function":"main","module":"main","abs_path":"/src/app/main.go","lineno":3,"in_app":true},{"function":"handle","module":"example.com/app","abs_path":"/src/app/h.go","lineno":9,"in_app":true}]}}],"extra":{"n":1}}`,
		id, time.Now().UTC().Format(time.RFC3339Nano), msg))
}

func envelope(items ...string) []byte {
	return []byte(strings.Join(items, "\n") + "\n")
}

func eventItem(payload []byte) string {
	return fmt.Sprintf(`{"type":"event","length":%d}`, len(payload)) + "\n" + string(payload)
}

// TestSentryGo: the stock sentry-go SDK, unmodified, reports to errlogd.
func TestSentryGo(t *testing.T) {
	s := newServer(t, ingest.Options{})
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: s.dsn, Environment: "production", Release: "app@1.2.3", AttachStacktrace: true})
	require.NoError(t, err)
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.Scope().SetContext("order", sentry.Context{"id": 42})
	hub.Scope().SetTag("region", "eu")
	hub.Scope().SetUser(sentry.User{ID: "u-17", Email: "u17@example.com"})
	for i := 0; i < 3; i++ {
		hub.CaptureException(fmt.Errorf("payment %d failed: %w", i, errors.New("card declined")))
	}
	hub.CaptureMessage("cache miss for user 12")
	require.True(t, client.Flush(10*time.Second), "sentry-go flushed")

	gs := s.groups(t)
	require.Len(t, gs, 2, "three exceptions from one place are one group; the message another")
	assert.Equal(t, int64(3), gs[0].Count)
	assert.Equal(t, int64(1), gs[0].Users, "one user affected")
	assert.Contains(t, gs[0].Title, "card declined")
	assert.Contains(t, gs[0].Culprit, "TestSentryGo")
	assert.Equal(t, "cache miss for user 12", gs[1].Title)
	rows, err := s.st.GroupEvents(ctx, gs[0].ID, store.EventQuery{})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, "production", rows[0].Environment)
	assert.Equal(t, "app@1.2.3", rows[0].Release)
	ev, err := s.st.Event(ctx, rows[0].ID)
	require.NoError(t, err)
	var stored map[string]any
	require.NoError(t, json.Unmarshal(ev.JSON, &stored))
	assert.Equal(t, "sentry.go", stored["sdk"].(map[string]any)["name"])
	assert.Equal(t, float64(42), stored["contexts"].(map[string]any)["order"].(map[string]any)["id"])
	assert.Equal(t, int64(4), s.h.Stats().Events)
}

// TestErrlogTracker: errlog's own tracker client reports to errlogd.
func TestErrlogTracker(t *testing.T) {
	s := newServer(t, ingest.Options{})
	log := errlog.New(errlog.Options{Console: io.Discard, Tracker: &tracker.Options{DSN: s.dsn, Environment: "staging", Release: "r9"}})
	for i := 0; i < 2; i++ {
		log.Error("charge failed", "err", errors.New("card declined"), "order", i)
	}
	for _, id := range []int{42, 43} { // one call site: two calls on two lines are two groups
		log.Error(fmt.Sprintf("user %d not found", id))
	}
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, log.Handler().(*errlog.Handler).Close(flushCtx))
	assert.Equal(t, int64(4), s.events(t))
	gs := s.groups(t)
	require.Len(t, gs, 2, "the two messages differ only by a number: one group")
	byTitle := map[string]store.Group{}
	for _, g := range gs {
		byTitle[g.Title] = g
		assert.Equal(t, int64(2), g.Count, g.Title)
	}
	assert.Contains(t, byTitle, "user 43 not found", "a group is titled by its newest message")
	var charge store.Group
	for title, g := range byTitle {
		if strings.Contains(title, "card declined") {
			charge = g
		}
	}
	require.NotZero(t, charge.ID, "a group for the charge errors: %v", byTitle)
	rows, err := s.st.GroupEvents(ctx, charge.ID, store.EventQuery{})
	require.NoError(t, err)
	assert.Equal(t, "staging", rows[0].Environment)
	assert.Equal(t, "r9", rows[0].Release)
	// The group's key is the one the client computed (its mail threads
	// by it) and sent with the event.
	stored, err := s.st.Event(ctx, rows[0].ID)
	require.NoError(t, err)
	var ev event.Event
	require.NoError(t, json.Unmarshal(stored.JSON, &ev))
	key, version := ev.CarriedGroupKey()
	assert.Equal(t, event.Grouping, version)
	assert.Equal(t, charge.Key, key)
	assert.Equal(t, key, ev.GroupKeyOf(event.Grouping), "the key is the event's")
}

func TestAuthForms(t *testing.T) {
	s := newServer(t, ingest.Options{})
	other, err := s.st.CreateProject(ctx, "other")
	require.NoError(t, err)
	disabled, err := s.st.CreateProject(ctx, "off")
	require.NoError(t, err)
	disabled.Disabled = true
	require.NoError(t, s.st.UpdateProject(ctx, disabled))

	ev := func() []byte { return envelope(`{}`, eventItem(eventJSON(event.NewID(), "auth"))) }
	ok := func(resp *http.Response) {
		t.Helper()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	}
	ok(post(t, s.url("envelope"), ev(), s.auth()))
	ok(post(t, s.url("envelope"), ev(), map[string]string{"Authorization": "Sentry sentry_key=" + s.p.PublicKey + ", sentry_version=7"}))
	ok(post(t, s.url("envelope")+"?sentry_key="+s.p.PublicKey+"&sentry_version=7", ev(), nil))
	ok(post(t, s.url("envelope"), envelope(`{"dsn":"`+s.dsn+`"}`, eventItem(eventJSON(event.NewID(), "auth"))), nil))
	assert.Equal(t, int64(4), s.events(t))

	for name, c := range map[string]struct {
		url    string
		body   []byte
		hdr    map[string]string
		status int
	}{
		"no auth":          {s.url("envelope"), ev(), nil, 401},
		"no auth, store":   {s.url("store"), eventJSON(event.NewID(), "x"), nil, 401},
		"wrong key":        {s.url("envelope"), ev(), map[string]string{"X-Sentry-Auth": "Sentry sentry_key=00000000000000000000000000000000"}, 401},
		"bad dsn":          {s.url("envelope"), envelope(`{"dsn":"nope"}`, eventItem(eventJSON(event.NewID(), "x"))), nil, 401},
		"other project":    {s.url("envelope"), ev(), map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + other.PublicKey}, 403},
		"disabled project": {strings.Replace(s.url("envelope"), fmt.Sprintf("/api/%d/", s.p.ID), fmt.Sprintf("/api/%d/", disabled.ID), 1), ev(), map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + disabled.PublicKey}, 403},
	} {
		resp := post(t, c.url, c.body, c.hdr)
		assert.Equal(t, c.status, resp.StatusCode, name)
		assert.NotEmpty(t, resp.Header.Get("X-Sentry-Error"), name)
	}
	assert.Equal(t, int64(4), s.events(t), "nothing refused was stored")
	assert.Equal(t, int64(6), s.h.Stats().Unauthorized)
}

func compress(t *testing.T, enc string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		w, _ = zstd.NewWriter(&buf)
	default:
		return b
	}
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestEncodings(t *testing.T) {
	s := newServer(t, ingest.Options{})
	for _, enc := range []string{"", "gzip", "deflate", "raw-deflate", "br", "zstd", "gzip-sniffed"} {
		id := event.NewID()
		body := envelope(`{"event_id":"`+id+`"}`, eventItem(eventJSON(id, "enc "+enc)))
		hdr := s.auth()
		switch enc {
		case "gzip-sniffed":
			body = compress(t, "gzip", body)
		case "raw-deflate":
			body = compress(t, enc, body)
			hdr["Content-Encoding"] = "deflate"
		default:
			body = compress(t, enc, body)
			hdr["Content-Encoding"] = enc
		}
		resp := post(t, s.url("envelope"), body, hdr)
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s %s", enc, b, resp.Header.Get("X-Sentry-Error"))
		assert.JSONEq(t, `{"id":"`+id+`"}`, string(b))
		got, err := s.st.EventByEventID(ctx, s.p.ID, id)
		require.NoError(t, err, enc)
		assert.Contains(t, string(got.JSON), "enc "+enc)
	}
}

func TestOtherItemsSkipped(t *testing.T) {
	s := newServer(t, ingest.Options{})
	id := event.NewID()
	attachment := "line one\nline two\n{\"type\":\"event\"}\n"
	body := envelope(`{"event_id":"`+id+`","sent_at":"2024-01-01T00:00:00Z"}`,
		`{"type":"client_report"}`, `{"timestamp":1700000000,"discarded_events":[]}`,
		fmt.Sprintf(`{"type":"attachment","length":%d,"filename":"a.txt"}`, len(attachment)), attachment,
		`{"type":"session","length":2}`, `{}`,
		`{"type":"transaction"}`, `{"type":"transaction","spans":[]}`,
		`{"type":"check_in"}`, `{"check_in_id":"x"}`,
		`{"type":"log","item_count":1}`, `{"items":[]}`,
		`{"type":"span"}`, `{}`,
		`{"type":"some_future_type","length":3}`, `abc`,
		eventItem(eventJSON(id, "among others")),
		`{"type":"profile"}`, `{}`,
	)
	resp := post(t, s.url("envelope"), body, s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
	assert.Equal(t, int64(1), s.events(t))
	assert.Equal(t, int64(9), s.h.Stats().Skipped)

	resp = post(t, s.url("envelope"), envelope(`{}`, `{"type":"client_report"}`, `{"discarded_events":[{"reason":"queue_overflow","category":"error","quantity":1}]}`), s.auth())
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "{}", string(b))
}

func TestMalformed(t *testing.T) {
	s := newServer(t, ingest.Options{})
	for name, c := range map[string]struct {
		body []byte
		enc  string
	}{
		"header not JSON":      {[]byte("not json\n"), ""},
		"empty body":           {nil, ""},
		"item header not JSON": {envelope(`{}`, `garbage`), ""},
		"item without type":    {envelope(`{}`, `{"length":2}`, `{}`), ""},
		"truncated item":       {envelope(`{}`, `{"type":"event","length":500}`, `{"a":1}`), ""},
		"event not JSON":       {envelope(`{}`, `{"type":"event"}`, `{"exception":`), ""},
		"event not an object":  {envelope(`{}`, `{"type":"event"}`, `[1]`), ""},
		"corrupt gzip":         {append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xff}, 40)...), "gzip"},
		"unknown encoding":     {envelope(`{}`), "lzma"},
		"header too long":      {bytes.Repeat([]byte("x"), 200<<10), ""},
	} {
		hdr := s.auth()
		if c.enc != "" {
			hdr["Content-Encoding"] = c.enc
		}
		resp := post(t, s.url("envelope"), c.body, hdr)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		assert.NotEmpty(t, resp.Header.Get("X-Sentry-Error"), name)
	}
	assert.Equal(t, int64(0), s.events(t))
	resp := post(t, s.url("store"), []byte(`{"message":`), s.auth())
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestTooLarge(t *testing.T) {
	s := newServer(t, ingest.Options{MaxDecompressed: 12 << 20})
	big := bytes.Repeat([]byte("a"), 1<<20+10)
	cases := map[string][]byte{
		"event item length over 1 MiB":   envelope(`{}`, `{"type":"event","length":2000000}`, `{}`),
		"event item without length":      envelope(`{}`, `{"type":"event"}`, `{"message":"`+string(big)+`"}`),
		"store event over 1 MiB":         nil,
		"body over the compressed limit": nil,
	}
	for name, body := range cases {
		url := s.url("envelope")
		hdr := s.auth()
		switch name {
		case "store event over 1 MiB":
			url, body = s.url("store"), []byte(`{"message":"`+string(big)+`"}`)
		case "body over the compressed limit":
			body = bytes.Repeat([]byte("z"), 21<<20)
		}
		resp := post(t, url, body, hdr)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, name)
		assert.NotEmpty(t, resp.Header.Get("X-Sentry-Error"), name)
	}

	// Gzip bombs: 16 MiB of zeros (1,000 times their compressed size)
	// declared as an attachment of 1 GiB (discarded as read, stopped at
	// MaxDecompressed, 12 MiB here), as an event line without a length
	// (stopped at 1 MiB), and as an envelope header (stopped at 64 KiB).
	// None may cost memory: a few MiB at most, whatever the bomb's size.
	for _, bomb := range []struct {
		name   string
		prefix string
	}{
		{"attachment", `{}` + "\n" + `{"type":"attachment","length":1073741824}` + "\n"},
		{"event line", `{}` + "\n" + `{"type":"event"}` + "\n"},
		{"header line", ``},
	} {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write([]byte(bomb.prefix))
		zeros := make([]byte, 1<<20)
		for i := 0; i < 16; i++ {
			zw.Write(zeros)
		}
		zw.Close()
		body := buf.Bytes()
		require.Less(t, len(body), 200<<10, "a small compressed body")
		var resp *http.Response
		alloc := allocated(func() {
			resp = post(t, s.url("envelope"), body, map[string]string{"X-Sentry-Auth": s.auth()["X-Sentry-Auth"], "Content-Encoding": "gzip"})
		})
		assert.Contains(t, []int{400, 413}, resp.StatusCode, bomb.name)
		assert.Less(t, alloc, uint64(6<<20), "%s: a 16 MiB bomb allocated %d bytes", bomb.name, alloc)
	}
	assert.Equal(t, int64(0), s.events(t))
}

func TestRateLimit(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newServer(t, ingest.Options{Now: clock})
	s.p.RateLimit = 3
	require.NoError(t, s.st.UpdateProject(ctx, s.p))
	s.h.ForgetKeys()
	send := func() *http.Response {
		return post(t, s.url("envelope"), envelope(`{}`, eventItem(eventJSON(event.NewID(), "rl"))), s.auth())
	}
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusOK, send().StatusCode)
	}
	resp := send()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))
	assert.Equal(t, "60:error;default:project", resp.Header.Get("X-Sentry-Rate-Limits"))
	mu.Lock()
	now = now.Add(45 * time.Second)
	mu.Unlock()
	resp = send()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "15", resp.Header.Get("Retry-After"))
	mu.Lock()
	now = now.Add(16 * time.Second)
	mu.Unlock()
	require.Equal(t, http.StatusOK, send().StatusCode)
	assert.Equal(t, int64(4), s.events(t))
	assert.Equal(t, int64(2), s.h.Stats().RateLimited)
}

func TestDiskNearlyFull(t *testing.T) {
	var mu sync.Mutex
	free := uint64(10 << 20)
	now := time.Now()
	s := newServer(t, ingest.Options{
		FreeSpace: func() (uint64, error) { mu.Lock(); defer mu.Unlock(); return free, nil },
		Now:       func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
	})
	resp := post(t, s.url("envelope"), envelope(`{}`, eventItem(eventJSON(event.NewID(), "disk"))), s.auth())
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Contains(t, resp.Header.Get("X-Sentry-Rate-Limits"), "disk_full")
	assert.Equal(t, int64(0), s.events(t))
	mu.Lock()
	free, now = 10<<30, now.Add(2*time.Second)
	mu.Unlock()
	resp = post(t, s.url("envelope"), envelope(`{}`, eventItem(eventJSON(event.NewID(), "disk"))), s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// fullStore is a store whose writer is always behind.
type fullStore struct{ store.Store }

func (fullStore) Submit(context.Context, *store.Incoming) error { return store.ErrQueueFull }

func TestQueueFull(t *testing.T) {
	s := newServer(t, ingest.Options{RetryAfter: 3 * time.Second})
	h := ingest.New(fullStore{s.st}, ingest.Options{RetryAfter: 3 * time.Second})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, s.url("envelope"), bytes.NewReader(envelope(`{}`, eventItem(eventJSON(event.NewID(), "busy")))))
	req.Header.Set("X-Sentry-Auth", s.auth()["X-Sentry-Auth"])
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "3", rec.Header().Get("Retry-After"))
	assert.Equal(t, "3::organization", rec.Header().Get("X-Sentry-Rate-Limits"))
	assert.Equal(t, int64(1), h.Stats().Busy)
}

func TestIdempotentAndLegacy(t *testing.T) {
	// The server's clock in May 2024: timestamps more than 30 days back
	// are taken as the arrival time.
	s := newServer(t, ingest.Options{Now: func() time.Time { return time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC) }})
	id := event.NewID()
	body := envelope(`{}`, eventItem(eventJSON(id, "twice")))
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusOK, post(t, s.url("envelope"), body, s.auth()).StatusCode)
	}
	require.Equal(t, http.StatusOK, post(t, s.url("store"), eventJSON(id, "twice"), s.auth()).StatusCode)
	assert.Equal(t, int64(1), s.events(t))
	assert.Equal(t, int64(1), s.groups(t)[0].Count)

	// Old raven clients: base64 of zlib, numeric timestamp, message string.
	legacy := []byte(`{"event_id":"` + event.NewID() + `","timestamp":1714500000.5,"message":"legacy client","level":"warning"}`)
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	zw.Write(legacy)
	zw.Close()
	resp := post(t, s.url("store"), []byte(base64.StdEncoding.EncodeToString(zb.Bytes())), s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
	// logentry, string timestamp, threads stack.
	withThreads := []byte(`{"logentry":{"message":"queue %s stalled","params":["a"]},"timestamp":"2024-05-01T10:00:00Z","threads":{"values":[{"id":1,"current":true,"stacktrace":{"frames":[{"function":"worker","module":"example.com/q","filename":"q.go","lineno":7,"in_app":true}]}}]}}`)
	resp = post(t, s.url("store"), withThreads, s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
	page, err := s.st.ListGroups(ctx, store.GroupQuery{Text: "stalled"})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	assert.Contains(t, page.Groups[0].Culprit, "example.com/q.worker")
	assert.Equal(t, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), page.Groups[0].FirstSeen)
	page, err = s.st.ListGroups(ctx, store.GroupQuery{Text: "legacy client"})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	assert.Equal(t, "warning", page.Groups[0].Level)
	assert.Equal(t, time.Unix(1714500000, 500e6).UTC(), page.Groups[0].FirstSeen)

	// An event_id that is not 32 hex digits gets an id of errlogd's own,
	// and the answer stays JSON whatever the client sent.
	hostile := []byte(`{"event_id":"x\",\"admin\":true,\"a\":\"","message":"odd id"}`)
	resp = post(t, s.url("store"), hostile, s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
	var answer map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	assert.Len(t, answer, 1, "only the id: %v", answer)
	assert.Regexp(t, `^[0-9a-f]{32}$`, answer["id"])
}

func TestModuleCacheFramesNotInApp(t *testing.T) {
	s := newServer(t, ingest.Options{})
	// Two events differing only by a module-cache frame sentry-go marked
	// in-app: one group, blamed on the application's frame.
	mk := func(lib string) []byte {
		return []byte(`{"exception":[{"type":"E","value":"v","stacktrace":{"frames":[` +
			`{"function":"main","module":"main","abs_path":"/src/app/main.go","lineno":3,"in_app":true},` +
			`{"function":"` + lib + `","module":"github.com/lib/x","abs_path":"/root/go/pkg/mod/github.com/lib/x@v1.0.0/x.go","lineno":9,"in_app":true}]}}]}`)
	}
	require.Equal(t, http.StatusOK, post(t, s.url("store"), mk("Do"), s.auth()).StatusCode)
	require.Equal(t, http.StatusOK, post(t, s.url("store"), mk("DoOther"), s.auth()).StatusCode)
	gs := s.groups(t)
	require.Len(t, gs, 1)
	assert.Equal(t, int64(2), gs[0].Count)
	assert.Contains(t, gs[0].Culprit, "main.main")
}

var _ = slog.LevelError
