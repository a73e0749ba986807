package ingest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContentEncodingUTF8: sentry.java.android/2.0.0 sends
// "Content-Encoding: UTF-8" on uncompressed bodies; Relay ignores that
// value (relay-server/src/middlewares/decompression.rs,
// should_ignore_encoding). errlogd refuses every such event with 400, and
// the SDK drops it.
func TestContentEncodingUTF8(t *testing.T) {
	s := newServer(t, ingest.Options{})
	for _, enc := range []string{"UTF-8", "utf-8"} {
		id := event.NewID()
		hdr := s.auth()
		hdr["Content-Encoding"] = enc
		resp := post(t, s.url("envelope"), envelope(`{}`, eventItem(eventJSON(id, "utf8 "+enc))), hdr)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "Content-Encoding %q: %s", enc, b)
		_, err := s.st.EventByEventID(ctx, s.p.ID, id)
		assert.NoError(t, err, "Content-Encoding %q: event not stored", enc)

		id = event.NewID()
		hdr["Content-Type"] = "application/json"
		resp = post(t, s.url("store"), eventJSON(id, "utf8 store "+enc), hdr)
		b, _ = io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "store, Content-Encoding %q: %s", enc, b)
	}
}

// TestSingleExceptionObject: Relay reads an exception sent as one
// object without "values" ({"exception":{"type":…,"value":…}}) as a list
// of that one exception (relay-event-schema protocol/types.rs, Values
// FromValue: "Example: {"exception": {"type": "ZeroDivisonError"}"). errlogd
// drops it silently: no title, no processing error, and every such event
// of every kind lands in one "(no message)" group.
func TestSingleExceptionObject(t *testing.T) {
	s := newServer(t, ingest.Options{})
	var ids []string
	for _, typ := range []string{"ZeroDivisionError", "KeyError"} {
		id := event.NewID()
		ids = append(ids, id)
		body := fmt.Sprintf(`{"event_id":%q,"platform":"python","exception":{"type":%q,"value":"boom","stacktrace":{"frames":[{"filename":"app.py","function":"f_%s","lineno":3,"in_app":true}]}}}`, id, typ, typ)
		resp := post(t, s.url("store"), []byte(body), s.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	var groups []int64
	for i, id := range ids {
		e, err := s.st.EventByEventID(ctx, s.p.ID, id)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(e.Title, []string{"ZeroDivisionError", "KeyError"}[i]), "title %q", e.Title)
		groups = append(groups, e.GroupID)
	}
	assert.NotEqual(t, groups[0], groups[1], "two different exceptions in one group")

	ev, err := decode.Event([]byte(`{"exception":{"type":"E","value":"v"}}`))
	require.NoError(t, err)
	assert.Len(t, ev.Exception, 1, "processing errors: %v", ev.Errors)
}

// TestPythonLevelNumbers: Relay reads a numeric level as Python's
// logging level (10 debug, 20 info, 30 warning, 40 error, 50 fatal:
// Level::from_python_level), as raven-python sends them. errlogd drops
// the level, so a warning is stored (and alerted on) as an error.
func TestPythonLevelNumbers(t *testing.T) {
	for n, want := range map[string]event.Level{"10": event.LevelDebug, "20": event.LevelInfo, "30": event.LevelWarning, "50": event.LevelFatal} {
		ev, err := decode.Event([]byte(`{"message":"m","level":` + n + `}`))
		require.NoError(t, err)
		assert.Equal(t, want, ev.Level, "level %s; processing errors %v", n, ev.Errors)
	}
}

// TestScrubDuplicateKey: an event whose "extra" comes twice, the
// first holding a password, is stored with the password: the scrubber
// decodes the JSON into a map (the last "extra" wins), finds nothing to
// replace there, and stores the bytes as they came.
func TestScrubDuplicateKey(t *testing.T) {
	s := newServer(t, ingest.Options{Scrub: ingest.NewScrubber(nil)})
	id := event.NewID()
	body := fmt.Sprintf(`{"event_id":%q,"message":"m","extra":{"password":"hunter2SECRET"},"extra":{"a":"b"}}`, id)
	resp := post(t, s.url("store"), []byte(body), s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	e, err := s.st.EventByEventID(ctx, s.p.ID, id)
	require.NoError(t, err)
	assert.NotContains(t, string(e.JSON), "hunter2SECRET")
}

// TestCRLFEventAtLimit: an envelope item without a length runs to
// the newline; with CRLF line ends, an event of exactly MaxEvent bytes is
// refused (413), since the '\r' is counted against the limit.
func TestCRLFEventAtLimit(t *testing.T) {
	const max = 4096
	s := newServer(t, ingest.Options{MaxEvent: max})
	id := event.NewID()
	base := fmt.Sprintf(`{"event_id":%q,"message":"m","extra":{"p":""}}`, id)
	payload := fmt.Sprintf(`{"event_id":%q,"message":"m","extra":{"p":%q}}`, id, strings.Repeat("x", max-len(base)))
	require.Len(t, payload, max)
	for _, nl := range []string{"\n", "\r\n"} {
		body := "{}" + nl + `{"type":"event"}` + nl + payload + nl
		resp := post(t, s.url("envelope"), []byte(body), s.auth())
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "line end %q: %s", nl, b)
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(payload), &m))
}

// TestExceptionValueObject: Relay keeps an exception value that is
// an object or a list as its JSON text (JsonLenientString; relay's
// exception.rs test_coerces_object_value_to_string). errlogd drops it, so
// an exception with no type but such a value is "(no message)", grouped
// with every other event that has none.
func TestExceptionValueObject(t *testing.T) {
	ev, err := decode.Event([]byte(`{"exception":{"values":[{"value":{"unauthorized":true}}]}}`))
	require.NoError(t, err)
	require.Len(t, ev.Exception, 1)
	assert.JSONEq(t, `{"unauthorized":true}`, ev.Exception[0].Value, "processing errors: %v", ev.Errors)
}

// TestStoredButRefused: an event followed by an item whose header
// cannot be read is stored, yet the envelope is answered 400, so the SDK
// counts the event as lost (client report "send_error") though it was
// taken. docs/sdks.md: "the envelope is answered 200; it is refused (400)
// only when nothing in it was taken".
func TestStoredButRefused(t *testing.T) {
	s := newServer(t, ingest.Options{})
	id := event.NewID()
	body := envelope(`{}`, eventItem(eventJSON(id, "first")), `{"type":5}`, `{}`)
	resp := post(t, s.url("envelope"), body, s.auth())
	b, _ := io.ReadAll(resp.Body)
	_, err := s.st.EventByEventID(ctx, s.p.ID, id)
	require.NoError(t, err, "the event is stored")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "stored, but answered: %s", b)
}

// TestTransactionOnStore: "Old SDKs used to send transactions to
// the store endpoint with an explicit Transaction event type" (Relay,
// endpoints/store.rs, parse_event: ItemType::from_event_type). Relay
// treats it as a transaction; errlogd, which skips transaction items,
// stores it as an error event, a new "(no message)" group of level error
// that alert rules fire on.
func TestTransactionOnStore(t *testing.T) {
	s := newServer(t, ingest.Options{})
	id := event.NewID()
	body := fmt.Sprintf(`{"event_id":%q,"type":"transaction","transaction":"/api/users","start_timestamp":%d,"timestamp":%d,"spans":[],"contexts":{"trace":{"trace_id":"%s","span_id":"%s","op":"http.server"}}}`,
		id, time.Now().Unix()-1, time.Now().Unix(), strings.Repeat("a", 32), strings.Repeat("b", 16))
	resp := post(t, s.url("store"), []byte(body), s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, s.groups(t), "a transaction became an error group")
}

// TestScrubDuplicateKeyNested: a key twice at any depth, and in a
// request that alone is scrubbed: the first value, the secret's, is not
// what is stored.
func TestScrubDuplicateKeyNested(t *testing.T) {
	s := newServer(t, ingest.Options{Scrub: ingest.NewScrubber(nil)})
	for _, body := range []string{
		`{"event_id":%q,"message":"m","extra":{"password":"x","a":{"db":"hunter2SECRET"},"a":{}}}`,
		`{"event_id":%q,"message":"m","contexts":{"x":{"l":[{"k":"hunter2SECRET","k":1}]}},"extra":{"secret":""}}`,
		`{"event_id":%q,"message":"m","ext\u0072a":{"password":"hunter2SECRET"},"extra":{}}`,
		`{"event_id":%q,"message":"m","request":{"url":"https://h/","query_string":"token=hunter2SECRET","query_string":""}}`,
	} {
		id := event.NewID()
		resp := post(t, s.url("store"), []byte(fmt.Sprintf(body, id)), s.auth())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		e, err := s.st.EventByEventID(ctx, s.p.ID, id)
		require.NoError(t, err)
		assert.NotContains(t, string(e.JSON), "hunter2SECRET", body)
	}
	// Without a key twice, an event with nothing to replace is stored as
	// it came, byte for byte.
	id := event.NewID()
	body := fmt.Sprintf(`{"event_id":%q,  "message":"m","extra":{"password":"[Filtered]","a":{"b":[{"c":1},{"c":2}]}}}`, id)
	resp := post(t, s.url("store"), []byte(body), s.auth())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	e, err := s.st.EventByEventID(ctx, s.p.ID, id)
	require.NoError(t, err)
	assert.Equal(t, body, string(e.JSON))
}
