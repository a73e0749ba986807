package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriterQueueFullFlushClose: a writer whose commit is blocked fills
// its queue, then refuses with ErrQueueFull (Submit) or counts drops
// (Deliver); Flush waits for what was queued; Close stops the goroutine.
func TestWriterQueueFullFlushClose(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var committed [][]*store.Incoming
	commit := func(ctx context.Context, batch []*store.Incoming, _ bool) error {
		<-release
		mu.Lock()
		committed = append(committed, append([]*store.Incoming(nil), batch...))
		mu.Unlock()
		return nil
	}
	p := &store.Project{ID: 1}
	w := startWriter(commit, func(context.Context) (*store.Project, error) { return p, nil }, store.WriterOptions{Queue: 2, MaxBatch: 10})
	ctx := context.Background()
	// The first event is taken by the writer goroutine and blocks in
	// commit; two more fill the queue.
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { errs <- w.Submit(ctx, &store.Incoming{EventID: event.NewID()}) }()
		time.Sleep(20 * time.Millisecond)
	}
	assert.ErrorIs(t, w.Submit(ctx, &store.Incoming{}), store.ErrQueueFull)
	w.Deliver(&event.Event{Logentry: &event.Logentry{Message: "dropped"}})
	assert.Equal(t, int64(1), w.Dropped())

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, w.Flush(short), context.DeadlineExceeded, "Flush waits for the blocked commit")

	close(release)
	for i := 0; i < 3; i++ {
		require.NoError(t, <-errs)
	}
	require.NoError(t, w.Flush(ctx))
	mu.Lock()
	n := 0
	for _, b := range committed {
		n += len(b)
	}
	mu.Unlock()
	assert.Equal(t, 3, n)
	assert.Greater(t, 3, len(committed), "the two queued events went in one batch")

	require.NoError(t, w.Close(ctx))
	require.NoError(t, w.Close(ctx))
	assert.ErrorIs(t, w.Submit(ctx, &store.Incoming{}), store.ErrClosed)
	assert.Eventually(t, func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "sqlstore.(*writer).run")
	}, time.Second, 10*time.Millisecond, "the writer goroutine ends with Close")
}

func TestWriterCommitErrorsReachSubmit(t *testing.T) {
	boom := errors.New("disk I/O error")
	var reported []error
	var mu sync.Mutex
	w := startWriter(func(context.Context, []*store.Incoming, bool) error { return boom }, nil, store.WriterOptions{
		OnError: func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() },
	})
	defer w.Close(context.Background())
	assert.ErrorIs(t, w.Submit(context.Background(), &store.Incoming{}), boom)
	assert.Equal(t, int64(1), w.Failed())
	mu.Lock()
	assert.Len(t, reported, 1)
	mu.Unlock()
}

// A Flush waiting for room in a full queue does not hold Close past
// Close's own deadline.
func TestWriterCloseNotHeldByAWaitingFlush(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	commit := func(ctx context.Context, batch []*store.Incoming, _ bool) error { <-release; return nil }
	p := &store.Project{ID: 1}
	w := startWriter(commit, func(context.Context) (*store.Project, error) { return p, nil }, store.WriterOptions{Queue: 1, MaxBatch: 1})
	w.Deliver(&event.Event{Logentry: &event.Logentry{Message: "committing"}})
	time.Sleep(20 * time.Millisecond) // the writer took it and blocks in commit
	w.Deliver(&event.Event{Logentry: &event.Logentry{Message: "queued"}})
	flushed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		flushed <- w.Flush(ctx)
	}()
	time.Sleep(50 * time.Millisecond) // Flush waits for room
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, w.Close(ctx), context.DeadlineExceeded, "the commit is still blocked")
	assert.Less(t, time.Since(start), 400*time.Millisecond, "Close kept its deadline")
	select {
	case <-flushed:
	case <-time.After(time.Second):
		t.Fatal("the waiting Flush did not step aside")
	}
}

// TestWriterIdleAfterAnswers: the store's deferred work (Idle) runs after
// a batch's submitters have their answers, and before the next batch.
func TestWriterIdleAfterAnswers(t *testing.T) {
	idle := make(chan struct{}, 1)
	release := make(chan struct{})
	var first sync.Once
	commits := make(chan int, 10)
	commit := func(ctx context.Context, batch []*store.Incoming, _ bool) error {
		commits <- len(batch)
		return nil
	}
	p := &store.Project{ID: 1}
	w := newWriter(commit, func(context.Context) (*store.Project, error) { return p, nil }, store.WriterOptions{})
	w.idle = func(context.Context) {
		first.Do(func() { // later batches: not held
			idle <- struct{}{}
			<-release
		})
	}
	w.start()
	ctx := context.Background()
	answered := make(chan error, 1)
	go func() { answered <- w.Submit(ctx, &store.Incoming{EventID: event.NewID()}) }()
	select {
	case err := <-answered:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("Submit waited for Idle")
	}
	<-idle
	done := make(chan error, 1)
	go func() { done <- w.Submit(ctx, &store.Incoming{EventID: event.NewID()}) }()
	select {
	case <-done:
		t.Fatal("a batch was written while Idle ran")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-done)
	assert.Len(t, commits, 2)
	require.NoError(t, w.Close(ctx))
}

func startWriter(commit commitFunc, project func(context.Context) (*store.Project, error), opts store.WriterOptions) *writer {
	w := newWriter(commit, project, opts)
	w.start()
	return w
}

// TestWriterOneBadEventNeverFailsAnother: when a batch fails to commit,
// each event is committed alone; the one the database refuses gets
// ErrRejected, the others are stored.
func TestWriterOneBadEventNeverFailsAnother(t *testing.T) {
	var mu sync.Mutex
	stored := map[string]bool{}
	commit := func(_ context.Context, batch []*store.Incoming, _ bool) error {
		for _, in := range batch {
			if in.Title == "poison" {
				return errors.New(`invalid byte sequence for encoding "UTF8": 0x00`)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, in := range batch {
			stored[in.EventID] = true
		}
		return nil
	}
	release := make(chan struct{})
	first := true
	gate := func(ctx context.Context, batch []*store.Incoming, settle bool) error {
		if first { // hold the first batch so that the others queue up together
			first = false
			<-release
		}
		return commit(ctx, batch, settle)
	}
	w := startWriter(gate, nil, store.WriterOptions{MaxBatch: 100})
	defer w.Close(context.Background())
	errs := make([]error, 21)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &store.Incoming{EventID: fmt.Sprint(i), Title: "ok"}
			if i%7 == 3 {
				in.Title = "poison"
			}
			errs[i] = w.Submit(context.Background(), in)
		}()
		if i == 0 {
			time.Sleep(10 * time.Millisecond) // the first batch holds event 0 alone
		}
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	rejected := 0
	for i, err := range errs {
		if i%7 == 3 {
			// ErrRejected in a batch with others; alone (a batch of one,
			// which the timing may give), the database's own error.
			assert.Error(t, err, i)
			if errors.Is(err, store.ErrRejected) {
				rejected++
			}
		} else {
			assert.NoError(t, err, i)
			assert.True(t, stored[fmt.Sprint(i)], i)
		}
	}
	assert.Positive(t, rejected)
	assert.Equal(t, int64(3), w.Failed())
}

// TestWriterLingers: while ingest says more events are on their way
// (InFlight), the writer waits for them (up to Linger) and commits them
// in one transaction, each Submit answered after it; an event alone, a
// Flush, or a Close is committed at once whatever Linger is.
func TestWriterLingers(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	commit := func(ctx context.Context, batch []*store.Incoming, _ bool) error {
		mu.Lock()
		sizes = append(sizes, len(batch))
		mu.Unlock()
		return nil
	}
	p := &store.Project{ID: 1}
	project := func(context.Context) (*store.Project, error) { return p, nil }
	ctx := context.Background()

	var inFlight atomic.Int64
	w := startWriter(commit, project, store.WriterOptions{Linger: 5 * time.Second, InFlight: func() int { return int(inFlight.Load()) }})
	// Eight requests in flight, their events coming 5 ms apart: one
	// commit, not eight.
	inFlight.Store(8)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() { errs <- w.Submit(ctx, &store.Incoming{EventID: event.NewID()}) }()
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < 8; i++ {
		require.NoError(t, <-errs)
	}
	mu.Lock()
	assert.Equal(t, []int{8}, sizes, "one transaction for the eight")
	sizes = nil
	mu.Unlock()

	// One request in flight, its event queued: no wait for a 5 s Linger.
	inFlight.Store(1)
	start := time.Now()
	require.NoError(t, w.Submit(ctx, &store.Incoming{EventID: event.NewID()}))
	assert.Less(t, time.Since(start), time.Second, "an event alone is committed at once")

	// More said to be in flight than come: a Flush ends the wait.
	inFlight.Store(100)
	done := make(chan error, 1)
	go func() { done <- w.Submit(ctx, &store.Incoming{EventID: event.NewID()}) }()
	time.Sleep(20 * time.Millisecond)
	start = time.Now()
	require.NoError(t, w.Flush(ctx))
	require.NoError(t, <-done)
	assert.Less(t, time.Since(start), time.Second, "a Flush is not kept waiting by Linger")
	require.NoError(t, w.Close(ctx))
}

// TestWriterLingerGap: events that stop coming end the wait after
// Linger/8, not Linger, even when more are said to be in flight (a
// request refused before its Submit).
func TestWriterLingerGap(t *testing.T) {
	commit := func(ctx context.Context, batch []*store.Incoming, _ bool) error { return nil }
	p := &store.Project{ID: 1}
	w := startWriter(commit, func(context.Context) (*store.Project, error) { return p, nil },
		store.WriterOptions{Linger: 800 * time.Millisecond, InFlight: func() int { return 2 }})
	ctx := context.Background()
	start := time.Now()
	require.NoError(t, w.Submit(ctx, &store.Incoming{EventID: event.NewID()}))
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 100*time.Millisecond, "it waited for the second event")
	assert.Less(t, took, 700*time.Millisecond, "until the gap, not the whole Linger")
	require.NoError(t, w.Close(ctx))
}
