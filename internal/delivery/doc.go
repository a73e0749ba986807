// Package delivery hands payloads to a network peer asynchronously: a
// bounded in-memory queue, one worker goroutine, retries with exponential
// backoff and jitter, and an optional disk spool that keeps undelivered
// items across restarts. The Sentry-protocol tracker (one envelope per
// item) and the error mail sink (one RFC 5322 message per item) use it, so
// that an application's slog.Error never waits on the network.
//
// # Guarantees
//
// Enqueue never blocks, does no I/O and does not allocate; when the queue is
// full it drops the item, counts it and reports it through
// Options.OnError. Items are delivered in Enqueue order. A temporary failure
// holds the head item, and everything behind it, for a growing backoff; a
// RetryAfter holds them for as long as the peer asked; a Permanent failure
// drops the item. An ID acknowledged once is not sent again by the same
// Queue.
//
// # Spool
//
// With Options.SpoolDir, the worker writes every item to its own file
// (temp file, fsync, rename) before the first attempt and deletes it once
// the item is acknowledged or failed permanently; a new Queue on the same
// directory delivers what an earlier process left, oldest first. Delivery
// is at least once across crashes: a crash between the peer's
// acknowledgement and the file's deletion sends the item again, which is
// why items carry IDs the peer can deduplicate on (event_id, Message-ID).
// When MaxSpoolItems or MaxSpoolBytes is exceeded, the oldest items are
// evicted: during an outage the newest errors are worth more.
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
// Flush waits until everything enqueued before it is acknowledged, failed
// permanently, or, with a spool, on disk while the peer is failing: nothing
// would be lost by exiting. Without a spool and with the peer down, Flush
// waits until its context is done. Close flushes, then stops the worker
// and cancels a Send in progress; with a spool the remaining items stay on
// disk, without one they are reported lost.
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
