package errlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
)

// pagerNotifier posts each event's message to a pager's HTTP API, and
// tells errlog which failures are worth retrying.
type pagerNotifier struct {
	url      string
	attempts atomic.Int32
}

func (p *pagerNotifier) Notify(ctx context.Context, ev *event.Event) error {
	p.attempts.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, nil)
	if err != nil {
		return errlog.Permanent(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err // a network error: retried with backoff
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return errlog.RetryAfter(errors.New(resp.Status), time.Duration(secs)*time.Second)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return errlog.Permanent(errors.New("pager: " + resp.Status)) // retrying cannot help
	case resp.StatusCode >= 500:
		return errors.New("pager: " + resp.Status)
	}
	return nil
}

// A 4xx answer is given up at once and reported once, instead of being
// tried five times.
func ExamplePermanent() {
	pager := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown routing key", http.StatusBadRequest)
	}))
	defer pager.Close()
	n := &pagerNotifier{url: pager.URL}
	h := errlog.NewHandler(errlog.Options{
		Console:         io.Discard,
		Notifiers:       []errlog.Notifier{n},
		OnDeliveryError: func(err error) { fmt.Println("reported:", errors.Unwrap(err)) },
	})
	slog.New(h).Error("disk full")
	_ = h.Close(context.Background())
	fmt.Println("attempts:", n.attempts.Load())
	// Output:
	// reported: dropping item 1 after a permanent failure: pager: 400 Bad Request
	// attempts: 1
}

// A 429 with Retry-After is tried again after the delay the pager asked
// for, not after errlog's own backoff.
func ExampleRetryAfter() {
	var calls atomic.Int32
	pager := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer pager.Close()
	n := &pagerNotifier{url: pager.URL}
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Notifiers: []errlog.Notifier{n}})
	start := time.Now()
	slog.New(h).Error("disk full")
	_ = h.Close(context.Background())
	fmt.Println("attempts:", n.attempts.Load(), "waited the second asked for:", time.Since(start) >= time.Second)
	// Output:
	// attempts: 2 waited the second asked for: true
}

// chatNotifier is given the Notice: whether this is a first occurrence
// or a digest of repeats, and how many occurrences it stands for.
type chatNotifier struct{}

func (chatNotifier) Notify(ctx context.Context, ev *event.Event) error { return nil } // not called

func (chatNotifier) NotifyNotice(_ context.Context, n *errlog.Notice) error {
	switch n.Kind {
	case errlog.NoticeFirst:
		fmt.Printf("new error: %s\n", n.Event.Message())
	case errlog.NoticeDigest:
		fmt.Printf("%s: %d more times\n", n.Event.Message(), n.Count)
	}
	return nil
}

func ExampleNoticeNotifier() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Notifiers: []errlog.Notifier{chatNotifier{}}})
	for i := 0; i < 3; i++ {
		slog.New(h).Error("disk full")
	}
	_ = h.Close(context.Background()) // sends the pending digest
	// Output:
	// new error: disk full
	// disk full: 2 more times
}
