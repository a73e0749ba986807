// Package delivery hands payloads to a network peer asynchronously: a
// bounded in-memory queue, one worker goroutine, retries with exponential
// backoff and jitter, and an optional disk spool that keeps undelivered
// items across restarts. The Sentry-protocol tracker (one envelope per
// item) and the error mail sink (one RFC 5322 message per item) use it, so
// that an application's slog.Error never waits on the network.
//
// # Guarantees
//
// Enqueue never blocks on the network and does not allocate; without a
// spool it does no I/O either. When the queue is full it drops the item,
// counts it and reports it through Options.OnError. Items are delivered in
// Enqueue order, except that an item whose attempts time out again and
// again is moved behind the others (and given up, reported, if it keeps
// timing out while they get through), so that one item the peer cannot
// take never blocks the rest. A temporary failure holds the next item for
// a growing backoff; a RetryAfter holds it for as long as the peer asked;
// a Permanent failure drops the item. An ID acknowledged once is not sent
// again by the same Queue.
//
// With Options.Parallel above 1, a queue that is overwhelmed (it refused
// or evicted an item, or HasRoom said no, within the last second) sends
// that many items at once while the peer answers well, in any order:
// when the process's CPU is saturated each network wake-up waits for Go's
// scheduler, and one round trip at a time would deliver a few dozen items
// a second. After a temporary failure it goes back to one at a time.
//
// # Spool
//
// With Options.SpoolDir, Enqueue appends every item to a write-ahead log
// before the worker first tries it: one write(2), no fsync, so that a
// crashed process (panic, OOM kill, kill -9) loses nothing enqueued, and a
// healthy peer is never kept waiting for the disk. Once the item is
// acknowledged (or fails for good, or is evicted) an acknowledgement
// record follows it; a log segment whose items are all settled is
// deleted. A new Queue on the same directory delivers what an earlier
// process left, oldest first (and the one-file-per-item spool of earlier
// versions too). Delivery is at least once across crashes: a crash between
// the peer's acknowledgement and its record sends the item again, which
// is why items carry IDs the peer can deduplicate on (event_id,
// Message-ID). Past QueueSize, items wait on disk only, up to
// MaxSpoolItems and MaxSpoolBytes; beyond those the oldest items are
// evicted: during an outage the newest errors are worth more. Close
// fsyncs the log once.
//
// A Queue locks the directory it spools to. Replicas of one program on one
// host, which get the same SpoolDir, each take a slot of their own: the
// first SpoolDir itself, the others the first free subdirectory slot-1,
// slot-2, …; a replica restarted while the others run finds its slot
// free again and delivers what it left there, and the holder of SpoolDir
// itself takes in what unheld slots contain.
//
// # Flush and Close
//
// Flush waits until everything enqueued before it is acknowledged or
// failed permanently, retrying meanwhile with the backoff capped to a
// quarter of the time its context leaves, so that a peer back before the
// deadline gets everything; then it returns an error saying how many items
// are still undelivered and where they wait. Close does the same, then
// stops the worker and cancels a Send in progress, within its context
// plus 100ms; with a spool the remaining items stay on disk, without one
// they are reported lost, and its error says how many of each.
//
//	q, err := delivery.New(delivery.Options{
//		Name:     "tracker",
//		Send:     func(ctx context.Context, it delivery.Item) error { return post(ctx, it.Body) },
//		SpoolDir: filepath.Join(cacheDir, "errlog", "tracker"),
//	})
//	if err != nil {
//		return err
//	}
//	defer q.Close(context.Background())
//	q.Enqueue(delivery.Item{ID: eventID, Body: envelope})
package delivery
