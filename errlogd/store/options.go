package store

import "time"

// WriterOptions tunes a store's writer: the one goroutine that commits
// events, in batches. The zero value is all defaults.
type WriterOptions struct {
	// Queue is how many events may wait for the writer; beyond it Submit
	// returns ErrQueueFull and Deliver drops. Default 10,000.
	Queue int
	// MaxBatch is the most events one transaction writes. Default 500.
	MaxBatch int
	// Linger is how long the writer may wait for more events before it
	// commits a batch, while more are on their way (InFlight): fewer,
	// larger transactions under load, each event still answered after
	// its own commit. Default 2 ms; negative: never wait.
	Linger time.Duration
	// InFlight, when set, says how many events are on their way to the
	// store, those waiting for their commit included (ingest's requests
	// in progress): the writer waits (up to Linger) while the batch holds
	// fewer. Unset, the writer waits when the previous commit ended less
	// than Linger before the batch's first event came.
	InFlight func() int
	// OnError is told of failed commits (the events of a failed batch are
	// lost; Submit returns the error), and once when the database file is
	// lost (ErrLost) and when it is back. Default: ignored.
	OnError func(error)
	// Retryable says whether a failed commit is worth retrying (a
	// PostgreSQL deadlock). Default: the database's transient errors
	// (busy, deadlock, serialization failure).
	Retryable func(error) bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnCommit, when set, is told of each batch written: its events, how
	// long the commit took (retries included) and its error. It runs on
	// the writer goroutine and must be quick (a metrics histogram).
	OnCommit func(events int, took time.Duration, err error)
}
