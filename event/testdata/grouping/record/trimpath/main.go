// Command trimpath records errlog events whose stacks hold a dependency's
// frames, for the grouping corpus (see ../../README.md): an error logged
// from an operation that github.com/cenkalti/backoff/v4 retries, one
// logged from a goroutine of golang.org/x/sync/errgroup, and a panic
// inside backoff (given a nil policy), recovered by errlog.Go. Built with
// -trimpath, those frames are named like the main module's
// ("golang.org/x/sync@v0.25.0/errgroup/errgroup.go", no module cache in
// the path), and record.sh builds it against two versions of each
// dependency (go.mod, go.old.mod), with and without -trimpath, and runs
// it with and without the dependencies' sources. It is a module of its
// own, so that errlog's module does not require what it records with.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/errlog/errlog"
	"github.com/errlog/errlog/tracker"
	"golang.org/x/sync/errgroup"
)

var variant = "1"

// labelled names the fixture of the event logged with ctx: the group a
// person would choose, "--" and the variant (the build and run).
func labelled(ctx context.Context, label string) context.Context {
	ctx, sc := errlog.WithScope(ctx)
	sc.SetTag("label", label+"--"+variant)
	return ctx
}

var errUnavailable = errors.New("503 Service Unavailable")

func main() {
	dsn := flag.String("dsn", "http://public@127.0.0.1:18777/1", "where capture.py listens")
	flag.StringVar(&variant, "variant", variant, "suffix of the labels")
	flag.Parse()
	slog.SetDefault(errlog.New(errlog.Options{
		Console:  os.Stderr,
		SpoolDir: "/tmp/grouping-trimpath-spool",
		Tracker:  &tracker.Options{DSN: *dsn},
	}))
	defer errlog.Flush(context.Background())
	ctx := context.Background()

	fetchPrices(labelled(ctx, "go-retry-fetch"), "https://prices.example.com/v1/eur")
	syncShards(labelled(ctx, "go-errgroup-shard"), []int{7})

	done := make(chan bool)
	errlog.Go(labelled(ctx, "go-retry-nil-policy"), func(ctx context.Context) {
		defer close(done)
		pollQuotes(ctx, nil)
	})
	<-done
	time.Sleep(100 * time.Millisecond) // the recovered panic is reported after done
}

// fetchPrices fetches url, retrying: each failed attempt is logged from
// the operation that backoff.Retry calls.
func fetchPrices(ctx context.Context, url string) {
	attempt := 0
	op := func() error {
		attempt++
		err := get(url)
		if err != nil {
			slog.ErrorContext(ctx, "price fetch failed", "url", url, "attempt", attempt, "err", err)
		}
		return err
	}
	_ = backoff.Retry(op, backoff.WithMaxRetries(&backoff.ZeroBackOff{}, 0))
}

func get(url string) error {
	return fmt.Errorf("GET %s: %w", url, errUnavailable)
}

// syncShards syncs each shard in a goroutine of an errgroup; a failure is
// logged in that goroutine.
func syncShards(ctx context.Context, shards []int) {
	var g errgroup.Group
	for _, shard := range shards {
		g.Go(func() error {
			if err := syncShard(shard); err != nil {
				slog.ErrorContext(ctx, "shard sync failed", "shard", shard, "err", err)
				return err
			}
			return nil
		})
	}
	_ = g.Wait()
}

func syncShard(shard int) error {
	return fmt.Errorf("shard %d: %w", shard, context.DeadlineExceeded)
}

// pollQuotes fetches quotes, retrying by policy: a nil policy (a setting
// left out) makes backoff panic on its first use of it.
func pollQuotes(ctx context.Context, policy backoff.BackOff) {
	_ = backoff.Retry(func() error { return get("https://quotes.example.com/latest") }, policy)
}
