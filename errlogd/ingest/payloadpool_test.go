package ingest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPooledPayloadsNotShared: ingest reads each envelope's event into a
// pooled buffer, used again once the event is submitted. 400 events of
// sizes from 60 bytes to 60 KB, uncompressed (stored as errlogd
// compresses them) and sent 16 at a time, some two to an envelope: each
// stored event is the one sent, none another's bytes.
func TestPooledPayloadsNotShared(t *testing.T) {
	s := newServer(t, ingest.Options{})
	ids := make([]string, 400)
	msgs := make([]string, 400)
	payloads := make([][]byte, 400)
	for i := range ids {
		ids[i] = event.NewID()
		// The message's length varies, so that a reused buffer holds a
		// longer event's tail after a shorter one.
		msgs[i] = fmt.Sprintf("event %d %s", i, strings.Repeat(string(rune('a'+i%26)), (i*7919)%60000))
		payloads[i] = eventJSON(ids[i], msgs[i])
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < len(ids); i++ {
		items := []string{`{}`, eventItem(payloads[i])}
		if i%5 == 0 && i+1 < len(ids) {
			i++
			items = append(items, eventItem(payloads[i]))
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp := post(t, s.url("envelope"), envelope(items...), s.auth())
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		}()
	}
	wg.Wait()
	for i, id := range ids {
		ev, err := s.st.EventByEventID(ctx, s.p.ID, id)
		require.NoError(t, err, "event %d", i)
		assert.JSONEq(t, string(payloads[i]), string(ev.JSON), "event %d is the one sent", i)
	}
}
