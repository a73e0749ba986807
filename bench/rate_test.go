package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/tracker"
	"github.com/getsentry/sentry-go"
)

// BenchmarkDeliveryRate offers ERROR records at a fixed rate for two
// seconds to a tracker on 127.0.0.1 (a process of its own) that answers
// 200 at once, and reports how many events it received per second and as
// a fraction of those offered (delivered/offered), counting what arrives
// by the end of the offering and one second of Close or Flush after it.
// errlog without a spool, errlog with a spool (as FromEnv sets one up
// whenever a tracker is configured) and sentry-go's CaptureException with
// its HTTP transport run in the same process, one after the other.
//
// bg-µs/event is the CPU the library spent off the caller's goroutine per
// delivered event: the process's CPU time minus the offering goroutine's
// (locked to its thread), divided by the events delivered. It includes
// the garbage collector's background work; the tracker's own CPU is not
// in it. It measures throughput and CPU, not time per op: run it once,
// and compare the ratios it logs, from one run:
//
//	go test -run '^$' -bench DeliveryRate -benchtime 1x
func BenchmarkDeliveryRate(b *testing.B) {
	for _, rate := range []int{1000, 3000, 6000} {
		res := map[string]rateResult{}
		b.Run(fmt.Sprintf("rate=%d/errlog", rate), func(b *testing.B) {
			res["errlog"] = rateCase(b, rate, func(dsn string) (func(), func()) { return errlogAt(b, dsn, "") })
		})
		b.Run(fmt.Sprintf("rate=%d/errlog-spool", rate), func(b *testing.B) {
			res["errlog-spool"] = rateCase(b, rate, func(dsn string) (func(), func()) { return errlogAt(b, dsn, b.TempDir()) })
		})
		b.Run(fmt.Sprintf("rate=%d/sentry-go", rate), func(b *testing.B) {
			res["sentry-go"] = rateCase(b, rate, func(dsn string) (func(), func()) {
				return sentryAt(b, dsn, sentry.NewHTTPTransport())
			})
		})
		s := res["sentry-go"]
		for _, name := range []string{"errlog", "errlog-spool"} {
			r := res[name]
			b.Logf("rate=%d/s, load %s: %s delivered %.3f of those offered (sentry-go %.3f), %.2f× sentry-go's events/s; %.0f µs of CPU per event off the caller (sentry-go %.0f), %.2f× sentry-go's",
				rate, loadAverage(), name, r.fraction, s.fraction, r.perSec/s.perSec, r.bgPerEvent, s.bgPerEvent, r.bgPerEvent/s.bgPerEvent)
		}
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

// rateResult is one rateCase's measure.
type rateResult struct {
	perSec, fraction float64
	bgPerEvent       float64 // µs of CPU per delivered event, off the caller
}

// rateCase offers records at rate per second, in bursts every 10 ms.
func rateCase(b *testing.B, rate int, start func(dsn string) (logOne, stop func())) rateResult {
	const window = 2 * time.Second
	var res rateResult
	for i := 0; i < b.N; i++ {
		dsn, received := localTracker(b)
		logOne, stop := start(dsn)
		runtime.LockOSThread() // threadCPU is then this goroutine's
		p0, pok := processCPU()
		t0, tok := threadCPU()
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
		t1, _ := threadCPU()
		p1, _ := processCPU()
		runtime.UnlockOSThread()
		got := received()
		res = rateResult{perSec: float64(got) / window.Seconds(), fraction: float64(got) / float64(offered)}
		b.ReportMetric(res.perSec, "delivered/s")
		b.ReportMetric(res.fraction, "delivered/offered")
		if pok && tok && got > 0 {
			res.bgPerEvent = float64((p1-p0)-(t1-t0)) / float64(time.Microsecond) / float64(got)
			b.ReportMetric(res.bgPerEvent, "bg-µs/event")
			b.ReportMetric(float64(t1-t0)/float64(time.Microsecond)/float64(offered), "caller-µs/op")
		}
	}
	return res
}
