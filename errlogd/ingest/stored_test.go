package ingest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/event"
	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientGzipStored: an envelope that holds one event, gzipped by the
// client, is stored as it came (the 4-byte mark of store.StoredEnvelope
// and the body), and read back byte for byte; any other envelope's events
// are compressed by errlogd, as before.
func TestClientGzipStored(t *testing.T) {
	s := newServer(t, ingest.Options{})
	// A sentry-go-sized event: frames and extras that compress well.
	big := func(id, msg string) []byte {
		var frames []string
		for i := 0; i < 30; i++ {
			frames = append(frames, fmt.Sprintf(`{"function":"handler%d","module":"example.com/app/http","abs_path":"/src/app/http/h%d.go","lineno":%d,"in_app":true,"context_line":"\treturn s.next.ServeHTTP(w, r)"}`, i, i, 10+i))
		}
		return []byte(fmt.Sprintf(`{"event_id":%q,"level":"error","platform":"go","message":%q,"exception":[{"type":"*errors.errorString","value":%q,"stacktrace":{"frames":[%s]}}],"extra":{"note":%q}}`,
			id, msg, msg, strings.Join(frames, ","), strings.Repeat("the same words again ", 40)))
	}
	gz := func(b []byte, level int) []byte {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, level)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	stored := func() int64 {
		st, err := s.st.Stats(ctx)
		require.NoError(t, err)
		return st.StoredBytes
	}
	send := func(body []byte, hdr map[string]string) {
		t.Helper()
		h := s.auth()
		for k, v := range hdr {
			h[k] = v
		}
		resp := post(t, s.url("envelope"), body, h)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get("X-Sentry-Error"))
	}
	readBack := func(id string, want []byte) {
		t.Helper()
		got, err := s.st.EventByEventID(ctx, s.p.ID, id)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got.JSON), "read back as sent")
	}

	for _, c := range []struct {
		name string
		hdr  map[string]string
	}{{"gzip", map[string]string{"Content-Encoding": "gzip"}}, {"sniffed", nil}} {
		id := event.NewID()
		ev := big(id, "alone "+c.name)
		body := gz(envelope(`{"event_id":"`+id+`"}`, eventItem(ev)), gzip.DefaultCompression)
		before := stored()
		send(body, c.hdr)
		assert.Equal(t, int64(len(body)+4), stored()-before, "%s: the client's gzip, kept", c.name)
		readBack(id, ev)
	}

	// Two events in one envelope: each is compressed on its own.
	id1, id2 := event.NewID(), event.NewID()
	ev1, ev2 := big(id1, "first of two"), big(id2, "second of two")
	body := gz(envelope(`{}`, eventItem(ev1), eventItem(ev2)), gzip.DefaultCompression)
	before := stored()
	send(body, map[string]string{"Content-Encoding": "gzip"})
	assert.NotEqual(t, int64(len(body)+4), stored()-before)
	readBack(id1, ev1)
	readBack(id2, ev2)

	// An event beside an attachment: the body is not the event's alone.
	id := event.NewID()
	ev := big(id, "with an attachment")
	att := strings.Repeat("log line\n", 2000)
	body = gz(envelope(`{"event_id":"`+id+`"}`, eventItem(ev), fmt.Sprintf(`{"type":"attachment","length":%d}`, len(att)), att), gzip.DefaultCompression)
	before = stored()
	send(body, map[string]string{"Content-Encoding": "gzip"})
	assert.Less(t, stored()-before, int64(len(body)), "the attachment is not stored")
	readBack(id, ev)

	// gzip that does not compress (stored blocks): errlogd compresses.
	id = event.NewID()
	ev = big(id, "not compressed")
	body = gz(envelope(`{"event_id":"`+id+`"}`, eventItem(ev)), gzip.NoCompression)
	before = stored()
	send(body, map[string]string{"Content-Encoding": "gzip"})
	assert.Less(t, stored()-before, int64(len(body)/3), "compressed by errlogd")
	readBack(id, ev)

	// An envelope padded with blank lines decompresses to far more than
	// its event: reading the kept gzip back would cost that much each
	// time, so errlogd compresses the event alone.
	id = event.NewID()
	ev = big(id, "padded")
	pad := strings.Repeat(strings.Repeat(" ", 1024)+"\n", 64)
	body = gz(envelope(`{"event_id":"`+id+`"}`, pad+eventItem(ev)), gzip.DefaultCompression)
	before = stored()
	send(body, map[string]string{"Content-Encoding": "gzip"})
	assert.NotEqual(t, int64(len(body)+4), stored()-before, "not kept")
	readBack(id, ev)

	// No compression at all: errlogd compresses, as before.
	id = event.NewID()
	ev = big(id, "plain")
	before = stored()
	send(envelope(`{"event_id":"`+id+`"}`, eventItem(ev)), nil)
	assert.Less(t, stored()-before, int64(len(ev)/3))
	readBack(id, ev)
}
