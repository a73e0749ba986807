package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
)

// CommitFunc writes one batch in one transaction. Duplicates of (project,
// event id) already stored, or twice in the batch, are skipped.
type CommitFunc func(ctx context.Context, batch []*Incoming) error

// WriterOptions tunes a Writer. The zero value is all defaults.
type WriterOptions struct {
	// Queue is how many events may wait for the writer; beyond it Submit
	// returns ErrQueueFull and Deliver drops. Default 10,000.
	Queue int
	// MaxBatch is the most events one transaction writes. Default 500.
	MaxBatch int
	// OnError is told of failed commits (the events of a failed batch are
	// lost; Submit returns the error). Default: ignored.
	OnError func(error)
	// Retryable says whether a failed commit is worth retrying (a
	// PostgreSQL deadlock). Default: never.
	Retryable func(error) bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Idle, when set, runs on the writer goroutine after each batch's
	// submitters have their answers: the store's deferred work, which
	// must not delay them.
	Idle func()
}

type pending struct {
	in    *Incoming
	done  chan error // nil for Deliver
	flush chan struct{}
}

// Writer is the one goroutine that writes a store: a bounded queue and
// group commit. SQLite and PostgreSQL stores embed one.
type Writer struct {
	commit CommitFunc
	opts   WriterOptions
	queue  chan pending
	// project is the project Deliver records into, found on first use.
	project func(ctx context.Context) (*Project, error)

	mu     sync.RWMutex // held for reading while sending; Close takes it to close queue
	closed bool
	// closing is closed when Close starts, so that a Flush waiting for
	// room in the queue (holding mu for reading) steps aside at once.
	closing   chan struct{}
	closeOnce sync.Once
	stopped   chan struct{}
	dropped   atomic.Int64
	failed    atomic.Int64
}

// NewWriter starts the writer goroutine. project returns the project
// Deliver records into.
func NewWriter(commit CommitFunc, project func(ctx context.Context) (*Project, error), opts WriterOptions) *Writer {
	if opts.Queue <= 0 {
		opts.Queue = 10000
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 500
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Writer{commit: commit, opts: opts, project: project, queue: make(chan pending, opts.Queue), stopped: make(chan struct{}), closing: make(chan struct{})}
	go w.run()
	return w
}

// send queues p without waiting: ErrQueueFull when there is no room.
func (w *Writer) send(p pending) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- p:
		return nil
	default:
		return ErrQueueFull
	}
}

// Submit queues in and waits until it is committed.
func (w *Writer) Submit(ctx context.Context, in *Incoming) error {
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
func (w *Writer) Deliver(ev *event.Event) {
	p, err := w.project(context.Background())
	if err != nil {
		w.dropped.Add(1)
		w.fail(fmt.Errorf("errlog: store: deliver: %w", err))
		return
	}
	in, err := Prepare(p, ev, nil, w.opts.Now())
	if err != nil {
		w.dropped.Add(1)
		w.fail(err)
		return
	}
	if err := w.send(pending{in: in}); err != nil {
		w.dropped.Add(1)
	}
}

// Flush returns when everything queued before it is committed.
func (w *Writer) Flush(ctx context.Context) error {
	done := make(chan struct{})
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
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the goroutine. Closing twice is
// not an error.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() { close(w.closing) })
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dropped counts events Deliver dropped; Failed, events lost to failed
// commits.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Failed counts events lost to failed commits.
func (w *Writer) Failed() int64 { return w.failed.Load() }

func (w *Writer) fail(err error) {
	if w.opts.OnError != nil {
		w.opts.OnError(err)
	}
}

func (w *Writer) run() {
	defer close(w.stopped)
	batch := make([]pending, 0, w.opts.MaxBatch)
	ins := make([]*Incoming, 0, w.opts.MaxBatch)
	for p := range w.queue {
		batch = append(batch[:0], p)
		// Group commit: take whatever queued up while the last batch
		// was being written, without waiting for more.
	more:
		for len(batch) < w.opts.MaxBatch {
			select {
			case p, ok := <-w.queue:
				if !ok {
					break more
				}
				batch = append(batch, p)
			default:
				break more
			}
		}
		ins = ins[:0]
		for _, p := range batch {
			if p.in != nil {
				ins = append(ins, p.in)
			}
		}
		var err error
		var each map[*Incoming]error // set when the batch was retried event by event
		if len(ins) > 0 {
			err = w.commitRetry(ins)
		}
		if err != nil && len(ins) > 1 {
			each = w.commitEach(ins, err)
		} else if err != nil {
			w.failed.Add(int64(len(ins)))
			w.fail(err)
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
				close(p.flush)
			}
		}
		clear(batch)
		if w.opts.Idle != nil {
			w.opts.Idle()
		}
	}
}

// commitRetry retries a batch a few times: PostgreSQL may abort one
// transaction of two that deadlock or fail serialization.
func (w *Writer) commitRetry(ins []*Incoming) error {
	var err error
	for try := 0; try < 5; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = w.commit(ctx, ins)
		cancel()
		if err == nil || w.opts.Retryable == nil || !w.opts.Retryable(err) {
			return err
		}
		time.Sleep(time.Duration(try+1) * 10 * time.Millisecond)
	}
	return err
}

// ErrRejected: the event could not be stored, though other events could
// at the same time (a value the database refuses): the caller should
// answer 400, as retrying will not help.
var ErrRejected = errors.New("errlog: store: event refused by the database")

// commitEach is what the writer does when a batch of several events fails
// to commit (batchErr): each event is committed alone, so that one event
// the database refuses never costs the others theirs. An event that fails
// alone while another succeeded is ErrRejected; when all fail, the
// database is the problem, and each gets its own error to retry later.
// It returns each event's error (nil: committed).
func (w *Writer) commitEach(ins []*Incoming, batchErr error) map[*Incoming]error {
	out := make(map[*Incoming]error, len(ins))
	ok := false
	for _, in := range ins {
		err := w.commitRetry([]*Incoming{in})
		out[in] = err
		ok = ok || err == nil
	}
	for in, err := range out {
		if err == nil {
			continue
		}
		w.failed.Add(1)
		if ok {
			err = fmt.Errorf("%w: event %s: %v", ErrRejected, in.EventID, err)
			out[in] = err
		}
		w.fail(err)
	}
	if !ok {
		w.fail(batchErr)
	}
	return out
}
