// Command errlogprog records errlog events for the grouping corpus (see
// ../../README.md): go run ./event/testdata/grouping/record/errlogprog
// [-tags moved] [-crash], with capture.py listening on 127.0.0.1:18777.
// -crash makes the program crash (an unrecovered panic in a goroutine);
// the next run reports the crash.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/errlog/errlog/tracker"
	"log/slog"
	"os"
	"time"

	"github.com/errlog/errlog"
)

var (
	variant = "1"
	seq     int
)

// labelled names the fixture of the event logged with ctx: the group a
// person would choose, "--", the run and a sequence number.
func labelled(ctx context.Context, label string) context.Context {
	ctx, sc := errlog.WithScope(ctx)
	seq++
	sc.SetTag("label", fmt.Sprintf("%s--%s-%d", label, variant, seq))
	return ctx
}

// typedNil is an error type whose nil pointer is logged by mistake.
type typedNil struct{}

func (*typedNil) Error() string { return "typed nil" }

func main() {
	crash := flag.Bool("crash", false, "crash in a goroutine")
	flag.StringVar(&variant, "variant", variant, "suffix of the labels")
	flag.Parse()
	slog.SetDefault(errlog.New(errlog.Options{
		Console:  os.Stderr,
		SpoolDir: "/tmp/grouping-errlogprog-spool",
		Tracker:  &tracker.Options{DSN: "http://public@127.0.0.1:18777/1"},
	}))
	defer errlog.Flush(context.Background())
	ctx := context.Background()
	if *crash {
		go runWorker(ctx)
		time.Sleep(time.Second)
		return
	}

	for _, order := range []int{1001, 2002} {
		checkout(ctx, order)
	}
	dbTimeoutInOrders(labelled(ctx, "go-db-timeout-orders"))
	dbTimeoutInUsers(labelled(ctx, "go-db-timeout-users"))

	// Ids, UUIDs, emails, IPs, hex, dates and durations in messages, from
	// one call site: one group.
	for _, v := range []struct{ id, uuid, email, ip, hex, date, took string }{
		{"12345", "9f3c2a1e-4b5d-4e6f-8a7b-1c2d3e4f5a6b", "ann@example.com", "10.1.2.3", "0xdeadbeef", "2024-05-01T10:00:00Z", "1.5s"},
		{"7", "0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e", "bob@example.org", "192.168.0.77", "0x1f", "2025-11-30 23:59:59", "250ms"},
	} {
		slog.ErrorContext(labelled(ctx, "go-params"), fmt.Sprintf("user %s (%s, %s) from %s: token %s expired at %s after %s", v.id, v.uuid, v.email, v.ip, v.hex, v.date, v.took))
	}

	// Joined errors, twice from one call site: one group.
	for _, name := range []string{"a.conf", "b.conf"} {
		err := errors.Join(fmt.Errorf("read %s: %w", name, os.ErrNotExist), errors.New("no default config"))
		slog.ErrorContext(labelled(ctx, "go-config-joined"), "no configuration", "err", err)
	}
	// Wrapped errors with other values, from one call site: one group.
	for _, path := range []string{"/srv/data/1.db", "/srv/data/2.db"} {
		_, err := os.Open(path)
		slog.ErrorContext(labelled(ctx, "go-open-db"), "cannot open the database", "err", fmt.Errorf("open store %s: %w", path, err))
	}

	// A typed nil among the attributes: a log record, by its message.
	slog.ErrorContext(labelled(ctx, "go-odd-values"), "odd values", "x", (*typedNil)(nil))
	slog.ErrorContext(labelled(ctx, "go-odd-other"), "another odd record", "y", (*typedNil)(nil))

	// A panic in a goroutine, recovered: the same group as its crash
	// report (-crash, then a run without).
	workerDone = make(chan bool)
	errlog.Go(labelled(ctx, "go-worker-panic"), runWorker)
	<-workerDone
	afterWorker(ctx)
}

// workerDone, when set, is closed when runWorker ends.
var workerDone chan bool

// runWorker is a goroutine's work: its panic is recovered (errlog.Go) or
// crashes the program (-crash).
func runWorker(ctx context.Context) {
	defer func() {
		if workerDone != nil {
			close(workerDone)
		}
	}()
	worker(nil)
}

func dbTimeoutInOrders(ctx context.Context) {
	slog.ErrorContext(ctx, "db timeout", "table", "orders")
}

func dbTimeoutInUsers(ctx context.Context) {
	slog.ErrorContext(ctx, "db timeout", "table", "users")
}

// worker writes to a nil map.
func worker(m map[string]int) {
	//lint:ignore SA5000 a runtime panic on purpose
	m["jobs"]++
}
