package errlog

import "runtime"

// refuse drops a record for the event sinks when the Handler's queue is
// full, before any work is spent on it (stack, clone, request, scope),
// and yields the processor; it reports whether it did.
//
// A full queue means the delivery goroutine, or a sink behind it, is not
// keeping up: during a storm, goroutines logging errors as fast as they
// can would otherwise keep both cores to themselves, and the delivery
// goroutine and the tracker's senders would each wait a whole time slice
// (10 ms) for every turn. Yielding on the way out of a dropped record
// costs the caller a few hundred nanoseconds, only then, and let errlog
// deliver 3–6 times as many events during a storm (bench's
// StormDelivery). Another goroutine may fill the queue between this check
// and enqueue's send, which still never blocks.
func (c *core) refuse() bool {
	if len(c.jobs) < cap(c.jobs) {
		return false
	}
	c.dropped.Add(1) // counted; reported by the delivery goroutine
	runtime.Gosched()
	return true
}
