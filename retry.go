package errlog

import (
	"context"
	"time"

	"github.com/errlog/errlog/internal/delivery"
)

// Retry classification for custom Notifiers and Ticketers. An error they
// return is retried with backoff, five attempts in all, unless it says
// otherwise with one of these: the same classification errlog's own
// webhook, mail and tracker use.

// Permanent marks err, returned by a Notifier or a Ticketer, as a failure
// that retrying cannot fix (the peer refused the request as malformed, a
// 4xx answer): the notice is given up at once and err reported once,
// through Options.OnDeliveryError. Permanent(nil) is nil, so that
// `return errlog.Permanent(err)` is safe on a success path too.
func Permanent(err error) error {
	return delivery.Permanent(err)
}

// RetryAfter marks err, returned by a Notifier or a Ticketer, as a failure
// the peer asked to retry after d (an HTTP 429 or 503 with Retry-After):
// the next attempt waits d instead of the usual backoff. It still counts
// as one of the five attempts, so that a peer that never recovers cannot
// hold its queue for ever. A d of zero or less means the usual backoff.
// RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return delivery.RetryAfter(d, err)
}

// A NoticeNotifier is a Notifier that is given the Notice itself (whether
// this is a first occurrence, a digest of repeats or a summary of what the
// hourly cap held back, and how many occurrences it stands for) rather
// than finding it in the context with NoticeFromContext. errlog calls
// NotifyNotice instead of Notify for a Notifier that has it. n.Event is
// the event (the latest one for a digest) and nil for a summary; the
// context is Notify's.
type NoticeNotifier interface {
	Notifier
	// NotifyNotice tells of n; an error is classified as Notify's is.
	NotifyNotice(ctx context.Context, n *Notice) error
}
