package delivery

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peer is the receiving side: it records what it acknowledged, so tests can
// count IDs there rather than trust the queue's own counters.
type peer struct {
	mu    sync.Mutex
	calls int
	got   []string
	count map[string]int
	// fail decides the outcome of a call before it is recorded; nil
	// accepts everything. Called with mu held.
	fail func(call int, it Item) error
}

func newPeer(fail func(call int, it Item) error) *peer {
	return &peer{count: make(map[string]int), fail: fail}
}

func (p *peer) send(ctx context.Context, it Item) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail != nil {
		if err := p.fail(p.calls, it); err != nil {
			return err
		}
	}
	p.got = append(p.got, it.ID)
	p.count[it.ID]++
	return nil
}

func (p *peer) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

func (p *peer) setFail(f func(call int, it Item) error) {
	p.mu.Lock()
	p.fail = f
	p.mu.Unlock()
}

// errLog collects what OnError reports.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// matching returns the reported errors that wrap target.
func (l *errLog) matching(target error) []error {
	var out []error
	for _, err := range l.all() {
		if errors.Is(err, target) {
			out = append(out, err)
		}
	}
	return out
}

var errDown = errors.New("peer down")

func alwaysDown(int, Item) error { return errDown }

// newTestQueue fills in fast backoffs and error collection, and closes the
// queue when the test ends.
func newTestQueue(t *testing.T, o Options) (*Queue, *errLog) {
	t.Helper()
	log := &errLog{}
	if o.Name == "" {
		o.Name = "test"
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 4 * time.Millisecond
	}
	if o.OnError == nil {
		o.OnError = log.add
	}
	q, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		q.Close(ctx)
		for _, err := range log.all() {
			assert.True(t, strings.HasPrefix(err.Error(), "errlog: "+o.Name+": "), "error without prefix: %v", err)
		}
	})
	return q, log
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

func enqueueAll(t *testing.T, q *Queue, ids []string) {
	t.Helper()
	for _, id := range ids {
		require.True(t, q.Enqueue(Item{ID: id, Body: []byte("body of " + id)}), "enqueue %s", id)
	}
}

func flush(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, q.Flush(ctx))
}

func TestDeliveryOrder(t *testing.T) {
	p := newPeer(nil)
	q, log := newTestQueue(t, Options{Send: p.send, QueueSize: 1000})
	want := ids("e", 500)
	enqueueAll(t, q, want)
	flush(t, q)

	assert.Equal(t, want, p.received())
	st := q.Stats()
	assert.Equal(t, Stats{Enqueued: 500, Sent: 500}, st)
	assert.Empty(t, log.all())
}

func TestRetryThenSuccess(t *testing.T) {
	var attempts []int
	p := newPeer(func(call int, it Item) error {
		attempts = append(attempts, it.Attempt)
		if call <= 3 {
			return errDown
		}
		return nil
	})
	q, log := newTestQueue(t, Options{Send: p.send})
	enqueueAll(t, q, []string{"a", "b"})
	flush(t, q)

	assert.Equal(t, []string{"a", "b"}, p.received())
	assert.Equal(t, []int{0, 1, 2, 3, 0}, attempts, "Attempt counts earlier tries of the same item")
	st := q.Stats()
	assert.EqualValues(t, 3, st.Retried)
	assert.EqualValues(t, 2, st.Sent)
	assert.Empty(t, log.all(), "temporary failures are retried, not reported")
}

func TestPermanentFailureReportedOnceAndDropped(t *testing.T) {
	errBad := errors.New("400 bad request")
	p := newPeer(func(_ int, it Item) error {
		if it.ID == "bad" {
			return Permanent(errBad)
		}
		return nil
	})
	q, log := newTestQueue(t, Options{Send: p.send})
	enqueueAll(t, q, []string{"a", "bad", "c"})
	flush(t, q)

	assert.Equal(t, []string{"a", "c"}, p.received())
	p.mu.Lock()
	assert.Equal(t, 3, p.calls, "the permanent failure is not retried")
	p.mu.Unlock()
	errs := log.all()
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], errBad)
	assert.True(t, IsPermanent(errs[0]))
	assert.Contains(t, errs[0].Error(), "bad")
	assert.EqualValues(t, 1, q.Stats().Failed)
}

func TestPermanentAndRetryAfterHelpers(t *testing.T) {
	assert.NoError(t, Permanent(nil))
	base := errors.New("x")
	assert.True(t, IsPermanent(fmt.Errorf("wrapped: %w", Permanent(base))))
	assert.False(t, IsPermanent(base))
	assert.ErrorIs(t, Permanent(base), base)

	err := RetryAfter(3*time.Second, base)
	assert.ErrorIs(t, err, base)
	d, ok := RetryAfterDelay(fmt.Errorf("wrapped: %w", err))
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)
	_, ok = RetryAfterDelay(base)
	assert.False(t, ok)
	assert.Equal(t, "retry after 1s", RetryAfter(time.Second, nil).Error())
}

func TestRetryAfterHoldsEverything(t *testing.T) {
	const hold = 150 * time.Millisecond
	var times []time.Time
	p := newPeer(func(call int, it Item) error {
		times = append(times, time.Now())
		if call == 1 {
			return RetryAfter(hold, errors.New("429 too many requests"))
		}
		return nil
	})
	// A huge MinBackoff proves the peer's delay replaces the backoff.
	q, log := newTestQueue(t, Options{Send: p.send, MinBackoff: time.Hour, MaxBackoff: time.Hour})
	enqueueAll(t, q, []string{"a", "b", "c"})
	flush(t, q)

	assert.Equal(t, []string{"a", "b", "c"}, p.received())
	require.Len(t, times, 4)
	assert.GreaterOrEqual(t, times[1].Sub(times[0]), hold, "nothing is sent during the hold")
	st := q.Stats()
	assert.Zero(t, st.Dropped+st.Failed)
	assert.EqualValues(t, 1, st.Retried)
	assert.Empty(t, log.all())
}

func TestQueueOverflowCountedAndReported(t *testing.T) {
	inSend := make(chan struct{}, 1)
	release := make(chan struct{})
	send := func(ctx context.Context, it Item) error {
		select {
		case inSend <- struct{}{}:
		default:
		}
		<-release
		return nil
	}
	q, log := newTestQueue(t, Options{Send: send, QueueSize: 4})
	require.True(t, q.Enqueue(Item{ID: "first"}))
	<-inSend // the worker holds "first"; the ring is empty again

	enqueueAll(t, q, ids("q", 4))
	assert.False(t, q.Enqueue(Item{ID: "over1"}))
	assert.False(t, q.Enqueue(Item{ID: "over2"}))
	st := q.Stats()
	assert.EqualValues(t, 2, st.Dropped)
	assert.EqualValues(t, 5, st.Enqueued)
	assert.Equal(t, 5, st.Pending)

	close(release)
	flush(t, q)
	full := log.matching(ErrQueueFull)
	require.NotEmpty(t, full, "drops are reported")
	assert.Len(t, log.all(), len(full))
	assert.Contains(t, full[0].Error(), "dropped")
	assert.EqualValues(t, 5, q.Stats().Sent)
}

func TestFlushHonoursContextWithHangingSend(t *testing.T) {
	send := func(ctx context.Context, it Item) error {
		<-ctx.Done()
		return ctx.Err()
	}
	q, _ := newTestQueue(t, Options{Send: send})
	q.Enqueue(Item{ID: "a"})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := q.Flush(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, strings.HasPrefix(err.Error(), "errlog: test: "), err.Error())
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestFlushWithoutSpoolWaitsWhilePeerDown(t *testing.T) {
	p := newPeer(alwaysDown)
	q, _ := newTestQueue(t, Options{Send: p.send})
	q.Enqueue(Item{ID: "a"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, q.Flush(ctx), context.DeadlineExceeded, "in memory only, nothing is safe yet")
}

// stopped waits for q's worker, the only goroutine it starts, to return:
// one that outlives Close is a leak. It watches q alone, so that another
// test's leftovers cannot make it fail.
func stopped(t *testing.T, q *Queue) {
	t.Helper()
	select {
	case <-q.Done():
	case <-time.After(2 * time.Second):
		buf := make([]byte, 1<<16)
		t.Fatalf("the worker outlived Close:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func TestCloseStopsHangingSend(t *testing.T) {
	send := func(ctx context.Context, it Item) error {
		<-ctx.Done()
		return ctx.Err()
	}
	log := &errLog{}
	q, err := New(Options{Name: "test", Send: send, OnError: log.add})
	require.NoError(t, err)
	enqueueAll(t, q, []string{"a", "b"})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = q.Close(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	stopped(t, q)

	lost := log.matching(ErrClosed)
	require.Len(t, lost, 1, "undelivered items without a spool are reported")
	assert.Contains(t, lost[0].Error(), "2 undelivered items lost")
	assert.EqualValues(t, 2, q.Stats().Dropped)
	assert.Zero(t, q.Stats().Pending)
	assert.ErrorIs(t, q.Flush(context.Background()), ErrClosed)
}

func TestCloseGivesUpOnSendIgnoringContext(t *testing.T) {
	release := make(chan struct{})
	inSend := make(chan struct{})
	send := func(ctx context.Context, it Item) error {
		close(inSend)
		<-release // ignores ctx
		return nil
	}
	q, err := New(Options{Name: "test", Send: send})
	require.NoError(t, err)
	q.closeGrace = 20 * time.Millisecond
	q.Enqueue(Item{ID: "a"})
	<-inSend

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = q.Close(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Send did not return")
	assert.Less(t, time.Since(start), time.Second)

	close(release) // the worker exits as soon as Send returns
	<-q.done
	stopped(t, q)
	assert.EqualValues(t, 1, q.Stats().Sent, "a late acknowledgement still counts")
}

func TestCloseIdempotentAndEnqueueAfterClose(t *testing.T) {
	p := newPeer(nil)
	log := &errLog{}
	q, err := New(Options{Name: "test", Send: p.send, OnError: log.add})
	require.NoError(t, err)
	enqueueAll(t, q, ids("c", 10))

	require.NoError(t, q.Close(context.Background()))
	require.NoError(t, q.Close(context.Background()))
	stopped(t, q)
	assert.Equal(t, ids("c", 10), p.received(), "Close flushes first")

	assert.False(t, q.Enqueue(Item{ID: "late"}))
	closed := log.matching(ErrClosed)
	require.Len(t, closed, 1)
	assert.EqualValues(t, 1, q.Stats().Dropped)
	assert.NoError(t, q.Flush(context.Background()), "nothing was lost")
}

func TestDuplicateIDNotSentAgain(t *testing.T) {
	p := newPeer(nil)
	q, _ := newTestQueue(t, Options{Send: p.send})
	enqueueAll(t, q, []string{"a", "b"})
	flush(t, q)
	enqueueAll(t, q, []string{"a", "c", ""})
	require.True(t, q.Enqueue(Item{})) // "" is never deduplicated
	flush(t, q)

	assert.Equal(t, []string{"a", "b", "c", "", ""}, p.received())
	assert.EqualValues(t, 1, q.Stats().Duplicates)
}

func TestSendPanicIsPermanent(t *testing.T) {
	p := newPeer(nil)
	q, log := newTestQueue(t, Options{Send: func(ctx context.Context, it Item) error {
		if it.ID == "boom" {
			panic("nil map")
		}
		return p.send(ctx, it)
	}})
	enqueueAll(t, q, []string{"boom", "ok"})
	flush(t, q)
	assert.Equal(t, []string{"ok"}, p.received())
	require.Len(t, log.all(), 1)
	assert.Contains(t, log.all()[0].Error(), "panicked: nil map")
}

func TestSendTimeout(t *testing.T) {
	var calls int
	var mu sync.Mutex
	send := func(ctx context.Context, it Item) error {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			<-ctx.Done() // hangs until SendTimeout
			return ctx.Err()
		}
		return nil
	}
	q, _ := newTestQueue(t, Options{Send: send, SendTimeout: 20 * time.Millisecond})
	q.Enqueue(Item{ID: "a"})
	flush(t, q)
	assert.EqualValues(t, 1, q.Stats().Sent)
	assert.EqualValues(t, 1, q.Stats().Retried)
}

func TestNewRejectsBadOptions(t *testing.T) {
	ok := func(context.Context, Item) error { return nil }
	for name, o := range map[string]Options{
		"no Send":          {Name: "x"},
		"negative size":    {Name: "x", Send: ok, QueueSize: -1},
		"backoff inverted": {Name: "x", Send: ok, MinBackoff: time.Minute, MaxBackoff: time.Second},
	} {
		_, err := New(o)
		if assert.Error(t, err, name) {
			assert.True(t, strings.HasPrefix(err.Error(), "errlog: x: "), err.Error())
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	q := &Queue{minBackoff: 10 * time.Millisecond, maxBackoff: 80 * time.Millisecond}
	nominal := []time.Duration{10, 20, 40, 80, 80, 80}
	for i, n := range nominal {
		q.failures = i + 1
		n *= time.Millisecond
		for j := 0; j < 50; j++ {
			d := q.backoff()
			assert.GreaterOrEqual(t, d, n/2)
			assert.LessOrEqual(t, d, n)
		}
	}
}

// Flush's error counts every item not delivered, those queued behind a
// send that outlasts it included: it counted what the worker had last
// published, 1 of 5 while the worker waited on its send.
func TestFlushCountsBehindAStuckSend(t *testing.T) {
	for _, spool := range []bool{false, true} {
		t.Run(fmt.Sprint("spool=", spool), func(t *testing.T) {
			started, release := make(chan struct{}, 1), make(chan struct{})
			o := Options{Send: func(ctx context.Context, it Item) error {
				select {
				case started <- struct{}{}:
				default:
				}
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}}
			if spool {
				o.SpoolDir = t.TempDir()
			}
			q, _ := newTestQueue(t, o)
			defer close(release) // before the queue's Close, which waits for the send
			enqueueAll(t, q, ids("first", 1))
			<-started
			enqueueAll(t, q, ids("behind", 4))
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			err := q.Flush(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Contains(t, err.Error(), "5 items not delivered yet")
			assert.Equal(t, 5, q.Stats().Pending)
		})
	}
}
