package ingest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
)

// TestHostileMessageIngestTime: an event whose message is a 64 KiB run of
// "1:" is stored in well under a second. Grouping's Parameterize was
// quadratic on it (event.matchIPv6), run three times (grouping 3's key and
// the earlier groupings' PrevKeys): the request took 7.8 s, and a message
// of 1 MiB (MaxEvent) would hold it for about half an hour.
func TestHostileMessageIngestTime(t *testing.T) {
	s := newServer(t, ingest.Options{})
	b, _ := json.Marshal(map[string]any{"event_id": event.NewID(), "platform": "other", "level": "error",
		"logentry": map[string]any{"message": "ports " + strings.Repeat("1:", 32<<10)}})
	start := time.Now()
	resp := post(t, s.url("envelope"), envelope(`{}`, eventItem(b)), s.auth())
	resp.Body.Close()
	d := time.Since(start)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Less(t, d, time.Second, "a 64 KiB message took %v to ingest", d)
	assert.Equal(t, int64(1), s.events(t))
}
