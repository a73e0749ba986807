package errlog

import (
	"fmt"

	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/tracker"
)

// Stats counts, since NewHandler, what a Handler's event path did with
// every event: one place where every loss shows, whichever queue it
// happened in.
type Stats struct {
	// Events is the Handler's own queue, between the logging call and
	// the sinks: Enqueued records accepted, Sent events built and handed
	// to every sink, Dropped records refused by a full queue or after
	// Close.
	Events SinkStats
	// Sinks has one entry per queue of mail, tracker (and its debug
	// URL), notifiers and ticketers. Sinks of Options.Sinks keep their
	// own counts and are not listed.
	Sinks []SinkStats
	// Dropped is every loss above, summed: Handler.Dropped.
	Dropped uint64
}

// SinkStats are one queue's counters.
type SinkStats struct {
	Name     string // "events", "tracker", "tracker: debug URL", "smtp", "mail" (MailOptions.Dir), "notify", "ticket"
	Enqueued uint64 // accepted
	// Recovered counts the items an earlier process left in the disk
	// spool, found at start: Enqueued + Recovered is what was sent,
	// dropped or is pending.
	Recovered uint64
	Sent      uint64 // acknowledged by the peer
	Retried   uint64 // attempts that failed and were retried
	Spooled   uint64 // written to the disk spool
	// Dropped counts every item lost: refused by a full queue, given up
	// after a permanent failure or repeated timeouts, evicted from a
	// full spool, lost at Close, or unreadable in the spool.
	Dropped uint64
	Pending int // waiting now, in memory or in the spool
}

// statser is a sink that can count what it did.
type statser interface{ stats() []SinkStats }

func queueStats(name string, q *delivery.Queue) SinkStats {
	st := q.Stats()
	return SinkStats{
		Name:      name,
		Enqueued:  st.Enqueued,
		Recovered: st.Recovered,
		Sent:      st.Sent,
		Retried:   st.Retried,
		Spooled:   st.Spooled,
		Dropped:   st.Lost(),
		Pending:   st.Pending,
	}
}

// Stats returns the counters of the Handler's event queue and of every
// mail, tracker, notifier and ticketer queue. Safe at any time, from any
// goroutine, after Close too.
func (h *Handler) Stats() Stats {
	c := h.c
	st := Stats{Events: SinkStats{
		Name:     "events",
		Enqueued: c.accepted.Load(),
		Sent:     c.built.Load(),
		Dropped:  c.dropped.Load(),
		Pending:  c.pending(),
	}}
	st.Dropped = st.Events.Dropped
	for _, s := range c.sinks {
		var sinkStats []SinkStats
		switch s := s.(type) {
		case statser:
			sinkStats = s.stats()
		case *tracker.Tracker:
			sinkStats = trackerStats(s)
		}
		for _, x := range sinkStats {
			st.Sinks = append(st.Sinks, x)
			st.Dropped += x.Dropped
		}
	}
	return st
}

// String is a one-line summary, for a status page or a log line.
func (s SinkStats) String() string {
	recovered := ""
	if s.Recovered > 0 {
		recovered = fmt.Sprintf(", %d recovered from the spool", s.Recovered)
	}
	return fmt.Sprintf("%s: %d enqueued%s, %d sent, %d retried, %d spooled, %d dropped, %d pending",
		s.Name, s.Enqueued, recovered, s.Sent, s.Retried, s.Spooled, s.Dropped, s.Pending)
}

// trackerStats are the counters of the tracker's queues.
func trackerStats(t *tracker.Tracker) []SinkStats {
	var out []SinkStats
	for _, q := range t.Stats() {
		out = append(out, SinkStats(q))
	}
	return out
}

func (s *noticeSink) stats() []SinkStats {
	var out []SinkStats
	if s.mailQ != nil {
		st := queueStats(s.name, s.mailQ)
		st.Dropped += uint64(s.late.Load()) + s.lost.Load()
		out = append(out, st)
	}
	for _, q := range s.notifiers {
		out = append(out, queueStats("notify", q.q))
	}
	for _, q := range s.ticketers {
		out = append(out, queueStats("ticket", q.q))
	}
	return out
}
