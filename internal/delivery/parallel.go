package delivery

import (
	"fmt"
	"sync"
	"time"
)

// overwhelmedFor is how long after a refusal the queue keeps sending
// Parallel items at once.
const overwhelmedFor = time.Second

func (q *Queue) markOverwhelmed() {
	if q.parallel > 1 {
		q.overwhelmed.Store(time.Now().UnixNano())
	}
}

// sendBatch sends the first items of pend at once, up to Parallel, and
// settles each by its own answer. It applies only while the queue is
// overwhelmed, the peer is healthy (no failure since the last delivery)
// and at least two items are ready in memory; otherwise it returns false
// and sendHead sends the head item alone, in order, with the backoff and
// timeout rules. During a storm, when the application's goroutines keep
// both cores busy, every network wake-up waits for the scheduler (Go's
// network poller is then polled every 10ms or so): one round trip at a
// time delivers a few dozen items a second, however cheap each is.
func (q *Queue) sendBatch() bool {
	if q.parallel < 2 || q.failures > 0 || len(q.deferred) > 0 || len(q.pend) < 2 ||
		time.Since(time.Unix(0, q.overwhelmed.Load())) > overwhelmedFor {
		return false
	}
	k := 0
	for k < len(q.pend) && k < q.parallel {
		p := &q.pend[k]
		if !p.loaded || p.id != "" && (q.acked.has(p.id) || q.sameIDBefore(k)) {
			break
		}
		k++
	}
	if k < 2 {
		return false
	}
	if cap(q.batchErrs) < k {
		q.batchErrs = make([]error, k)
	}
	errs := q.batchErrs[:k]
	var wg sync.WaitGroup
	for i := 1; i < k; i++ {
		p := &q.pend[i]
		it := Item{ID: p.id, Body: p.body, Attempt: p.attempt}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = q.call(it)
		}(i)
	}
	p := &q.pend[0]
	errs[0] = q.call(Item{ID: p.id, Body: p.body, Attempt: p.attempt})
	wg.Wait()

	// Settle each item; those to retry keep their order at the front.
	var retry error
	settled := 0
	w := k
	for i := k - 1; i >= 0; i-- {
		p := &q.pend[i]
		err := errs[i]
		errs[i] = nil
		switch {
		case err == nil:
			q.ack(p)
			q.acked.add(p.id)
			q.sent.Add(1)
			q.movedTold = false
		case q.ctx.Err() != nil:
			// Close cancelled it: the item stays for the spool or the
			// lost count.
			w--
			q.pend[w] = *p
			continue
		case IsPermanent(err):
			q.ack(p)
			if reportDrop(err) {
				q.report(fmt.Errorf("%sdropping item %s after a permanent failure: %w", q.prefix, p.id, err))
			}
			q.failed.Add(1)
		default:
			p.attempt++
			q.retried.Add(1)
			retry = err // the earliest item's, in the end
			w--
			q.pend[w] = *p
			continue
		}
		settled++
		q.spoolBytes -= p.size
		if p.memOnly {
			q.volatile--
		}
	}
	clear(q.pend[:w])
	q.pend = q.pend[w:]
	if settled == 0 && retry == nil {
		return true // cancelled
	}
	if retry == nil {
		q.failures, q.failing, q.holdUntil = 0, false, time.Time{}
		return true
	}
	q.failures++
	q.failing = true
	d, ok := RetryAfterDelay(retry)
	if !ok || d <= 0 {
		d = q.backoff()
	}
	q.holdUntil = q.clock.Now().Add(d)
	return true
}

// sameIDBefore reports whether an item before pend[k] has its ID: sent at
// once, both would reach the peer.
func (q *Queue) sameIDBefore(k int) bool {
	for i := 0; i < k; i++ {
		if q.pend[i].id == q.pend[k].id {
			return true
		}
	}
	return false
}
