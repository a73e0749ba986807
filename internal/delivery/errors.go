package delivery

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, wrapped (with %w) in what Options.OnError receives, so
// that a caller can tell the kinds of loss apart with errors.Is.
var (
	// ErrQueueFull: Enqueue dropped items because QueueSize items were
	// already waiting.
	ErrQueueFull = errors.New("queue full")
	// ErrClosed: the queue was closed; items enqueued afterwards are
	// dropped, and without a spool undelivered items are lost.
	ErrClosed = errors.New("queue closed")
	// ErrSpoolFull: MaxSpoolItems or MaxSpoolBytes was exceeded and the
	// oldest items were evicted.
	ErrSpoolFull = errors.New("spool full")
)

// permanentError marks a failure that retrying cannot fix (a malformed
// payload, a rejected recipient), so the item is dropped at once instead of
// blocking everything behind it until MaxBackoff.
type permanentError struct {
	err error
	// reported: the SendFunc reported the failure itself (one report for
	// a failure of every item, such as a refused key); the queue only
	// counts the drop.
	reported bool
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the queue drops the item instead of retrying
// it; the failure is reported once through Options.OnError. Permanent(nil)
// is nil, so `return Permanent(err)` is safe on a success path too.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// PermanentReported is Permanent for a failure the SendFunc has reported
// itself, once for all the items it fails: the queue drops the item and
// counts it in Stats.Failed, without reporting it again.
func PermanentReported(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err, reported: true}
}

// IsPermanent reports whether err, or an error it wraps, came from
// Permanent or PermanentReported.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// reportDrop reports whether the drop of an item that failed with the
// permanent err is the queue's to report.
func reportDrop(err error) bool {
	var p *permanentError
	return !errors.As(err, &p) || !p.reported
}

// retryAfterError carries the delay a peer asked for (HTTP 429 with
// Retry-After, Sentry's X-Sentry-Rate-Limits, SMTP 421), which overrides the
// queue's own backoff.
type retryAfterError struct {
	d   time.Duration
	err error
}

func (e *retryAfterError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("retry after %s", e.d)
	}
	return fmt.Sprintf("retry after %s: %v", e.d, e.err)
}
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter tells the queue that the peer asked it to wait d: nothing is
// sent until then and nothing is dropped. err may be nil. A d of zero or
// less means "wait the normal backoff".
func RetryAfter(d time.Duration, err error) error {
	return &retryAfterError{d: d, err: err}
}

// RetryAfterDelay reports the delay carried by an error from RetryAfter, so
// that a sink's tests can check what its SendFunc asked for.
func RetryAfterDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.d, true
	}
	return 0, false
}
