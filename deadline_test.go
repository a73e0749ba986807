package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/mail/mailtest"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grace is what a Flush, Close or Recover may take beyond its deadline.
const grace = 200 * time.Millisecond

// silentHTTP returns a DSN whose server accepts connections and reads
// requests but never answers.
func silentHTTP(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1"
}

func within(t *testing.T, what string, limit time.Duration, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if d := time.Since(start); d > limit {
		t.Errorf("%s took %v, want at most %v", what, d, limit)
	}
}

// Every Flush, Close and Recover returns within its deadline plus a small
// grace, whatever the peers do: an SMTP server that accepts and never
// sends its banner (with a 30 s MailOptions.Timeout), a tracker that
// never answers (30 s tracker.Options.Timeout).
func TestDeadlinesHoldWithSilentPeers(t *testing.T) {
	cases := []struct {
		name string
		opts func(t *testing.T) Options
	}{
		{"smtp", func(t *testing.T) Options {
			return Options{Mail: &MailOptions{Addr: stalledServer(t), To: []string{"ops@example.com"}, Timeout: 30 * time.Second}}
		}},
		{"tracker", func(t *testing.T) Options {
			return Options{Tracker: &tracker.Options{DSN: silentHTTP(t), Timeout: 30 * time.Second}}
		}},
	}
	for _, c := range cases {
		for _, spool := range []bool{false, true} {
			name := c.name
			if spool {
				name += " with spool"
			}
			t.Run(name, func(t *testing.T) {
				o := c.opts(t)
				o.Console = io.Discard
				o.OnDeliveryError = func(error) {}
				if spool {
					o.SpoolDir = t.TempDir()
				}
				h := NewHandler(o)
				logger := slog.New(h)
				logger.Error("boom", "err", errors.New("x"))
				time.Sleep(50 * time.Millisecond) // the send is under way

				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				within(t, "Handler.Flush(300ms)", 300*time.Millisecond+grace, func() {
					if err := h.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Flush: %v", err)
					}
				})

				defer flushTimeout.Store(flushTimeout.Swap(int64(300 * time.Millisecond)))
				within(t, "errlog.Flush(Background) with DefaultFlushTimeout 300ms", 300*time.Millisecond+grace, func() {
					Flush(context.Background())
				})

				if !spool { // Recover's bound is the same with a spool
					prev := slog.Default()
					slog.SetDefault(logger)
					defer slog.SetDefault(prev)
					defer panicFlushTimeout.Store(panicFlushTimeout.Swap(int64(300 * time.Millisecond))) // 2 s in use
					within(t, "Recover (300ms)", 300*time.Millisecond+grace, func() {
						defer func() { recover() }()
						func() {
							defer Recover(context.Background())
							panic("boom")
						}()
					})
				}

				cctx, ccancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer ccancel()
				within(t, "Close(300ms)", 300*time.Millisecond+grace, func() {
					err := h.Close(cctx)
					if err == nil {
						t.Error("Close: nil, want what was left")
					}
				})
			})
		}
	}
}

// Close with a long deadline keeps delivering: the mail server is down
// when the error is logged and starts 1.5 s later; Close delivers the
// mail instead of leaving it in the spool.
func TestCloseDeliversMailWhenServerComesBack(t *testing.T) {
	addr := freeAddr(t)
	h := NewHandler(Options{
		Console:         io.Discard,
		Mail:            &MailOptions{Addr: addr, To: []string{"ops@example.com"}, Timeout: time.Second},
		SpoolDir:        t.TempDir(),
		OnDeliveryError: func(error) {},
	})
	slog.New(h).Error("payment failed", "order", 7)
	srvc := make(chan *testServer, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		srvc <- startServer(t, serverOpts{Addr: addr})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	srv := <-srvc
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("%d mails after Close, want 1", n)
	}
	t.Logf("delivered by Close after %v", time.Since(start))
}

// The tracker answers 503 to its first requests, then 200: Close with a
// deadline delivers all 40 events.
func TestCloseDeliversEventsAfterTracker503s(t *testing.T) {
	f := trackertest.NewFake(t)
	f.SetValidate(0)
	var refused atomic.Int32
	f.SetFault(func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n <= 5 {
			refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	h := NewHandler(Options{
		Console:         io.Discard,
		Tracker:         &tracker.Options{DSN: f.DSN()},
		SpoolDir:        t.TempDir(),
		OnDeliveryError: func(error) {},
	})
	logger := slog.New(h)
	for i := 0; i < 40; i++ {
		logger.Error("checkout failed", "i", i)
	}
	// The default backoff (1 s, doubling) would outlast 5 s; Close caps
	// it to the time it has.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := len(f.Acked()); n != 40 || refused.Load() != 5 {
		t.Fatalf("tracker acknowledged %d of 40 events after %d refusals", n, refused.Load())
	}
}

// An SMTP server that takes the mail and never answers QUIT costs
// Flush and Close nothing past their deadlines, nor the next mail its
// delivery. The transport waited up to a second for that answer after the
// queue was done, on the caller's time, and held the next mail as long.
func TestDeadlinesHoldWhenQuitUnanswered(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	h := NewHandler(Options{Console: io.Discard, OnDeliveryError: func(err error) { t.Error(err) },
		Mail: &MailOptions{Addr: mailtest.QuitSwallowed(t, srv.Addr), To: []string{"ops@example.com"}, NoTLS: true, Timeout: 10 * time.Second}})
	logger := slog.New(h)
	logger.Error("boom", "err", errors.New("x"))
	srv.WaitMails(t, 1, 5*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	within(t, "Flush(200ms)", 200*time.Millisecond+grace, func() {
		if err := h.Flush(ctx); err != nil {
			t.Errorf("Flush: %v, the mail was sent", err)
		}
	})
	logger.Error("boom again", "err", errors.New("y"))
	cctx, ccancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer ccancel()
	within(t, "Close(200ms)", 200*time.Millisecond+grace, func() {
		if err := h.Close(cctx); err != nil {
			t.Errorf("Close: %v, the mail was sent", err)
		}
	})
	srv.WaitMails(t, 2, 5*time.Second)
}

// A Close that gives up says how many events it drops, and Stats how many
// are pending, counting events only: Flush's markers waiting behind a slow
// delivery were counted too (34 said dropped when 4 were).
func TestCloseCountsEventsNotFlushes(t *testing.T) {
	f := trackertest.NewFake(t)
	h := NewHandler(Options{Console: io.Discard, OnDeliveryError: func(error) {},
		BeforeSend: func(ev *event.Event) *event.Event { time.Sleep(100 * time.Millisecond); return ev },
		Tracker:    &tracker.Options{DSN: f.DSN()}})
	logger := slog.New(h)
	const n = 5
	for i := 0; i < n; i++ {
		logger.Error("slow to build", "i", i)
	}
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			h.Flush(ctx)
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, h.Stats().Events.Pending, n)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err := h.Close(ctx)
	require.Error(t, err)
	m := regexp.MustCompile(`(\d+) events not yet given`).FindStringSubmatch(err.Error())
	require.NotNil(t, m, "Close: %v", err)
	dropped, _ := strconv.Atoi(m[1])
	assert.LessOrEqual(t, dropped, n-1, "Close: %v (the first event was being built)", err)
	assert.LessOrEqual(t, h.Stats().Events.Pending, n-1)
	require.Eventually(t, func() bool {
		st := h.Stats().Events
		return st.Sent+st.Dropped == n && st.Pending == 0
	}, 5*time.Second, 10*time.Millisecond, "every event built or counted dropped: %+v", h.Stats().Events)
}
