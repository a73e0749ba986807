package ingest

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScrubReservesMemory: an event decoded whole to be scrubbed first
// reserves what decoding may hold from the request bodies' budget; with
// the budget in use the event is refused with 429 after MemoryWait, not
// decoded, and once memory is given back it is stored scrubbed. An event
// flagged by its request alone, small to decode, reserves nothing.
func TestScrubReservesMemory(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close(ctx) })
	p, err := st.CreateProject(ctx, "app")
	require.NoError(t, err)
	h := New(st, Options{Scrub: NewScrubber(nil), MaxMemory: 3 << 20, MemoryWait: 50 * time.Millisecond})

	keyed := []byte(`{"event_id":"11111111111111111111111111111111","message":"m","extra":{"password":"hunter2","pad":"` + strings.Repeat("x", 100<<10) + `"}}`)
	request := []byte(`{"event_id":"22222222222222222222222222222222","message":"m","request":{"query_string":"access_token=tok-secret"}}`)
	b := h.lim.bodies
	require.NoError(t, b.Acquire(ctx, b.total-1000), "the budget in use by other requests")
	start := time.Now()
	_, err = h.storeEvent(ctx, p, keyed, nil, "", "")
	var he *httpError
	require.True(t, errors.As(err, &he), "%v", err)
	assert.Equal(t, http.StatusTooManyRequests, he.status)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "after MemoryWait")
	assert.Zero(t, h.Stats().Events)
	_, err = h.storeEvent(ctx, p, request, nil, "", "")
	require.NoError(t, err, "a request alone reserves nothing")

	b.Release(b.total - 1000)
	_, err = h.storeEvent(ctx, p, keyed, nil, "", "")
	require.NoError(t, err)
	assert.Equal(t, int64(2), h.Stats().Scrubbed)
	assert.Equal(t, int64(0), b.Used(), "given back")
	e, err := st.EventByEventID(ctx, p.ID, "11111111111111111111111111111111")
	require.NoError(t, err)
	assert.NotContains(t, string(e.JSON), "hunter2")
}
