package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
)

// commitFunc writes one batch in one transaction. Duplicates of (project,
// event id) already stored, or twice in the batch, are skipped. With
// settle, the counts owed (counts.go) are written in it too.
type commitFunc func(ctx context.Context, batch []*store.Incoming, settle bool) error

type pending struct {
	in    *store.Incoming
	done  chan error // nil for Deliver
	flush chan error // Flush's: the counts owed could not be written, or nil
}

// writer is the one goroutine that writes a store: a bounded queue and
// group commit. It owns its lifetime and the database's: when it stops,
// it runs stop (which closes the pools), so that nothing it uses is closed
// under it, however Close's deadline falls.
type writer struct {
	commit commitFunc
	opts   store.WriterOptions
	queue  chan pending
	// project is the project Deliver records into, found on first use.
	project func(ctx context.Context) (*store.Project, error)
	// idle, when set, runs after each batch's submitters have their
	// answers: the store's deferred work, which must not delay them.
	idle func(ctx context.Context)
	// stop runs on the writer goroutine once the queue is done with:
	// what closes the database. abandoned tells it whether Close gave up.
	stop func(ctx context.Context, abandoned bool) error
	// owed, when set, says by when the counts owed must be written (zero:
	// none is owed); settle writes them in a transaction of their own.
	owed   func() time.Time
	settle func(ctx context.Context, also func(context.Context, *sql.Tx) error) error
	// settles asks the goroutine to settle now (settleNow).
	settles chan settleReq
	// settleFailed: the last settle failed, and was reported; the next
	// is not tried before retryAt.
	settleFailed bool
	retryAt      time.Time

	mu     sync.RWMutex // held for reading while sending; Close takes it to close queue
	closed bool
	// closing is closed when Close starts, so that a Flush waiting for
	// room in the queue (holding mu for reading) steps aside at once.
	closing   chan struct{}
	closeOnce sync.Once
	// life is cancelled when a Close's deadline ends before the writer
	// stopped: the batch being committed is rolled back, and what is
	// still queued is answered ErrClosed instead of written.
	life    context.Context
	abandon context.CancelFunc
	stopped chan struct{}
	stopErr error // set before stopped is closed
	dropped atomic.Int64
	failed  atomic.Int64
	// commitErr is the error of the last commit when the database failed
	// it (Dialect.Unavailable: a full disk, an I/O error); nil once a
	// commit succeeds or fails otherwise. Health reports it.
	commitErr atomic.Pointer[error]
	// unavailable is the dialect's Unavailable: errors that are not the
	// events' (a full disk).
	unavailable func(error) bool
}

// newWriter starts the writer goroutine; opts has its defaults.
func newWriter(commit commitFunc, project func(ctx context.Context) (*store.Project, error), opts store.WriterOptions) *writer {
	if opts.Queue <= 0 {
		opts.Queue = 10000
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 500
	}
	if opts.Linger == 0 {
		opts.Linger = 2 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &writer{commit: commit, opts: opts, project: project, queue: make(chan pending, opts.Queue), stopped: make(chan struct{}), closing: make(chan struct{}), settles: make(chan settleReq)}
	w.life, w.abandon = context.WithCancel(context.Background())
	return w
}

// start runs the goroutine; idle and stop are set before.
func (w *writer) start() { go w.run() }

// send queues p without waiting: ErrQueueFull when there is no room.
func (w *writer) send(p pending) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return store.ErrClosed
	}
	select {
	case w.queue <- p:
		return nil
	default:
		return store.ErrQueueFull
	}
}

// Submit queues in and waits until it is committed.
func (w *writer) Submit(ctx context.Context, in *store.Incoming) error {
	done := make(chan error, 1)
	if err := w.send(pending{in: in, done: done}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The event stays queued and will be written.
		return ctx.Err()
	}
}

// Deliver implements errlog.EventSink: it prepares ev for the default
// project and queues it without waiting. Full queue: counted as dropped.
func (w *writer) Deliver(ev *event.Event) {
	p, err := w.project(context.Background())
	if err != nil {
		w.dropped.Add(1)
		if !errors.Is(err, store.ErrClosed) {
			w.fail(fmt.Errorf("errlog: store: deliver: %w", err))
		}
		return
	}
	in, err := store.Prepare(p, ev, nil, w.opts.Now())
	if err != nil {
		w.dropped.Add(1)
		w.fail(err)
		return
	}
	if err := w.send(pending{in: in}); err != nil {
		w.dropped.Add(1)
	}
}

// Flush returns when everything queued before it is committed and the
// counts owed are written; the error when they could not be (they stay
// owed, and are written later or found again at the next Open), or when
// Close gave up first.
func (w *writer) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return nil
	}
	select {
	case w.queue <- pending{flush: done}:
	case <-w.closing: // Close writes what is queued
		w.mu.RUnlock()
		return nil
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued, then the goroutine closes the database and
// stops. When ctx ends first, Close abandons the rest: the batch being
// committed is rolled back (or commits, if it is past that), what is
// still queued is answered ErrClosed, and the goroutine closes the
// database when it is done, after Close returned ctx's error. A later
// Close waits for that. Closing twice is not an error.
func (w *writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() { close(w.closing) })
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.stopped:
		return w.stopErr
	case <-ctx.Done():
		select {
		case <-w.stopped: // done just in time
			return w.stopErr
		default:
		}
		w.abandon()
		return fmt.Errorf("errlog: store: close: %w: the batch being committed is rolled back, and what is still queued is not written", ctx.Err())
	}
}

// isClosed reports whether Close was called.
func (w *writer) isClosed() bool {
	select {
	case <-w.closing:
		return true
	default:
		return false
	}
}

// Dropped counts events Deliver dropped, or Close abandoned.
func (w *writer) Dropped() int64 { return w.dropped.Load() }

// setCommitErr records how the last commit went: err nil clears it, and
// so does any error but the database's own (Dialect.Unavailable: a full
// disk, an I/O error), which fails every commit until it is mended. A
// passing failure (a deadlock, a connection broken and retried) must not
// make the store unhealthy until the next event comes; a lost file and a
// closing store are said elsewhere.
func (w *writer) setCommitErr(err error) {
	if err == nil || w.unavailable == nil || !w.unavailable(err) {
		w.commitErr.Store(nil)
		return
	}
	w.commitErr.Store(&err)
}

// lastCommitErr is the error of the last commit, when it failed.
func (w *writer) lastCommitErr() error {
	if p := w.commitErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Failed counts events lost to failed commits.
func (w *writer) Failed() int64 { return w.failed.Load() }

func (w *writer) fail(err error) {
	if w.opts.OnError != nil {
		w.opts.OnError(err)
	}
}

func (w *writer) run() {
	defer close(w.stopped)
	defer func() {
		if w.stop != nil {
			w.stopErr = w.stop(w.life, w.life.Err() != nil)
		}
		w.abandon() // releases the context
	}()
	batch := make([]pending, 0, w.opts.MaxBatch)
	ins := make([]*store.Incoming, 0, w.opts.MaxBatch)
	var lastCommit time.Time // when the previous batch was answered
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	owedTimer := time.NewTimer(time.Hour)
	owedTimer.Stop()
	for {
		p, ok := w.next(owedTimer, lastCommit)
		if !ok {
			break
		}
		batch = append(batch[:0], p)
		// loaded: this batch follows the last one closely (events keep
		// coming), and may leave its counts owed.
		loaded := time.Since(lastCommit) < w.opts.Linger
		// Group commit: take whatever queued up while the last batch
		// was being written; under load, wait up to Linger for more.
		busy := w.opts.Linger > 0 && (w.opts.InFlight != nil || loaded)
		w.take(&batch, busy, linger)
		ins = ins[:0]
		flush := false
		for _, p := range batch {
			if p.in != nil {
				ins = append(ins, p.in)
			}
			flush = flush || p.flush != nil
		}
		// The counts owed are written with this batch unless it follows
		// the last one closely (loaded) while more may come: the queue
		// holds more, or InFlight is set (ingest's requests, which it
		// cannot tell from a load's next ones); and always before a
		// Flush is answered, and at Close.
		settle := flush || w.isClosed() || !loaded || len(w.queue) == 0 && w.opts.InFlight == nil
		var err error
		var each map[*store.Incoming]error // set when the batch was retried event by event
		if w.life.Err() != nil {
			// Close gave up waiting: what is left is not written.
			err = store.ErrClosed
			for _, p := range batch {
				if p.in != nil && p.done == nil {
					w.dropped.Add(1)
				}
			}
		} else if len(ins) > 0 {
			start := time.Now()
			err = w.commitRetry(ins, settle)
			w.setCommitErr(err)
			if w.opts.OnCommit != nil {
				w.opts.OnCommit(len(ins), time.Since(start), err)
			}
			switch {
			case err != nil && len(ins) > 1 && !errors.Is(err, store.ErrLost) && w.life.Err() == nil:
				each = w.commitEach(ins, err, settle)
			case err != nil:
				w.failed.Add(int64(len(ins)))
				if !errors.Is(err, store.ErrLost) { // said once, when found
					w.fail(err)
				}
			}
		}
		var flushErr error
		if flush {
			if flushErr = w.life.Err(); flushErr == nil {
				// When the batch carried no event, or failed; else
				// nothing is owed by now.
				flushErr = w.settleOwed(nil)
			} else {
				flushErr = store.ErrClosed
			}
		}
		for _, p := range batch {
			if p.done != nil {
				if each != nil {
					p.done <- each[p.in]
				} else {
					p.done <- err
				}
			}
			if p.flush != nil {
				p.flush <- flushErr
			}
		}
		clear(batch)
		lastCommit = time.Now()
		if w.idle != nil && w.life.Err() == nil {
			w.idle(w.life)
		}
	}
}

// next waits for what is queued next; ok is false once the queue is
// closed and empty. Meanwhile it writes the counts owed when they are due
// or when nothing came for Linger since the last batch was answered
// (last; t is a stopped timer), and when settleNow asks.
func (w *writer) next(t *time.Timer, last time.Time) (p pending, ok bool) {
	for {
		var due <-chan time.Time
		if w.owed != nil {
			if at := w.owed(); !at.IsZero() {
				if idle := last.Add(w.opts.Linger); !last.IsZero() && idle.Before(at) {
					at = idle
				}
				if w.settleFailed && at.Before(w.retryAt) {
					at = w.retryAt
				}
				t.Reset(time.Until(at))
				due = t.C
			}
		}
		select {
		case p, ok = <-w.queue:
			stopTimer(t)
			return p, ok
		case <-due:
			w.settleOwed(nil)
		case r := <-w.settles:
			stopTimer(t)
			r.reply <- w.settleOwed(r.also)
		}
	}
}

// settleOwed writes the counts owed, if any, in a transaction of their
// own, with also's writes when set. A failure is said once until a settle
// succeeds; what is owed stays owed (and is found again at the next
// Open).
func (w *writer) settleOwed(also func(context.Context, *sql.Tx) error) error {
	if w.settle == nil {
		return nil
	}
	err := w.retry(func(ctx context.Context) error { return w.settle(ctx, also) })
	if err != nil && !w.settleFailed && !errors.Is(err, store.ErrLost) && w.life.Err() == nil {
		w.fail(err)
	}
	w.settleFailed = err != nil
	w.retryAt = time.Now().Add(time.Second)
	return err
}

type settleReq struct {
	also  func(context.Context, *sql.Tx) error
	reply chan error
}

// errStopped: the writer goroutine is gone.
var errStopped = errors.New("the writer has stopped")

// settleNow has the goroutine write the counts owed, between batches, and
// also's writes in the same transaction: no batch can commit between
// them. errStopped when the goroutine is gone.
func (w *writer) settleNow(ctx context.Context, also func(context.Context, *sql.Tx) error) error {
	reply := make(chan error, 1)
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case w.settles <- settleReq{also, reply}:
	case <-w.stopped:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	// Taken: the writer runs it, within its own deadline, and says how
	// it went; the caller's deadline would say it failed when it may yet
	// commit.
	return <-reply
}

// take adds to batch what is queued, up to MaxBatch. With wait, it
// waits for more while InFlight says more are coming, as long as they
// keep coming (each within Linger/8) and for Linger at most, unless a
// Flush or Close is among them. t is a stopped timer.
func (w *writer) take(batch *[]pending, wait bool, t *time.Timer) {
	wait = wait && (*batch)[0].flush == nil
	var deadline time.Time
	for len(*batch) < w.opts.MaxBatch {
		select {
		case p, ok := <-w.queue:
			if !ok {
				return
			}
			*batch = append(*batch, p)
			wait = wait && p.flush == nil
			continue
		default:
		}
		if !wait || (w.opts.InFlight != nil && len(*batch) >= w.opts.InFlight()) {
			return
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(w.opts.Linger)
		}
		d := min(w.opts.Linger/8, deadline.Sub(now))
		if d <= 0 {
			return
		}
		t.Reset(d)
		select {
		case p, ok := <-w.queue:
			stopTimer(t)
			if !ok {
				return
			}
			*batch = append(*batch, p)
			wait = wait && p.flush == nil
		case <-t.C:
			return // none came within the gap
		case <-w.closing:
			stopTimer(t)
			return
		}
	}
}

// stopTimer stops t and drains it for its next Reset (timers before Go
// 1.23 keep a fired value).
func stopTimer(t *time.Timer) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
}

// retryFor is how long a batch whose commit failed for a transient
// reason (a connection PostgreSQL ended, a deadlock, a serialization
// failure, SQLite busy) is tried again: five tries at least, waiting 10
// ms, then twice as long each time, up to 100 ms: on a loaded machine a
// commit takes longer, and five tries used to be over within 100 ms
// plus theirs. A database that stays down is answered for (503) after
// about a second.
const retryFor = time.Second

// commitRetry commits a batch, trying again while its error is
// transient, for retryFor.
func (w *writer) commitRetry(ins []*store.Incoming, settle bool) error {
	return w.retry(func(ctx context.Context) error { return w.commit(ctx, ins, settle) })
}

// retry runs f, a transaction, until it succeeds or fails for good: while
// its error is transient (Retryable), at least five times and for
// retryFor.
func (w *writer) retry(f func(ctx context.Context) error) error {
	start := time.Now()
	wait := 10 * time.Millisecond
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(w.life, 30*time.Second)
		err := f(ctx)
		cancel()
		if err == nil || w.opts.Retryable == nil || !w.opts.Retryable(err) || try >= 5 && time.Since(start) >= retryFor {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-w.life.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// commitEach is what the writer does when a batch of several events fails
// to commit (batchErr): each event is committed alone, so that one event
// the database refuses never costs the others theirs. An event that fails
// alone while another succeeded is store.ErrRejected (ingest answers 400:
// retrying will not help). It stops at once, giving the event and the
// rest that error, when the failure is the database's and not the
// event's: Close gave up (store.ErrClosed), the file is lost, the context
// ended, a retryable error persists; when every event fails, the database
// is the problem, and each gets its error to retry later. It returns each
// event's error (nil: committed).
func (w *writer) commitEach(ins []*store.Incoming, batchErr error, settle bool) map[*store.Incoming]error {
	out := make(map[*store.Incoming]error, len(ins))
	ok := false
	var stop error
	for _, in := range ins {
		if stop == nil && w.life.Err() != nil {
			stop = store.ErrClosed
		}
		if stop != nil {
			out[in] = stop
			continue
		}
		err := w.commitRetry([]*store.Incoming{in}, settle)
		out[in] = err
		ok = ok || err == nil
		if err != nil && w.notTheEvents(err) {
			stop = err
		}
	}
	for in, err := range out {
		if err == nil {
			continue
		}
		w.failed.Add(1)
		if ok && !w.notTheEvents(err) && !errors.Is(err, store.ErrClosed) {
			err = fmt.Errorf("%w: event %s: %v", store.ErrRejected, in.EventID, err)
			out[in] = err
			w.fail(err)
		}
	}
	if ok {
		w.setCommitErr(nil)
	}
	switch {
	case stop != nil && !errors.Is(stop, store.ErrLost) && !errors.Is(stop, store.ErrClosed):
		w.fail(stop)
	case !ok && stop == nil:
		w.fail(batchErr)
	}
	return out
}

// notTheEvents reports whether a commit's error is the database's state
// rather than something in the events: it would fail for any event.
func (w *writer) notTheEvents(err error) bool {
	return errors.Is(err, store.ErrLost) || errors.Is(err, store.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		w.opts.Retryable != nil && w.opts.Retryable(err) ||
		w.unavailable != nil && w.unavailable(err)
}
