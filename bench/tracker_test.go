package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/tracker"
	"github.com/getsentry/sentry-go"
)

// localTracker accepts every envelope, as errlogd or Sentry would, and
// counts them.
func localTracker(b *testing.B) (dsn string, received *atomic.Int64) {
	received = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
		io.WriteString(w, `{}`)
	}))
	b.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "http://", "http://public@", 1) + "/1", received
}

// downTracker returns a DSN whose port refuses connections.
func downTracker(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://public@" + addr + "/1"
}

// BenchmarkTrackerError: the caller's cost of reporting one error to a
// tracker over HTTP on 127.0.0.1: errlog's slog.ErrorContext (10 attrs,
// one of them the error; no request in the context) with its tracker,
// against sentry-go's CaptureException of the same error with its HTTP
// transport, in the same run. Both capture a stack trace; both send from
// their own goroutines. "errlog-tracker-down" is errlog with nothing
// listening on the tracker's port: it must cost the caller no more.
//
// Run it with a fixed count below QueueSize, so that no record is dropped
// (a dropped record is cheaper and would flatter errlog; drops/op says):
//
//	go test -run '^$' -bench TrackerError -benchmem -benchtime 20000x -count 6
//
// B/op and allocs/op count every goroutine's allocations during the timed
// loop, the background work of both libraries included, so they vary
// from run to run and are an upper bound on the caller's own.
func BenchmarkTrackerError(b *testing.B) {
	errlogCase := func(b *testing.B, dsn string) {
		h := errlog.NewHandler(errlog.Options{
			Console:         io.Discard,
			Tracker:         &tracker.Options{DSN: dsn, QueueSize: 1 << 16},
			QueueSize:       1 << 16,
			OnDeliveryError: func(error) {}, // the down tracker's reports
		})
		logger := slog.New(h)
		ctx := context.Background()
		attrs := tenAttrs()
		b.ReportAllocs()
		for b.Loop() {
			logger.ErrorContext(ctx, "payment failed", attrs...)
		}
		b.StopTimer()
		b.ReportMetric(float64(h.Dropped())/float64(b.N), "drops/op")
		// Let the delivery goroutine finish building what the loop queued
		// (it would otherwise eat into the next run), then give up on the
		// events a down tracker still holds in memory.
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		h.Close(ctx)
	}
	b.Run("errlog", func(b *testing.B) {
		dsn, _ := localTracker(b)
		errlogCase(b, dsn)
	})
	b.Run("sentry-go", func(b *testing.B) {
		dsn, _ := localTracker(b)
		client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Transport: sentry.NewHTTPTransport()})
		if err != nil {
			b.Fatal(err)
		}
		hub := sentry.NewHub(client, sentry.NewScope())
		b.ReportAllocs()
		for b.Loop() {
			hub.CaptureException(errPayment)
		}
		b.StopTimer()
		client.Flush(time.Second)
		client.Close()
	})
	b.Run("errlog-tracker-down", func(b *testing.B) {
		errlogCase(b, downTracker(b))
	})
}
