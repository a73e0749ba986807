package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/tracker"
	"github.com/getsentry/sentry-go"
)

// localTracker accepts every envelope, as errlogd or Sentry would, and
// counts them. It runs in a process of its own (this test binary, started
// again), as a tracker does: in the benchmark's process its goroutines
// would compete with the ones measured, and its CPU time would count as
// theirs.
func localTracker(b *testing.B) (dsn string, received func() int64) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), trackerChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the child exits when it closes
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("tracker process: %v", err)
	}
	addr = strings.TrimSpace(addr)
	client := &http.Client{Transport: &http.Transport{}}
	received = func() int64 {
		resp, err := client.Get("http://" + addr + "/count")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var n int64
		if _, err := fmt.Fscan(resp.Body, &n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	return "http://public@" + addr + "/1", received
}

// trackerChildEnv makes the test binary serve as localTracker's tracker.
const trackerChildEnv = "ERRLOG_BENCH_TRACKER"

func TestMain(m *testing.M) {
	if os.Getenv(trackerChildEnv) != "" {
		serveTracker()
		return
	}
	os.Exit(m.Run())
}

// serveTracker answers every POST with 200, counts them, tells the count
// at GET /count, and exits when its standard input closes.
func serveTracker() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var received atomic.Int64
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Println(ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, received.Load())
			return
		}
		io.Copy(io.Discard, r.Body)
		received.Add(1)
		io.WriteString(w, `{}`)
	}))
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
