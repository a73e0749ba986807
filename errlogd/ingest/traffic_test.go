package ingest_test

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// target is an ingest endpoint over one store.
type target struct {
	st  store.Store
	h   *ingest.Handler
	srv *httptest.Server
	p   *store.Project
}

// onStores runs f on an ingest endpoint over SQLite, then PostgreSQL
// (when ERRLOG_TEST_POSTGRES is set).
func onStores(t *testing.T, opts ingest.Options, f func(t *testing.T, tg *target)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) { f(t, newTarget(t, db, opts)) })
	}
}

// newTarget is an ingest endpoint over a fresh store of db ("sqlite" or
// "postgres").
func newTarget(t *testing.T, db string, opts ingest.Options) *target {
	var st store.Store
	if db == "sqlite" {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
		require.NoError(t, err)
		st = s
	} else {
		s, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{})
		require.NoError(t, err)
		st = s
	}
	t.Cleanup(func() { st.Close(ctx) })
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	h := ingest.New(st, opts)
	mux := http.NewServeMux()
	mux.Handle("/api/{project}/envelope/", h)
	mux.Handle("/api/{project}/store/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &target{st: st, h: h, srv: srv, p: p}
}

func (tg *target) auth() map[string]string {
	return map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_client=test/1, sentry_key=" + tg.p.PublicKey}
}

func (tg *target) url(endpoint string) string {
	return fmt.Sprintf("%s/api/%d/%s/", tg.srv.URL, tg.p.ID, endpoint)
}

// send posts one event in an envelope; it returns the status, the
// stored event id and the X-Sentry-Error.
func (tg *target) send(t *testing.T, payload []byte) (int, string, string) {
	resp := post(t, tg.url("envelope"), envelope(`{}`, eventItem(payload)), tg.auth())
	var out struct {
		ID string `json:"id"`
	}
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, &out)
	return resp.StatusCode, out.ID, resp.Header.Get("X-Sentry-Error")
}

// mutations returns the event doc with each value (of every object member,
// and the first element of every list, at any depth) replaced, one at a
// time, by a value of each JSON type.
func mutations(doc map[string]any) (names []string, out [][]byte) {
	others := []any{"text", json.Number("4.5"), true, nil, []any{"a", json.Number("1")}, map[string]any{"k": "v"}}
	var walk func(path string, v any, set func(any))
	walk = func(path string, v any, set func(any)) {
		if path != "" {
			for _, o := range others {
				set(o)
				b, err := json.Marshal(doc)
				if err != nil {
					panic(err)
				}
				names = append(names, fmt.Sprintf("%s=%s", path, mustJSON(o)))
				out = append(out, b)
			}
			set(v)
		}
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(path+"."+k, v[k], func(x any) { v[k] = x })
			}
		case []any:
			if len(v) > 0 {
				walk(path+".0", v[0], func(x any) { v[0] = x })
			}
		}
	}
	walk("", doc, nil)
	return names, out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWrongTypeCostsAFieldNeverTheEvent: every field of real events (a
// Python SDK event, a sentry-go event), set one at a time to each other
// JSON type, is answered 200 and stored, on both databases; what was
// dropped is listed in the event's processing errors.
func TestWrongTypeCostsAFieldNeverTheEvent(t *testing.T) {
	var docs []map[string]any
	for _, f := range []string{"testdata/python-event.json", "testdata/sentry-go-event.json"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		var doc map[string]any
		require.NoError(t, d.Decode(&doc), f)
		docs = append(docs, doc)
	}
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		var names []string
		var payloads [][]byte
		for _, doc := range docs {
			n, p := mutations(doc)
			names, payloads = append(names, n...), append(payloads, p...)
		}
		require.Greater(t, len(payloads), 300)
		if raceEnabled { // every 5th: all of them run without -race
			var n []string
			var p [][]byte
			for i := 0; i < len(payloads); i += 5 {
				n, p = append(n, names[i]), append(p, payloads[i])
			}
			names, payloads = n, p
		}
		// Many events per envelope (each is stored or the envelope is
		// refused); an envelope refused is sent again event by event to
		// name the mutation.
		const per = 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		next := make(chan int)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for start := range next {
					end := min(start+per, len(payloads))
					items := []string{`{}`}
					for i := start; i < end; i++ {
						items = append(items, eventItem(fixID(payloads[i], i)))
					}
					resp := post(t, tg.url("envelope"), envelope(items...), tg.auth())
					if resp.StatusCode == http.StatusOK {
						continue
					}
					for i := start; i < end; i++ {
						if s, _, msg := tg.send(t, fixID(payloads[i], i)); s != http.StatusOK {
							mu.Lock()
							refused++
							mu.Unlock()
							t.Errorf("%s: %d %s", names[i], s, msg)
						}
					}
				}
			}()
		}
		for start := 0; start < len(payloads); start += per {
			next <- start
		}
		close(next)
		wg.Wait()
		assert.Zero(t, refused, "of %d", len(payloads))
		st, err := tg.st.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(len(payloads)), st.Events, "every mutated event stored")
		// A sample is read back and decodes.
		page, err := tg.st.ListGroups(ctx, store.GroupQuery{Limit: 20})
		require.NoError(t, err)
		for _, g := range page.Groups {
			e, err := tg.st.Event(ctx, g.LastEventID)
			require.NoError(t, err)
			_, err = decode.Event(e.JSON)
			assert.NoError(t, err)
		}
		t.Logf("%d mutated events stored", len(payloads))
	})
}

// TestEnvelopeHeaderWrongTypes: the envelope header is only metadata; a
// field of it of any wrong type costs that field, never the events the
// envelope carries.
func TestEnvelopeHeaderWrongTypes(t *testing.T) {
	b, err := os.ReadFile("testdata/sentry-go-event.json")
	require.NoError(t, err)
	values := []string{`0`, `-1.5e3`, `true`, `null`, `"s"`, `""`, `[]`, `{}`, `[1,{"a":2}]`, `{"a":[1]}`}
	var headers []string
	for _, field := range []string{"event_id", "sent_at", "dsn", "sdk", "trace"} {
		for _, v := range values {
			headers = append(headers, `{"`+field+`":`+v+`}`)
		}
	}
	for _, v := range values {
		headers = append(headers, `{"sdk":{"name":`+v+`,"version":`+v+`}}`)
	}
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		for i, h := range headers {
			resp := post(t, tg.url("envelope"), envelope(h, eventItem(fixID(b, i))), tg.auth())
			assert.Equal(t, http.StatusOK, resp.StatusCode, h)
		}
		st, err := tg.st.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(len(headers)), st.Events, "every event stored")
	})
}

// fixID gives the payload's event id a distinct value per mutation, so
// that each is stored (the same id twice is one event).
func fixID(p []byte, i int) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil {
		return p
	}
	if id, ok := m["event_id"]; ok {
		var s string
		if json.Unmarshal(id, &s) == nil && len(s) == 32 {
			m["event_id"] = json.RawMessage(strconv.Quote(fmt.Sprintf("%08x", i) + s[8:]))
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// TestWrongTypeCoerced: the cases users hit every day keep their value.
func TestWrongTypeCoerced(t *testing.T) {
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		for _, c := range []struct {
			raw   string
			check func(t *testing.T, ev *event.Event, title string)
		}{
			{`{"message":"m","user":{"id":42,"email":"a@b.c"},"release":42}`, func(t *testing.T, ev *event.Event, _ string) {
				assert.Equal(t, "42", ev.User.ID)
				assert.Equal(t, "42", ev.Release)
			}},
			{`{"logentry":{"message":"%(x)s failed for %(y)s","params":{"x":"charge","y":7}}}`, func(t *testing.T, ev *event.Event, title string) {
				assert.Equal(t, "charge failed for 7", title)
			}},
			{`{"logentry":"plain text","fingerprint":["a",1,2.5,true]}`, func(t *testing.T, ev *event.Event, title string) {
				assert.Equal(t, "plain text", title)
				assert.Equal(t, []string{"a", "1", "2.5", "true"}, ev.Fingerprint)
			}},
			{`{"sentry.interfaces.Exception":{"values":[{"type":"ValueError","value":"bad","stacktrace":{"frames":[{"function":"f","module":"app","lineno":3,"in_app":true}]}}]},"sentry.interfaces.Http":{"url":"http://x/","method":"GET"}}`, func(t *testing.T, ev *event.Event, title string) {
				assert.Equal(t, "ValueError: bad", title)
				assert.Equal(t, "GET", ev.Request.Method)
			}},
			{`{"sentry.interfaces.Message":{"message":"legacy %s","params":["msg"]}}`, func(t *testing.T, ev *event.Event, title string) {
				assert.Equal(t, "legacy msg", title)
			}},
		} {
			status, id, msg := tg.send(t, []byte(c.raw))
			require.Equal(t, http.StatusOK, status, "%s: %s", c.raw, msg)
			e, err := tg.st.EventByEventID(ctx, tg.p.ID, id)
			require.NoError(t, err)
			ev, err := decode.Event(e.JSON)
			require.NoError(t, err)
			c.check(t, ev, e.Title)
		}
	})
}

// TestTimeAsTheServerSawIt: a client clock off by hours is corrected with
// the envelope's sent_at; timestamps more than 30 days back or a minute
// ahead are the arrival time; the stored event keeps the timestamp as
// sent; absurd numbers cost the timestamp only.
func TestTimeAsTheServerSawIt(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	onStores(t, ingest.Options{Now: func() time.Time { return now }}, func(t *testing.T, tg *target) {
		for _, c := range []struct {
			name, header, ts string
			want             time.Time
		}{
			{"drift corrected", `{"sent_at":"2025-01-01T10:00:00Z"}`, `"2025-01-01T09:59:00Z"`, now.Add(-time.Minute)},
			{"small drift kept", `{"sent_at":"2026-12-02T11:30:00Z"}`, `"2026-12-02T11:29:00Z"`, now.Add(-31 * time.Minute)},
			{"no sent_at, old", `{}`, `"2025-01-01T00:00:00Z"`, now},
			{"future", `{}`, `"2026-12-02T12:05:00Z"`, now},
			{"within a minute ahead", `{}`, `"2026-12-02T12:00:30Z"`, now.Add(30 * time.Second)},
			{"negative huge", `{}`, `-1e18`, now},
			{"positive huge", `{}`, `1e30`, now},
			{"numeric", `{}`, `1795089600.5`, time.Unix(1795089600, 5e8).UTC()},
		} {
			payload := `{"message":"time ` + c.name + `","timestamp":` + c.ts + `}`
			resp := post(t, tg.url("envelope"), envelope(c.header, eventItem([]byte(payload))), tg.auth())
			require.Equal(t, http.StatusOK, resp.StatusCode, c.name)
			var out struct{ ID string }
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			e, err := tg.st.EventByEventID(ctx, tg.p.ID, out.ID)
			require.NoError(t, err, c.name)
			assert.True(t, c.want.Equal(e.Timestamp), "%s: stored %v, want %v", c.name, e.Timestamp, c.want)
			assert.Contains(t, string(e.JSON), `"timestamp":`+c.ts, "the timestamp as sent is kept")
		}
		// The store endpoint: sentry_timestamp in the auth header is sent_at.
		hdr := tg.auth()
		hdr["X-Sentry-Auth"] += ", sentry_timestamp=1735725600" // 2025-01-01T10:00:00Z
		resp := post(t, tg.url("store"), []byte(`{"message":"store drift","timestamp":"2025-01-01T09:58:00Z"}`), hdr)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var out struct{ ID string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		e, err := tg.st.EventByEventID(ctx, tg.p.ID, out.ID)
		require.NoError(t, err)
		assert.True(t, now.Add(-2*time.Minute).Equal(e.Timestamp), "store endpoint drift: %v", e.Timestamp)

		page, err := tg.st.ListGroups(ctx, store.GroupQuery{})
		require.NoError(t, err)
		_, err = json.Marshal(page)
		require.NoError(t, err)
	})
}

// TestHostileEventsAmongNormalTraffic: events with NUL characters in
// every text errlogd stores (message, exception type, environment,
// release, a frame's function, tags), invalid UTF-8 and absurd values,
// sent among concurrent normal events, cost no normal event its place,
// on both databases; they are stored too, NUL shown as U+2400.
func TestHostileEventsAmongNormalTraffic(t *testing.T) {
	hostile := []string{
		`{"message":"a\u0000b"}`,
		`{"exception":[{"type":"Nul\u0000Error","value":"v\u0000"}]}`,
		`{"message":"env","environment":"prod\u0000","release":"1.0\u0000"}`,
		`{"exception":[{"type":"E","value":"f","stacktrace":{"frames":[{"function":"f\u0000n","filename":"a\u0000.go","in_app":true}]}}]}`,
		`{"message":"tags","tags":{"k\u0000":"v\u0000"},"user":{"id":"\u0000"}}`,
		"{\"message\":\"bad utf8 \xff\xfe\",\"culprit\":\"\xc3\"}",
		`{"message":"ts","timestamp":-1e18,"level":"\u0000"}`,
		`{"message":"deep","extra":` + strings.Repeat(`[`, 500) + strings.Repeat(`]`, 500) + `}`,
	}
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		const normal = 200
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		var hostileIDs []string
		work := make(chan []byte)
		for w := 0; w < 12; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range work {
					status, id, msg := tg.send(t, p)
					mu.Lock()
					if strings.Contains(string(p), "normal") {
						if status != http.StatusOK {
							refused++
							t.Errorf("normal event: %d %s", status, msg)
						}
					} else {
						assert.Equal(t, http.StatusOK, status, "%s: %s", p, msg)
						hostileIDs = append(hostileIDs, id)
					}
					mu.Unlock()
				}
			}()
		}
		for i := 0; i < normal; i++ {
			work <- eventJSON(event.NewID(), fmt.Sprintf("normal %d", i))
			if i%25 == 0 {
				work <- []byte(hostile[(i/25)%len(hostile)])
			}
		}
		close(work)
		wg.Wait()
		assert.Zero(t, refused)
		st, err := tg.st.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(normal+len(hostileIDs)), st.Events)
		for _, title := range []string{"a\u2400b", "Nul\u2400Error: v\u2400"} {
			page, err := tg.st.ListGroups(ctx, store.GroupQuery{Text: title})
			require.NoError(t, err)
			if assert.Len(t, page.Groups, 1, title) {
				assert.Equal(t, title, page.Groups[0].Title, "NUL shown as ␀")
			}
		}
	})
}

// TestUserFeedback: the legacy user_report item and the feedback item
// (captureFeedback) are stored with the group of the event they name,
// on both databases, before or after the event arrives; feedback on no
// event is an event of its own.
func TestUserFeedback(t *testing.T) {
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		id := event.NewID()
		later := event.NewID()
		items := []string{
			`{"type":"user_report"}`, `{"event_id":"` + later + `","name":"Bo","email":"bo@example.com","comments":"sent before the event"}`,
		}
		resp := post(t, tg.url("envelope"), envelope(append([]string{`{}`}, items...)...), tg.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
		for _, eid := range []string{id, later} {
			status, _, msg := tg.send(t, eventJSON(eid, "checkout broke"))
			require.Equal(t, http.StatusOK, status, msg)
		}
		fb := `{"type":"feedback","event_id":"` + event.NewID() + `","timestamp":` + strconv.FormatInt(time.Now().Unix(), 10) +
			`,"contexts":{"feedback":{"message":"the pay button does nothing","contact_email":"ann@example.com","name":"Ann","url":"https://shop.example/cart","associated_event_id":"` + id + `"}}}`
		resp = post(t, tg.url("envelope"), envelope(`{}`, `{"type":"feedback"}`, fb), tg.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
		e, err := tg.st.EventByEventID(ctx, tg.p.ID, id)
		require.NoError(t, err)
		got, err := tg.st.GroupFeedback(ctx, e.GroupID, 0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "the pay button does nothing", got[0].Comments)
		assert.Equal(t, "https://shop.example/cart", got[0].URL)
		assert.Equal(t, "sent before the event", got[1].Comments)
		assert.Equal(t, "bo@example.com", got[1].Email)

		// On no event: listed as an event of its own.
		alone := `{"type":"feedback","event_id":"` + event.NewID() + `","contexts":{"feedback":{"message":"love the new search","name":"Cy"}}}`
		resp = post(t, tg.url("envelope"), envelope(`{}`, `{"type":"feedback"}`, alone), tg.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
		page, err := tg.st.ListGroups(ctx, store.GroupQuery{Text: "love the new search"})
		require.NoError(t, err)
		require.Len(t, page.Groups, 1)
		assert.Equal(t, "User feedback: love the new search", page.Groups[0].Title)
		got, err = tg.st.GroupFeedback(ctx, page.Groups[0].ID, 0)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "Cy", got[0].Name)

		// Deleting a group deletes what users wrote about it.
		require.NoError(t, tg.st.DeleteGroup(ctx, e.GroupID))
		var n int
		require.NoError(t, tg.st.(interface{ Pool() *sql.DB }).Pool().QueryRowContext(ctx, `SELECT count(*) FROM feedback`).Scan(&n))
		assert.Equal(t, 1, n, "only Cy's feedback, on another group, is left")
	})
}

// TestOneBadItemCostsThatItem: an item refused alone (an event that is not
// JSON, a report that is not an object) is counted and skipped; the
// envelope's other items are stored and the envelope is answered 200. Only
// an envelope of which nothing was taken is refused. Reports of the wrong
// types, or without comments (the browser SDK passes what the user typed
// through), are not refused at all.
func TestOneBadItemCostsThatItem(t *testing.T) {
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		a, b, c := event.NewID(), event.NewID(), event.NewID()
		resp := post(t, tg.url("envelope"), envelope(`{}`,
			eventItem(eventJSON(a, "first")),
			`{"type":"event","length":12}`, `{"message":1`,
			`{"type":"user_report"}`, `{"event_id":"`+a+`","name":42,"email":["x"],"comments":"it broke"}`,
			`{"type":"user_report"}`, `{"event_id":"`+a+`","name":"Bo"}`,
			`{"type":"user_report"}`, `[1]`,
			`{"type":"feedback"}`, `{"event_id":"`+c+`","contexts":{"feedback":{"contact_email":"a@b.c"}}}`,
			eventItem(eventJSON(b, "second"))), tg.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
		var out struct{ ID string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		assert.Equal(t, a, out.ID)
		for _, id := range []string{a, b, c} {
			_, err := tg.st.EventByEventID(ctx, tg.p.ID, id)
			assert.NoError(t, err, "event %s stored", id)
		}
		e, err := tg.st.EventByEventID(ctx, tg.p.ID, a)
		require.NoError(t, err)
		fb, err := tg.st.GroupFeedback(ctx, e.GroupID, 0)
		require.NoError(t, err)
		require.Len(t, fb, 1, "the report without comments skipped")
		assert.Equal(t, "42", fb[0].Name)
		assert.Empty(t, fb[0].Email)
		assert.Equal(t, "it broke", fb[0].Comments)
		st := tg.h.Stats()
		assert.Equal(t, int64(2), st.Malformed, "the bad event and the report that is not an object")
		assert.Equal(t, int64(3), st.Events)

		// Nothing taken: refused, each bad item counted once.
		resp = post(t, tg.url("envelope"), envelope(`{}`,
			`{"type":"event","length":3}`, `[1]`, `{"type":"event","length":1}`, `x`), tg.auth())
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, resp.Header.Get("X-Sentry-Error"), "not a JSON object")
		assert.Equal(t, int64(4), tg.h.Stats().Malformed)
	})
}

// TestEventIDForms: an event id is read in any form of a UUID (braces, a
// URN, upper case, hyphens); an event without a usable one takes the
// envelope's, so that the envelope sent again is the same event.
func TestEventIDForms(t *testing.T) {
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		for _, form := range []string{"{%s}", "urn:uuid:%s", "URN:UUID:%s", "%s"} {
			id := event.NewID()
			uuid := strings.ToUpper(hyphenated(id))
			status, got, msg := tg.send(t, eventJSON(fmt.Sprintf(form, uuid), "forms"))
			require.Equal(t, http.StatusOK, status, msg)
			assert.Equal(t, id, got, form)
		}
		// A report names its event in any form too.
		id := event.NewID()
		uuid := hyphenated(id)
		resp := post(t, tg.url("envelope"), envelope(`{}`, eventItem(eventJSON("{"+uuid+"}", "reported")),
			`{"type":"user_report"}`, `{"event_id":"urn:uuid:`+strings.ToUpper(uuid)+`","comments":"hi"}`), tg.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
		e, err := tg.st.EventByEventID(ctx, tg.p.ID, id)
		require.NoError(t, err)
		fb, err := tg.st.GroupFeedback(ctx, e.GroupID, 0)
		require.NoError(t, err)
		assert.Len(t, fb, 1)

		hid := event.NewID()
		for range 2 {
			resp := post(t, tg.url("envelope"), envelope(`{"event_id":"`+hid+`"}`, eventItem(eventJSON("not-an-id", "retried"))), tg.auth())
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		st, err := tg.st.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(6), st.Events, "the envelope sent twice is one event")
		_, err = tg.st.EventByEventID(ctx, tg.p.ID, hid)
		assert.NoError(t, err)
	})
}

// hyphenated is the event id of 32 hex digits id as a UUID's text.
func hyphenated(id string) string {
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

// TestEnvelopeToStoreEndpoint: an envelope posted to the store endpoint
// with the envelope's Content-Type is read as an envelope, as Relay reads
// it.
func TestEnvelopeToStoreEndpoint(t *testing.T) {
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		id := event.NewID()
		hdr := tg.auth()
		hdr["Content-Type"] = "Application/X-Sentry-Envelope; charset=utf-8"
		resp := post(t, tg.url("store"), envelope(`{}`, eventItem(eventJSON(id, "via store"))), hdr)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
		_, err := tg.st.EventByEventID(ctx, tg.p.ID, id)
		assert.NoError(t, err)
	})
}

// TestPythonNonFinite: raven-python writes NaN and Infinity, which are not
// JSON; from Python clients they are read as null (as Relay reads them),
// and what is stored is valid JSON. From other clients the body is
// refused.
func TestPythonNonFinite(t *testing.T) {
	onStores(t, ingest.Options{}, func(t *testing.T, tg *target) {
		long := strings.Repeat("the same words again ", 100)
		body := func(id string) []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte(`{"event_id":"` + id + `","message":"m","extra":{"ratio":NaN,"max":Infinity,"min":-Infinity,"s":"NaN","long":"` + long + `"}}`))
			require.NoError(t, zw.Close())
			return buf.Bytes() // compressed as sent, which errlogd keeps when it can
		}
		auth := func(client string) map[string]string {
			return map[string]string{"Content-Encoding": "gzip",
				"X-Sentry-Auth": "Sentry sentry_version=6, sentry_client=" + client + ", sentry_key=" + tg.p.PublicKey}
		}
		resp := post(t, tg.url("store"), body(event.NewID()), auth("sentry.go/0.50.0"))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		for _, client := range []string{"raven-python/6.10.0", "sentry.python/1.9.10"} {
			id := event.NewID()
			resp = post(t, tg.url("store"), body(id), auth(client))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", client, resp.Header.Get("X-Sentry-Error"))
			e, err := tg.st.EventByEventID(ctx, tg.p.ID, id)
			require.NoError(t, err)
			ev, err := decode.Event(e.JSON)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"ratio": nil, "max": nil, "min": nil, "s": "NaN", "long": long}, ev.Extra, client)
		}
	})
}
