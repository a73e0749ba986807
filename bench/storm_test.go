package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

// BenchmarkStormDelivery: every request is failing. Four goroutines log
// ERROR records as fast as they can for two seconds (the callers take
// both cores), and a healthy tracker on 127.0.0.1 counts what reaches it.
// A storm is when the first occurrence of each error must still get out:
// delivered/s is what counts, offered/s shows how hard the callers
// pushed, and drops are the rest. errlog, sentry-go's default client and
// sentry-go with its HTTPTransport (whose callers block when its buffer
// is full) run in the same process, one after the other; the tracker runs
// in a process of its own. Delivered/s depends on how much of the machine
// the process gets: compare the ratios it logs, from one run, with the
// load average beside them:
//
//	go test -run '^$' -bench StormDelivery -benchtime 1x -count 6
func BenchmarkStormDelivery(b *testing.B) {
	var errlogRate, defaultRate, httpRate float64
	b.Run("errlog", func(b *testing.B) {
		errlogRate = stormCase(b, func(dsn string) (func(), func()) { return errlogAt(b, dsn, "") })
	})
	b.Run("sentry-go-default", func(b *testing.B) {
		defaultRate = stormCase(b, func(dsn string) (func(), func()) { return sentryAt(b, dsn, nil) })
	})
	b.Run("sentry-go-http", func(b *testing.B) {
		httpRate = stormCase(b, func(dsn string) (func(), func()) { return sentryAt(b, dsn, sentry.NewHTTPTransport()) })
	})
	b.Logf("storm, load %s: errlog delivered %.0f/s, %.2f× sentry-go's default client (%.0f/s), %.2f× its HTTPTransport (%.0f/s, callers blocking)",
		loadAverage(), errlogRate, errlogRate/defaultRate, defaultRate, errlogRate/httpRate, httpRate)
}

func sentryAt(b *testing.B, dsn string, tr sentry.Transport) (logOne, stop func()) {
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	return func() { hub.CaptureException(errPayment) }, func() {
		client.Flush(time.Second)
		client.Close()
	}
}

func stormCase(b *testing.B, start func(dsn string) (logOne, stop func())) (deliveredPerSec float64) {
	const (
		window  = 2 * time.Second
		callers = 4
	)
	for i := 0; i < b.N; i++ {
		dsn, received := localTracker(b)
		logOne, stop := start(dsn)
		var offered atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), window)
		var wg sync.WaitGroup
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					for k := 0; k < 100; k++ {
						logOne()
					}
					offered.Add(100)
				}
			}()
		}
		wg.Wait()
		cancel()
		atEnd := received() // delivered during the storm itself
		stop()
		deliveredPerSec = float64(atEnd) / window.Seconds()
		b.ReportMetric(deliveredPerSec, "delivered/s")
		b.ReportMetric(float64(offered.Load())/window.Seconds(), "offered/s")
	}
	return deliveredPerSec
}
