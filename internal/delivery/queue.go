package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/internal/clock"
)

// Item is one thing to deliver.
type Item struct {
	// ID identifies the item (the tracker uses the event_id, the mail sink
	// the Message-ID). An ID acknowledged once is never sent again by the
	// same Queue. "" opts out of that check.
	ID string
	// Body is the payload, opaque to the queue. The queue keeps the slice
	// the caller gave (Enqueue must not copy on the hot path), so the caller
	// must not modify it afterwards.
	Body []byte
	// Attempt is 0 on the first try and counts earlier tries in this
	// process. The queue sets it; Send only reads it.
	Attempt int
}

// SendFunc delivers one item. It returns nil once the peer acknowledged the
// item; a plain error for a temporary failure (retried with exponential
// backoff and jitter); Permanent(err) for a failure retrying cannot fix (the
// item is dropped and reported once); RetryAfter(d, err) when the peer asked
// to wait (everything is held until then, nothing is dropped).
//
// ctx ends after Options.SendTimeout or when Close gives up; Send must
// return promptly then, or Close cannot stop the worker.
type SendFunc func(ctx context.Context, it Item) error

// Defaults of Options, also errlog's own (Options.QueueSize, the
// tracker's timeout): one place for each.
const (
	DefaultQueueSize   = 1024
	DefaultSendTimeout = 30 * time.Second
)

// Options configure a Queue. The zero value of every field but Send means
// its default.
type Options struct {
	// Name says which sink the queue belongs to ("tracker", "smtp") and
	// prefixes every reported error: "errlog: <name>: …". Default "delivery".
	Name string
	// Send delivers one item. Required.
	Send SendFunc
	// QueueSize bounds the items waiting in memory (not counting the one
	// being sent); Enqueue drops beyond it. Room for them is allocated by
	// New, so that Enqueue need not allocate. Default DefaultQueueSize.
	QueueSize int
	// SpoolDir, if set, keeps every pending item on disk (a write-ahead
	// log, written by Enqueue) until it is acknowledged, and New resends
	// what earlier processes left there.
	// Default "": memory only, and whatever is undelivered at Close is
	// lost. Queues may share it (replicas of one program): each locks
	// the directory it uses, the first SpoolDir itself, the next ones the
	// first free of SpoolDir/slot-1 … slot-16, until Close. If it cannot
	// be used (not a directory, not writable, every slot taken), New
	// reports it through OnError and the queue keeps items in memory.
	SpoolDir string
	// MaxSpoolBytes bounds the spool's size; the oldest items are evicted
	// beyond it. Default 64 MiB.
	MaxSpoolBytes int64
	// MaxSpoolItems bounds the number of spooled items; the oldest are
	// evicted beyond it. Default 10000.
	MaxSpoolItems int
	// MinBackoff and MaxBackoff bound the wait after a temporary failure,
	// which doubles with each consecutive failure. Defaults 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// SendTimeout is the deadline of each Send's context. Default
	// DefaultSendTimeout.
	SendTimeout time.Duration
	// Parallel is how many items may be sent at once while the queue is
	// overwhelmed (within a second of refusing or evicting an item, or
	// of HasRoom saying no) and the peer is healthy: each round trip then overlaps
	// the others', which matters most when the process is CPU-bound and
	// every network wake-up waits for the scheduler. Otherwise, and
	// after a temporary failure until an item is delivered, items go one
	// at a time, in order, so that backoff, timeouts and the peer's
	// holds apply to one item. Items sent at once may arrive out of
	// order; without a spool, up to Parallel items are held in memory
	// besides QueueSize. Default 1: always one at a time.
	Parallel int
	// OnError receives every loss and every problem the caller cannot see
	// otherwise: items dropped by Enqueue, permanent failures, evictions,
	// items lost at Close, spool I/O errors. Errors start with
	// "errlog: <name>: " and wrap their cause (ErrQueueFull, ErrClosed,
	// ErrSpoolFull, the SendFunc's error). It is called from the worker
	// goroutine (and from Enqueue after Close, and from New when the
	// spool cannot be used or is damaged), never with a lock held; it
	// must not call Flush or Close. Default: errors are ignored (they are
	// still counted in Stats).
	OnError func(error)
	// Now is the clock that stamps spool file names. Default time.Now.
	// Clock, when set, replaces it.
	Now func() time.Time
	// Clock is the time of day and the timers of backoff and RetryAfter
	// waits (errlog passes its one clock). Default: Now, with real timers.
	// Send deadlines and Close's grace stay in real time: they bound
	// what the network may take.
	Clock clock.Clock
}

// Stats are counters since New.
type Stats struct {
	Enqueued   uint64 // accepted by Enqueue
	Recovered  uint64 // found in the spool by New, left by an earlier process
	Sent       uint64 // acknowledged by the peer
	Retried    uint64 // temporary failures and RetryAfter waits
	Dropped    uint64 // refused by Enqueue, lost at Close, unreadable spool files
	Failed     uint64 // permanent failures
	Evicted    uint64 // removed from a full spool
	Spooled    uint64 // spool files written
	Duplicates uint64 // skipped because their ID was already acknowledged
	Pending    int    // waiting, in memory or spooled (after Close: left in the spool)
}

// QueueSize is n, or DefaultQueueSize when n is not positive: the one
// place the default is set, for a queue and for errlog's Handler's own.
func QueueSize(n int) int {
	if n <= 0 {
		return DefaultQueueSize
	}
	return n
}

// SendTimeout is d, or DefaultSendTimeout when d is not positive: the
// one place the default is set, for a queue and for tracker.Test.
func SendTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultSendTimeout
	}
	return d
}

// Lost is every item lost: Dropped, Failed and Evicted.
func (s Stats) Lost() uint64 { return s.Dropped + s.Failed + s.Evicted }

// entry is an accepted item and its position in the order of Enqueue calls;
// Flush waits for positions, not items.
type entry struct {
	it       Item
	seq      uint64
	ref      walRef // where the write-ahead log holds it
	volatile bool   // the write-ahead log could not take it
}

// pending is an item the worker has taken over.
type pending struct {
	id      string
	body    []byte
	loaded  bool // id and body are in memory; false for files read lazily
	seq     uint64
	attempt int
	file    string // legacy one-item spool file; ""
	ref     walRef // its write-ahead log record; ref.seg nil if none
	size    int64
	// timeouts counts the attempts that ended in a timeout; sentMark is
	// the Sent count at the first of them: an item that keeps timing out
	// while others get through is the problem, not the peer.
	timeouts int
	sentMark uint64
	moved    bool // moved behind the others after timeouts
	memOnly  bool // with a spool: the log could not take it
}

// maxTimeouts is how many timed-out attempts move an item behind the
// others (when there are others), so that one item the peer cannot take
// in time (a huge mail on a slow link) never blocks the rest; an item that
// times out that often again while others are delivered is given up.
const maxTimeouts = 3

// Queue delivers items asynchronously, in order, through one worker
// goroutine. Create it with New; stop it with Close.
type Queue struct {
	// Fixed at New.
	prefix      string
	send        SendFunc
	dir         string   // the spool directory this Queue holds: SpoolDir or a slot under it
	lock        *dirLock // dir's lock, released when the worker returns
	wal         *wal     // the write-ahead log in dir; nil without a spool
	maxBytes    int64
	maxItems    int
	queueSize   int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	sendTimeout time.Duration
	onError     func(error)
	clock       clock.Clock
	errClosed   error // preallocated: Enqueue after Close must not allocate either
	closeGrace  time.Duration
	parallel    int

	ctx    context.Context // the worker's; cancelled by Close
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1: "there is news", coalesced
	done   chan struct{} // closed when the worker has returned

	mu             sync.Mutex
	ring           []entry // items not yet taken by the worker
	overflow       []entry // with a spool, past a full ring: on disk only, bodies not kept
	head, n        int
	seq            uint64 // position of the last accepted item
	closed         bool
	stopped        bool
	dropsPending   uint64        // Enqueue drops the worker has not reported yet
	lastDropReport time.Time     // the worker's last report of drops (real time)
	safe           uint64        // every item at or before this position is settled, in Flush's sense
	pendLen        int           // len(pend), published for Stats
	flushCh        chan struct{} // closed at the next progress, if a Flush waits
	flushers       int           // Flush calls waiting
	flushUntil     time.Time     // the latest deadline among them; zero: none has one
	walFailed      uint64        // Enqueue's write-ahead failures the worker has not reported
	walErr         error         // the first of them
	published      int           // items not yet settled, in memory or spooled, as of the last publish
	leftSpooled    int           // after the worker stopped: items left in the spool
	lost           int           // after the worker stopped: items lost
	stampMu        sync.Mutex    // nextStamp: Enqueue starts segments too

	enqueued, sent, retried, dropped, failed, evicted, spooled, duplicates atomic.Uint64
	recovered                                                              uint64 // set by New
	// overwhelmed is when (Unix nanoseconds, real time) the queue last
	// refused or evicted an item or said it had no room: what lets
	// sendBatch send Parallel items at once.
	overwhelmed atomic.Int64

	// Owned by the worker.
	pend       []pending
	scratch    []entry
	batchErrs  []error // sendBatch's answers
	spoolBytes int64
	volatile   int // pending items the spool could not take
	// ackFailed counts the acknowledgements (or deletions) the spool
	// could not write since the last it could: the first is reported,
	// the rest when one is written again.
	ackFailed int
	deferred  []pending // items moved behind the others after timeouts; sent when pend is empty
	failures  int       // consecutive temporary failures, for the backoff
	failing   bool
	holdUntil time.Time
	lastStamp int64
	acked     idSet

	// movedTold: a move behind the others was reported since the last
	// delivery. A peer that never answers moves every item in turn:
	// one report, not one per item.
	movedTold bool
}

// Done is closed when the worker goroutine, the only one the Queue
// starts, has returned: after Close, or after Close gave up on a Send that
// ignores its context and that Send returned. Tests wait on it rather
// than count the process's goroutines.
func (q *Queue) Done() <-chan struct{} { return q.done }

// New checks o, opens the spool if there is one (loading what earlier
// processes left there, to be delivered first, oldest first), and starts
// the worker. It fails only for bad options: a spool directory that
// cannot be used is reported through OnError, and the queue keeps items
// in memory.
func New(o Options) (*Queue, error) {
	name := o.Name
	if name == "" {
		name = "delivery"
	}
	q := &Queue{
		prefix:      "errlog: " + name + ": ",
		send:        o.Send,
		dir:         o.SpoolDir,
		maxBytes:    o.MaxSpoolBytes,
		maxItems:    o.MaxSpoolItems,
		queueSize:   o.QueueSize,
		minBackoff:  o.MinBackoff,
		maxBackoff:  o.MaxBackoff,
		sendTimeout: o.SendTimeout,
		parallel:    max(o.Parallel, 1),
		onError:     o.OnError,
		clock:       o.Clock,
		closeGrace:  100 * time.Millisecond,
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	switch {
	case o.Send == nil:
		return nil, fmt.Errorf("%sdelivery: Options.Send is nil", q.prefix)
	case o.QueueSize < 0, o.Parallel < 0, o.MaxSpoolBytes < 0, o.MaxSpoolItems < 0, o.MinBackoff < 0, o.MaxBackoff < 0, o.SendTimeout < 0:
		return nil, fmt.Errorf("%sdelivery: negative size or duration in Options", q.prefix)
	}
	q.queueSize = QueueSize(q.queueSize)
	if q.maxBytes == 0 {
		q.maxBytes = 64 << 20
	}
	if q.maxItems == 0 {
		q.maxItems = 10000
	}
	if q.minBackoff == 0 {
		q.minBackoff = time.Second
	}
	if q.maxBackoff == 0 {
		q.maxBackoff = 5 * time.Minute
	}
	if q.minBackoff > q.maxBackoff {
		return nil, fmt.Errorf("%sdelivery: MinBackoff %v exceeds MaxBackoff %v", q.prefix, q.minBackoff, q.maxBackoff)
	}
	q.sendTimeout = SendTimeout(q.sendTimeout)
	if q.clock == nil {
		q.clock = clock.WithNow(o.Now)
	}
	q.errClosed = fmt.Errorf("%sitem dropped: %w", q.prefix, ErrClosed)
	q.ring = make([]entry, q.queueSize)
	// Remember enough acknowledged IDs to cover everything that can be in
	// flight at once; an unbounded set would grow for the life of the
	// process.
	q.acked = newIDSet(q.maxItems + q.queueSize)

	if q.dir != "" {
		if err := q.openSpool(); err != nil {
			// The disk is a fallback, never a gate in front of a peer
			// that answers: the queue goes on in memory.
			q.dir = ""
			q.report(fmt.Errorf("%sspool: %w; keeping items in memory only, where what is undelivered at exit is lost", q.prefix, err))
		}
	}

	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.run()
	return q, nil
}

// openSpool takes q.dir (or a free slot under it) and reads what earlier
// processes left there. On error q holds nothing of it.
func (q *Queue) openSpool() error {
	sp, err := openSpool(q.dir)
	if err != nil {
		return err
	}
	w, items, bad, err := openWAL(sp.dir, q.nextStamp)
	if err != nil {
		sp.lock.release()
		return err
	}
	q.dir, q.lock, q.wal = sp.dir, sp.lock, w
	for _, f := range sp.files {
		q.seq++
		q.pend = append(q.pend, pending{seq: q.seq, file: f.name, size: f.size})
		q.spoolBytes += f.size
		// New names must sort after the old ones even if the clock
		// went back since the last process.
		q.lastStamp = max(q.lastStamp, f.stamp)
	}
	for _, sg := range w.segs {
		// New segments must sort after these even if the clock went
		// back since the last process.
		if st, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(sg.name, walPrefix), walExt), 10, 64); err == nil {
			q.lastStamp = max(q.lastStamp, st)
		}
	}
	for _, it := range items {
		q.seq++
		q.pend = append(q.pend, pending{id: it.id, seq: q.seq, ref: it.ref, size: it.size})
		q.spoolBytes += it.size
	}
	if bad > 0 {
		q.report(fmt.Errorf("%sspool: %d write-ahead log segments end in a damaged record; the items after it are lost: %w", q.prefix, bad, errCorrupt))
	}
	q.pendLen = len(q.pend)
	q.published = len(q.pend)
	q.recovered = uint64(len(q.pend))
	return nil
}

// Enqueue hands it to the worker without waiting on the network and
// without allocating. With a spool it first appends it to the write-ahead
// log (one write(2), no fsync; past QueueSize the item then waits on disk
// only); without one it does no I/O. errlog calls it from its delivery
// goroutine, never from the application's logging call. It returns false
// if the item was dropped because QueueSize items are already waiting or
// the queue is closed; the drop is counted and reported through OnError
// (by the worker, so that the caller never runs OnError while the worker
// lives).
func (q *Queue) Enqueue(it Item) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		q.dropped.Add(1)
		q.report(q.errClosed)
		return false
	}
	if (q.n == len(q.ring) || len(q.overflow) > 0) && q.wal != nil && len(q.overflow) < q.maxItems {
		// The ring is full but the disk is not: write the item ahead
		// and keep only where it is, so that a burst larger than
		// QueueSize costs disk, not memory, and loses nothing.
		if ref, err := q.wal.append(it.ID, it.Body); err == nil {
			q.seq++
			q.overflow = append(q.overflow, entry{it: Item{ID: it.ID}, seq: q.seq, ref: ref})
			q.mu.Unlock()
			q.enqueued.Add(1)
			q.notify()
			return true
		}
	}
	if q.n == len(q.ring) || len(q.overflow) > 0 {
		q.dropsPending++
		q.mu.Unlock()
		q.dropped.Add(1)
		q.markOverwhelmed()
		q.notify()
		return false
	}
	q.seq++
	it.Attempt = 0
	e := entry{it: it, seq: q.seq}
	if q.wal != nil {
		// Write ahead, before the item is anyone's but ours: from here a
		// crash of the process loses nothing (no fsync: the kernel has
		// it). One write(2), no allocation.
		var err error
		if e.ref, err = q.wal.append(it.ID, it.Body); err != nil {
			e.volatile = true
			if q.walFailed == 0 {
				q.walErr = err
			}
			q.walFailed++
		}
	}
	q.ring[(q.head+q.n)%len(q.ring)] = e
	q.n++
	q.mu.Unlock()
	q.enqueued.Add(1)
	q.notify()
	return true
}

// HasRoom reports whether Enqueue would accept an item now, so that a
// caller can skip building an item that would be dropped. Another
// goroutine's Enqueue may take the room in between: Enqueue still
// decides.
func (q *Queue) HasRoom() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if q.wal != nil && len(q.overflow) < q.maxItems {
		return true
	}
	if q.n < len(q.ring) && len(q.overflow) == 0 {
		return true
	}
	q.markOverwhelmed()
	return false
}

// Refuse counts and reports an item the caller did not even build because
// HasRoom said there was no room, as Enqueue counts the items it drops.
func (q *Queue) Refuse() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		q.dropped.Add(1)
		q.report(q.errClosed)
		return
	}
	q.dropsPending++
	q.mu.Unlock()
	q.dropped.Add(1)
	q.markOverwhelmed()
	q.notify()
}

func (q *Queue) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Flush returns nil once everything enqueued before the call is settled:
// acknowledged by the peer or failed permanently. While it waits, the
// worker keeps retrying, with its backoff capped to a quarter of the time
// left (at least 10ms; MinBackoff when ctx has no deadline), so that a peer that comes back before the deadline gets
// everything. When ctx is done first, Flush returns an error that says how
// many items are still undelivered and where they are (in the spool, or
// in memory only) and wraps ctx's error. After Close, Flush returns an
// error wrapping ErrClosed if anything was left.
func (q *Queue) Flush(ctx context.Context) error {
	q.mu.Lock()
	target := q.seq
	registered := false
	defer func() {
		if registered {
			q.mu.Lock()
			q.flushers--
			if q.flushers == 0 {
				q.flushUntil = time.Time{}
			}
			q.mu.Unlock()
		}
	}()
	for {
		if q.stopped {
			err := q.leftErrorLocked("flush")
			q.mu.Unlock()
			return err
		}
		if q.safe >= target && q.dropsPending == 0 && q.walFailed == 0 {
			q.mu.Unlock()
			return nil
		}
		if !registered {
			registered = true
			q.flushers++
			if dl, ok := ctx.Deadline(); ok && dl.After(q.flushUntil) {
				q.flushUntil = dl
			}
			q.notify() // so that a worker waiting out a backoff recomputes it
		}
		if q.flushCh == nil {
			q.flushCh = make(chan struct{})
		}
		ch := q.flushCh
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			q.mu.Lock()
			// Not q.published: the worker updates it, and it may be in
			// a send that outlasts the Flush.
			n, where := q.n+len(q.overflow)+q.pendLen, "in memory only"
			if q.dir != "" {
				where = "kept in the spool"
			}
			q.mu.Unlock()
			return fmt.Errorf("%sflush: %d items not delivered yet (%s): %w", q.prefix, n, where, ctx.Err())
		}
		q.mu.Lock()
	}
}

// leftErrorLocked is the error of a Flush or Close after the worker
// stopped: nil if nothing was left.
func (q *Queue) leftErrorLocked(op string) error {
	switch {
	case q.lost > 0 && q.leftSpooled > 0:
		return fmt.Errorf("%s%s: %d items left in the spool for the next start, %d lost: %w", q.prefix, op, q.leftSpooled, q.lost, ErrClosed)
	case q.lost > 0:
		return fmt.Errorf("%s%s: %d undelivered items lost: %w", q.prefix, op, q.lost, ErrClosed)
	case q.leftSpooled > 0:
		return fmt.Errorf("%s%s: %d undelivered items left in the spool for the next start: %w", q.prefix, op, q.leftSpooled, ErrClosed)
	}
	return nil
}

// Close delivers what it can within ctx (as Flush does), then stops the
// worker, cancelling a Send in progress. Enqueue returns false from the
// moment Close is called. Items still undelivered stay in the spool for
// the next process, or, without a spool, are counted as dropped and
// reported through OnError. Close returns nil if everything was
// delivered, else an error that says how many items were left in the
// spool and how many were lost. Close is idempotent; later calls wait for
// the first to finish.
//
// Close returns within ctx plus a short grace (100ms): if a Send ignores
// its cancelled context longer, Close returns an error rather than hang
// the application's shutdown; the worker then exits as soon as Send
// returns.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		select {
		case <-q.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%sclose: %w", q.prefix, ctx.Err())
		}
	}
	q.closed = true
	q.mu.Unlock()

	flushErr := q.Flush(ctx)
	q.cancel()
	select {
	case <-q.done:
	default:
		t := time.NewTimer(q.closeGrace)
		defer t.Stop()
		select {
		case <-q.done:
		case <-t.C:
			return fmt.Errorf("%sclose: Send did not return within %v of its context being cancelled; the worker stops when it does: %w",
				q.prefix, q.closeGrace, context.Canceled)
		}
	}
	q.mu.Lock()
	err := q.leftErrorLocked("close")
	q.mu.Unlock()
	if err != nil && flushErr != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return err
}

// Stats returns the counters. Safe to call at any time, from any goroutine.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	pend := q.n + len(q.overflow) + q.pendLen
	q.mu.Unlock()
	return Stats{
		Enqueued:   q.enqueued.Load(),
		Recovered:  q.recovered,
		Sent:       q.sent.Load(),
		Retried:    q.retried.Load(),
		Dropped:    q.dropped.Load(),
		Failed:     q.failed.Load(),
		Evicted:    q.evicted.Load(),
		Spooled:    q.spooled.Load(),
		Duplicates: q.duplicates.Load(),
		Pending:    pend,
	}
}

func (q *Queue) report(err error) {
	if q.onError != nil {
		q.onError(err)
	}
}

// run is the worker: take new items (spooling them), publish progress for
// Flush, and send the head item when no backoff holds it.
func (q *Queue) run() {
	defer close(q.done)
	if q.lock != nil {
		// Only once the worker is done with the directory, so that a
		// Send that ignored Close keeps the next Queue out of it.
		defer q.lock.release()
	}
	if q.dir != "" {
		// The limits may have shrunk since the process that left the
		// files; do not wait for new items to apply them.
		q.enforceBounds()
	}
	for {
		q.reportDrops()
		q.take()
		q.publish()
		if q.ctx.Err() != nil {
			q.shutdown()
			return
		}
		if len(q.pend)+len(q.deferred) == 0 {
			q.waitUntil(time.Time{})
			continue
		}
		if d := q.holdFor(); d > 0 {
			q.waitUntil(q.holdUntil)
			continue
		}
		if !q.sendBatch() {
			q.sendHead()
		}
	}
}

// holdFor is how long the head item must still wait. While a Flush waits,
// the backoff is capped to a quarter of the time its deadline leaves, so
// that retries continue until the deadline instead of one long backoff
// outlasting it. (A peer's own hold, such as the tracker's rate limit,
// is kept by its SendFunc, which refuses to send before it ends.)
func (q *Queue) holdFor() time.Duration {
	d := clock.Until(q.clock, q.holdUntil)
	if d <= 0 {
		return 0
	}
	q.mu.Lock()
	flushing, until := q.flushers > 0, q.flushUntil
	q.mu.Unlock()
	if !flushing {
		return d
	}
	limit := q.minBackoff
	if !until.IsZero() {
		limit = max(time.Until(until)/4, 10*time.Millisecond)
	}
	if d > limit {
		d = limit
		q.holdUntil = q.clock.Now().Add(d)
	}
	return d
}

// waitUntil sleeps until there is news (an Enqueue, a drop to report,
// Close) or, if until is set, until the clock reaches it (a deadline,
// not a duration: the clock may move between computing one and arming
// its timer).
func (q *Queue) waitUntil(until time.Time) {
	var timeout <-chan time.Time
	if !until.IsZero() {
		t := clock.NewTimerAt(q.clock, until)
		defer t.Stop()
		timeout = t.C()
	}
	select {
	case <-q.wake:
	case <-timeout:
	case <-q.ctx.Done():
	}
}

// dropReportEvery is how often, at most, the worker reports drops while
// no Flush or Close waits for the report.
const dropReportEvery = time.Second

func (q *Queue) reportDrops() {
	q.mu.Lock()
	n := q.dropsPending
	walFailed, walErr := q.walFailed, q.walErr
	flushing := q.flushers > 0 || q.closed
	q.mu.Unlock()
	if n+walFailed == 0 {
		return
	}
	// In a storm every Enqueue drops and wakes the worker: one report a
	// second (or at once for a Flush or Close waiting on it) says the
	// same, and leaves the worker's time to sending.
	if now := time.Now(); !flushing && now.Sub(q.lastDropReport) < dropReportEvery {
		return
	} else {
		q.lastDropReport = now
	}
	if walFailed > 0 {
		q.report(fmt.Errorf("%sspool: %d items could not be written ahead and are kept in memory only: %w", q.prefix, walFailed, walErr))
		q.mu.Lock()
		q.walFailed -= walFailed
		q.mu.Unlock()
	}
	if n == 0 {
		return
	}
	q.report(fmt.Errorf("%s%d items dropped (QueueSize %d): %w", q.prefix, n, q.queueSize, ErrQueueFull))
	// Only now: a Flush that sees no drops pending knows they were reported.
	q.mu.Lock()
	q.dropsPending -= n
	q.mu.Unlock()
}

// take moves items from the ring to pend. With a spool they are already
// written ahead (by Enqueue), so it takes them all: memory stays bounded
// because the bodies of items beyond QueueSize are released and read back
// from the log when their turn comes. Without a spool it takes one item at
// a time (Parallel at once), so that QueueSize bounds memory.
func (q *Queue) take() {
	q.mu.Lock()
	n := q.n
	if q.dir == "" {
		n = min(n, max(q.parallel-len(q.pend), 0))
	}
	q.scratch = q.scratch[:0]
	for i := 0; i < n; i++ {
		q.scratch = append(q.scratch, q.ring[q.head])
		q.ring[q.head] = entry{} // let the body be collected once delivered
		q.head = (q.head + 1) % len(q.ring)
	}
	q.n -= n
	if q.dir != "" && len(q.overflow) > 0 {
		q.scratch = append(q.scratch, q.overflow...)
		n += len(q.overflow)
		clear(q.overflow)
		q.overflow = q.overflow[:0]
	}
	q.pendLen += n
	q.mu.Unlock()
	if n == 0 {
		return
	}

	defer clear(q.scratch)
	var written uint64
	for _, e := range q.scratch {
		p := pending{id: e.it.ID, body: e.it.Body, loaded: e.it.Body != nil || e.ref.seg == nil, seq: e.seq, ref: e.ref}
		if p.id != "" && q.acked.has(p.id) {
			q.ack(&p)
			q.duplicates.Add(1) // do not even send it
			continue
		}
		if q.dir == "" {
			q.pend = append(q.pend, p)
			continue
		}
		if e.volatile {
			p.size = int64(len(p.id) + len(p.body))
			p.memOnly = true
			q.volatile++
		} else {
			written++
			p.size = int64(p.ref.n)
			if len(q.pend) >= q.queueSize {
				// The log holds it; memory stays bounded by QueueSize
				// however long the peer is down.
				p.body, p.loaded = nil, false
			}
		}
		q.spoolBytes += p.size
		q.pend = append(q.pend, p)
	}
	if written > 0 {
		q.spooled.Add(written)
	}
	q.enforceBounds()
}

// nextStamp returns a spool stamp later than any before it, so that file
// names sort in Enqueue order even when the clock steps back.
func (q *Queue) nextStamp() int64 {
	q.stampMu.Lock()
	defer q.stampMu.Unlock()
	s := q.clock.Now().UnixNano()
	if s <= q.lastStamp {
		s = q.lastStamp + 1
	}
	q.lastStamp = s
	return s
}

// enforceBounds evicts the oldest items while the spool is over
// MaxSpoolItems or MaxSpoolBytes: during a long outage the newest errors are
// the ones worth keeping.
func (q *Queue) enforceBounds() {
	var n int
	for k := len(q.pend) + len(q.deferred); k > 0 && (k > q.maxItems || q.spoolBytes > q.maxBytes); k-- {
		q.ack(q.next())
		q.popHead()
		n++
	}
	if n > 0 {
		q.markOverwhelmed()
		q.evicted.Add(uint64(n))
		q.report(fmt.Errorf("%sspool: evicted the %d oldest items (limits %d items, %d bytes): %w",
			q.prefix, n, q.maxItems, q.maxBytes, ErrSpoolFull))
	}
}

func (q *Queue) popHead() {
	p := q.takeHead()
	q.spoolBytes -= p.size
	if p.memOnly {
		q.volatile--
	}
}

// next is the item to send next: the oldest of pend, or, when pend is
// empty, the oldest of the items moved behind the others.
func (q *Queue) next() *pending {
	if len(q.pend) > 0 {
		return &q.pend[0]
	}
	return &q.deferred[0]
}

// takeHead removes next() and returns it.
func (q *Queue) takeHead() pending {
	list := &q.pend
	if len(q.pend) == 0 {
		list = &q.deferred
	}
	p := (*list)[0]
	(*list)[0] = pending{}
	*list = (*list)[1:]
	return p
}

// ack settles p on disk: an acknowledgement record in the log, or the
// deletion of a legacy spool file.
func (q *Queue) ack(p *pending) {
	var err error
	switch {
	case p.ref.seg != nil:
		err = q.wal.ack(p.ref)
		p.ref = walRef{}
	case p.file != "":
		err = os.Remove(filepath.Join(q.dir, p.file))
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		p.file = ""
	default:
		return
	}
	// A full disk fails every one: one report, not one per item.
	switch {
	case err != nil:
		if q.ackFailed == 0 {
			q.report(fmt.Errorf("%sspool: %w (the items whose delivery cannot be recorded may be sent again after a restart; said once until one is recorded)", q.prefix, err))
		}
		q.ackFailed++
	case q.ackFailed > 1:
		q.report(fmt.Errorf("%sspool: %d deliveries in all could not be recorded before this one (those items may be sent again after a restart)", q.prefix, q.ackFailed))
		q.ackFailed = 0
	default:
		q.ackFailed = 0
	}
}

// publish tells Flush and Stats how far the worker got: every item up to
// safe is settled (delivered or failed for good).
func (q *Queue) publish() {
	var minSeq uint64
	if len(q.pend) > 0 {
		minSeq = q.pend[0].seq
	}
	for i := range q.deferred {
		if minSeq == 0 || q.deferred[i].seq < minSeq {
			minSeq = q.deferred[i].seq
		}
	}
	q.mu.Lock()
	safe := q.seq
	if q.n > 0 {
		safe = q.ring[q.head].seq - 1
	} else if len(q.overflow) > 0 {
		safe = q.overflow[0].seq - 1
	}
	if minSeq > 0 {
		safe = min(safe, minSeq-1)
	}
	q.safe = safe
	q.pendLen = len(q.pend) + len(q.deferred)
	q.published = q.n + len(q.overflow) + q.pendLen
	if q.flushCh != nil {
		close(q.flushCh)
		q.flushCh = nil
	}
	q.mu.Unlock()
}

// sendHead makes one delivery attempt for the oldest pending item.
func (q *Queue) sendHead() {
	p := q.next()
	if !p.loaded {
		var id string
		var body []byte
		var err error
		if p.ref.seg != nil {
			id, body, err = q.wal.read(p.ref)
		} else {
			id, body, err = readSpoolFile(filepath.Join(q.dir, p.file))
		}
		if err != nil {
			q.ack(p)
			q.report(fmt.Errorf("%sspool: dropping an unreadable item: %w", q.prefix, err))
			q.popHead()
			q.dropped.Add(1)
			return
		}
		p.id, p.body, p.loaded = id, body, true
	}
	if p.id != "" && q.acked.has(p.id) {
		q.ack(p)
		q.popHead()
		q.duplicates.Add(1)
		return
	}

	err := q.call(Item{ID: p.id, Body: p.body, Attempt: p.attempt})
	if err != nil && q.ctx.Err() != nil {
		return // Close cancelled it: the item stays for the spool or the lost count
	}
	switch {
	case err == nil:
		// Acknowledge on disk first, then remember the ID: a crash in
		// between resends (at least once), never the reverse.
		q.ack(p)
		q.acked.add(p.id)
		q.popHead()
		q.sent.Add(1)
		q.failures, q.failing, q.holdUntil = 0, false, time.Time{}
		q.movedTold = false
	case IsPermanent(err):
		q.ack(p)
		if reportDrop(err) {
			q.report(fmt.Errorf("%sdropping item %s after a permanent failure: %w", q.prefix, p.id, err))
		}
		q.popHead()
		q.failed.Add(1)
		// The peer answered, so it is up: no reason to slow the rest down.
		q.failures, q.failing, q.holdUntil = 0, false, time.Time{}
	default:
		p.attempt++
		q.failures++
		q.failing = true
		q.retried.Add(1)
		d, ok := RetryAfterDelay(err)
		if !ok || d <= 0 {
			d = q.backoff()
		}
		q.holdUntil = q.clock.Now().Add(d)
		if isTimeout(err) {
			q.timedOut(err)
		}
	}
}

// timedOut handles the head item's timed-out attempt: after maxTimeouts
// of them it goes behind the others, so that the rest keep flowing; if it
// then times out maxTimeouts times more while other items get through, the
// peer is up and this item is what it cannot take: it is given up,
// reported.
func (q *Queue) timedOut(err error) {
	p := q.next()
	if p.timeouts == 0 {
		p.sentMark = q.sent.Load()
	}
	p.timeouts++
	if p.timeouts < maxTimeouts {
		return
	}
	if p.moved {
		if p.timeouts >= 2*maxTimeouts && q.sent.Load() > p.sentMark {
			q.ack(p)
			q.report(fmt.Errorf("%sgiving up item %s after %d attempts that timed out while other items were delivered: %w",
				q.prefix, p.id, p.timeouts, err))
			q.popHead()
			q.failed.Add(1)
			q.failures, q.holdUntil = 0, time.Time{}
		}
		return
	}
	q.mu.Lock()
	waiting := q.n + len(q.overflow)
	q.mu.Unlock()
	others := len(q.pend) - 1 + len(q.deferred) + waiting
	if others == 0 || len(q.pend) == 0 {
		return
	}
	p.moved = true
	p.sentMark = q.sent.Load()
	if !q.movedTold {
		q.movedTold = true
		q.report(fmt.Errorf("%sitem %s timed out %d times; sending the %d items behind it first: %w",
			q.prefix, p.id, p.timeouts, others, err))
	}
	q.deferred = append(q.deferred, q.takeHead())
	// The next item is not the one that timed out: try it at once.
	q.failures, q.holdUntil = 0, time.Time{}
}

// isTimeout reports whether err is a timeout (the Send's deadline, a
// connection's deadline) rather than a refusal.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// call runs Send with its deadline. A panicking Send must not take the
// application down with its logger, and retrying it would panic again, so
// a panic is a permanent failure.
func (q *Queue) call(it Item) (err error) {
	ctx, cancel := context.WithTimeout(q.ctx, q.sendTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("send panicked: %v", r))
		}
	}()
	return q.send(ctx, it)
}

// backoff doubles from MinBackoff with each consecutive failure up to
// MaxBackoff, with "equal jitter" (half fixed, half random) so that many
// processes recovering from one outage do not retry in lockstep, while the
// delay never falls below half its nominal value.
func (q *Queue) backoff() time.Duration {
	d := q.minBackoff
	for i := 1; i < q.failures && d < q.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.maxBackoff)
	half := d / 2
	return half + time.Duration(rand.Int63n(int64(d-half)+1))
}

// shutdown runs on the worker's way out, after Close cancelled it: what
// is still pending stays in the spool (it is already written ahead) for
// the next process, and what only memory held is counted and reported
// lost. The log is fsynced once, however many items it holds.
func (q *Queue) shutdown() {
	var lost, left int
	if q.dir != "" {
		q.take()
		q.pend = append(q.pend, q.deferred...)
		q.deferred = nil
		if q.wal != nil {
			// A log file removed while in use (its directory deleted)
			// leaves nothing to the next process: its items are lost,
			// not left in the spool.
			gone := q.wal.checkRemoved()
			for i := range q.pend {
				if p := &q.pend[i]; !p.memOnly && p.ref.seg != nil && gone(p.ref.seg) {
					p.memOnly = true
					q.volatile++
				}
			}
		}
		lost = q.volatile
		left = len(q.pend) - lost
		if lost > 0 {
			kept := q.pend[:0]
			for _, p := range q.pend {
				if !p.memOnly {
					kept = append(kept, p)
				}
			}
			clear(q.pend[len(kept):])
			q.pend = kept
			q.volatile = 0
		}
		if q.wal != nil {
			q.wal.sync()
			q.wal.close()
		}
	} else {
		q.mu.Lock()
		lost = q.n + len(q.pend) + len(q.deferred)
		q.deferred = nil
		clear(q.ring)
		q.n = 0
		q.mu.Unlock()
		q.pend = nil
	}
	q.reportDrops()

	q.mu.Lock()
	q.stopped = true
	q.safe = q.seq
	q.lost, q.leftSpooled = lost, left
	q.pendLen = len(q.pend)
	q.published = len(q.pend)
	if q.flushCh != nil {
		close(q.flushCh)
		q.flushCh = nil
	}
	q.mu.Unlock()

	if lost > 0 {
		q.dropped.Add(uint64(lost))
		q.report(fmt.Errorf("%s%d undelivered items lost: %w", q.prefix, lost, ErrClosed))
	}
}

// idSet remembers the last n acknowledged IDs: enough to catch an item
// re-enqueued or re-read from the spool after its acknowledgement, without
// growing for the life of the process.
type idSet struct {
	m    map[string]struct{}
	ring []string
	next int
}

func newIDSet(n int) idSet {
	return idSet{m: make(map[string]struct{}), ring: make([]string, 0, n)}
}

func (s *idSet) has(id string) bool {
	_, ok := s.m[id]
	return ok
}

func (s *idSet) add(id string) {
	if id == "" || s.has(id) {
		return
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.m[id] = struct{}{}
}
