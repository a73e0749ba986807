package errlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rtyNotifier is a Notifier and a Ticketer that counts its calls, and
// answers each with what answer says.
type rtyNotifier struct {
	mu     sync.Mutex
	calls  map[string][]time.Time // by message
	answer func(msg string, call int) error
}

func (n *rtyNotifier) Notify(_ context.Context, ev *event.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.calls == nil {
		n.calls = map[string][]time.Time{}
	}
	msg := ev.Message()
	n.calls[msg] = append(n.calls[msg], time.Now())
	return n.answer(msg, len(n.calls[msg]))
}

func (n *rtyNotifier) RaiseTicket(ctx context.Context, ev *event.Event) error {
	return n.Notify(ctx, ev)
}

func (n *rtyNotifier) callsOf(msg string) []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]time.Time(nil), n.calls[msg]...)
}

// A custom Notifier's and Ticketer's errors are classified: Permanent is
// tried once, RetryAfter waits as long as asked, anything else is tried
// five times.
func TestNotifierRetryClassification(t *testing.T) {
	errBad := errors.New("400 bad request")
	answer := func(msg string, call int) error {
		switch msg {
		case "permanent":
			return Permanent(fmt.Errorf("webhook said: %w", errBad))
		case "later":
			if call == 1 {
				return RetryAfter(errors.New("429 slow down"), 300*time.Millisecond)
			}
			return nil
		case "flaky":
			return errors.New("503")
		}
		return nil
	}
	for _, kind := range []string{"notifier", "ticketer"} {
		t.Run(kind, func(t *testing.T) {
			rec := &errRecorder{}
			n := &rtyNotifier{answer: answer}
			var s *noticeSink
			if kind == "notifier" {
				s = newTestSink(t, nil, testEnv(rec), fast, []Notifier{n}, nil)
			} else {
				s = newTestSink(t, nil, testEnv(rec), fast, nil, []Ticketer{n})
			}
			for _, msg := range []string{"permanent", "later", "flaky", "fine"} {
				ev := mailEvent(msg)
				ev.Fingerprint = []string{msg} // a group each: each is a first occurrence
				s.Deliver(ev)
			}
			flushSink(t, s)

			assert.Len(t, n.callsOf("permanent"), 1, "a Permanent error is not retried")
			perm := rec.matching("webhook said")
			require.Len(t, perm, 1, "and is reported once")
			assert.ErrorIs(t, perm[0], errBad, "with the notifier's error in the chain")

			later := n.callsOf("later")
			require.Len(t, later, 2)
			// The queue's own backoff is 10-50ms here: only RetryAfter
			// explains a wait this long.
			assert.GreaterOrEqual(t, later[1].Sub(later[0]), 290*time.Millisecond, "RetryAfter's delay is honoured")

			assert.Len(t, n.callsOf("flaky"), 5, "any other error: five attempts")
			assert.Len(t, rec.matching("giving up after 5 attempts"), 1)
			assert.Len(t, n.callsOf("fine"), 1)
		})
	}
}

func TestRetryHelpersNil(t *testing.T) {
	assert.NoError(t, Permanent(nil))
	assert.NoError(t, RetryAfter(nil, time.Second))
	err := errors.New("x")
	assert.ErrorIs(t, Permanent(err), err)
	assert.ErrorIs(t, RetryAfter(err, time.Second), err)
}

// ntcNotifier takes the Notice as a parameter.
type ntcNotifier struct {
	mu      sync.Mutex
	notices []*Notice
	plain   int
}

func (n *ntcNotifier) Notify(context.Context, *event.Event) error {
	n.mu.Lock()
	n.plain++
	n.mu.Unlock()
	return nil
}

func (n *ntcNotifier) NotifyNotice(_ context.Context, nt *Notice) error {
	n.mu.Lock()
	n.notices = append(n.notices, nt)
	n.mu.Unlock()
	return nil
}

// A NoticeNotifier is given each Notice, first occurrences and digests
// alike, and Notify is not called.
func TestNoticeNotifierGetsTheNotice(t *testing.T) {
	n := &ntcNotifier{}
	s := newTestSink(t, nil, testEnv(&errRecorder{}), fast, []Notifier{n}, nil)
	for i := 0; i < 4; i++ {
		s.Deliver(mailEvent("boom"))
	}
	flushSink(t, s) // sends the pending digest
	n.mu.Lock()
	defer n.mu.Unlock()
	assert.Equal(t, 0, n.plain)
	require.Len(t, n.notices, 2)
	assert.Equal(t, NoticeFirst, n.notices[0].Kind)
	assert.Equal(t, "boom", n.notices[0].Event.Message())
	assert.Equal(t, NoticeDigest, n.notices[1].Kind)
	assert.Equal(t, 3, n.notices[1].Count)
}
