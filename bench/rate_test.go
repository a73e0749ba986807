package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/tracker"
	"github.com/getsentry/sentry-go"
)

// BenchmarkDeliveryRate offers ERROR records at a fixed rate for two
// seconds to a tracker on 127.0.0.1 that answers 200 at once, and reports
// how many events it received per second and as a fraction of those
// offered (delivered/offered), counting what arrives by the end of the
// offering and one second of Close or Flush after it. errlog without a
// spool, errlog with a spool (as FromEnv sets one up whenever a tracker
// is configured) and sentry-go's CaptureException with its HTTP
// transport run in the same process, one after the other. It measures
// throughput, not time per op: run it once.
//
//	go test -run '^$' -bench DeliveryRate -benchtime 1x
func BenchmarkDeliveryRate(b *testing.B) {
	for _, rate := range []int{1000, 3000, 6000} {
		b.Run(fmt.Sprintf("rate=%d/errlog", rate), func(b *testing.B) {
			rateCase(b, rate, func(dsn string) (func(), func()) { return errlogAt(b, dsn, "") })
		})
		b.Run(fmt.Sprintf("rate=%d/errlog-spool", rate), func(b *testing.B) {
			rateCase(b, rate, func(dsn string) (func(), func()) { return errlogAt(b, dsn, b.TempDir()) })
		})
		b.Run(fmt.Sprintf("rate=%d/sentry-go", rate), func(b *testing.B) {
			rateCase(b, rate, func(dsn string) (func(), func()) {
				client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Transport: sentry.NewHTTPTransport()})
				if err != nil {
					b.Fatal(err)
				}
				hub := sentry.NewHub(client, sentry.NewScope())
				return func() { hub.CaptureException(errPayment) }, func() {
					client.Flush(time.Second)
					client.Close()
				}
			})
		})
	}
}

func errlogAt(b *testing.B, dsn, spool string) (logOne, stop func()) {
	h := errlog.NewHandler(errlog.Options{
		Console:         io.Discard,
		Tracker:         &tracker.Options{DSN: dsn},
		SpoolDir:        spool,
		OnDeliveryError: func(error) {},
	})
	logger := slog.New(h)
	ctx := context.Background()
	attrs := tenAttrs()
	return func() { logger.ErrorContext(ctx, "payment failed", attrs...) }, func() {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		h.Close(ctx)
	}
}

// rateCase offers records at rate per second, in bursts every 10 ms.
func rateCase(b *testing.B, rate int, start func(dsn string) (logOne, stop func())) {
	const window = 2 * time.Second
	for i := 0; i < b.N; i++ {
		dsn, received := localTracker(b)
		logOne, stop := start(dsn)
		var offered int64
		tick := time.NewTicker(10 * time.Millisecond)
		begin := time.Now()
		for time.Since(begin) < window {
			<-tick.C
			want := int64(float64(rate) * time.Since(begin).Seconds())
			for ; offered < want; offered++ {
				logOne()
			}
		}
		tick.Stop()
		stop()
		got := received.Load()
		b.ReportMetric(float64(got)/window.Seconds(), "delivered/s")
		b.ReportMetric(float64(got)/float64(offered), "delivered/offered")
	}
}
