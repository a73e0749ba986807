package delivery

import (
	"errors"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Holds and backoff wait on Options.Clock: an hour-long Retry-After and a
// minute-long backoff pass when the fake clock says so, not before, and
// take no real time.
func TestHoldsAndBackoffFollowTheClock(t *testing.T) {
	fake := clock.NewFake(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
	p := newPeer(func(call int, it Item) error {
		switch call {
		case 1:
			return RetryAfter(time.Hour, errors.New("429 too many requests"))
		case 2:
			return errors.New("502 bad gateway")
		}
		return nil
	})
	q, _ := newTestQueue(t, Options{Send: p.send, MinBackoff: time.Minute, MaxBackoff: time.Minute, Clock: fake})
	calls := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.calls
	}
	enqueueAll(t, q, []string{"a", "b"})

	require.True(t, fake.WaitTimers(1, 5*time.Second), "no hold after Retry-After")
	// The worker may still be between a wake-up's timer and the hold's:
	// wait for the hold itself.
	hold := fake.Now().Add(time.Hour)
	require.Eventually(t, func() bool {
		d := fake.Deadlines()
		return len(d) == 1 && d[0].Equal(hold)
	}, 5*time.Second, time.Millisecond, "the hold is the peer's hour: %v", fake.Deadlines())
	fake.Advance(time.Hour - time.Millisecond)
	assert.Equal(t, 1, calls(), "sent during the hold")
	fake.Advance(time.Millisecond)

	// The second attempt fails: a backoff of 30 s to 1 min (jitter).
	require.True(t, fake.WaitTimers(1, 5*time.Second), "no backoff after a failure")
	require.Eventually(t, func() bool { return len(fake.Deadlines()) == 1 }, 5*time.Second, time.Millisecond)
	if d := fake.Deadlines(); assert.Len(t, d, 1) {
		wait := d[0].Sub(fake.Now())
		assert.True(t, wait >= 30*time.Second && wait <= time.Minute, "backoff %v, want 30 s to 1 min", wait)
	}
	assert.Equal(t, 2, calls())
	fake.Advance(29 * time.Second)
	assert.Equal(t, 2, calls(), "sent during the backoff")
	fake.Advance(31 * time.Second)
	flush(t, q)
	assert.Equal(t, []string{"a", "b"}, p.received())
	assert.EqualValues(t, 2, q.Stats().Retried)
}
