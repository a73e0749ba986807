// Command errlog-test sends one test event to a tracker and says whether
// it arrived, as Flask-Exceptional's test() does: a check to run once after
// setting a DSN, or in a deployment.
//
//	ERRLOG_DSN=https://key@sentry.example.com/42 go run github.com/errlog/errlog/cmd/errlog-test
//	go run github.com/errlog/errlog/cmd/errlog-test -dsn https://key@errlogd.internal:8080/1
//
// The DSN comes from -dsn, else ERRLOG_DSN; the debug URL, if any, from
// -debug-url, else ERRLOG_DEBUG_URL. The exit status is 0 when the tracker
// accepted the event, 1 when it did not (the message says why: DNS,
// connection, TLS, authentication, rejection), 2 for bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/errlog/errlog/tracker"
	"github.com/errlog/errlog/wire"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("errlog-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("dsn", getenv("ERRLOG_DSN"), "the tracker's DSN (default $ERRLOG_DSN)")
	debugURL := fs.String("debug-url", getenv("ERRLOG_DEBUG_URL"), "also post the event as JSON here (default $ERRLOG_DEBUG_URL)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the tracker")
	env := fs.String("environment", getenv("ERRLOG_ENVIRONMENT"), "the event's environment (default $ERRLOG_ENVIRONMENT)")
	release := fs.String("release", getenv("ERRLOG_RELEASE"), "the event's release (default $ERRLOG_RELEASE)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: errlog-test [-dsn DSN] [-debug-url URL] [-timeout 30s]")
		fmt.Fprintln(stderr, "Sends one test event to the tracker and reports whether it was accepted.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*dsn == "" && *debugURL == "") {
		if *dsn == "" && *debugURL == "" {
			fmt.Fprintln(stderr, "errlog-test: no DSN: set ERRLOG_DSN or pass -dsn")
		}
		fs.Usage()
		return 2
	}
	err := tracker.Test(context.Background(), tracker.Options{
		DSN: *dsn, DebugURL: *debugURL, Timeout: *timeout, Environment: *env, Release: *release,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Deployment logs keep what this prints: never the DSN's key, nor a
	// request bin's token.
	if *dsn != "" {
		where := wire.RedactURL(*dsn)
		if d, err := wire.ParseDSN(*dsn); err == nil {
			where = d.Redacted()
		}
		fmt.Fprintf(stdout, "ok: %s accepted the test event\n", where)
	}
	if *debugURL != "" {
		fmt.Fprintf(stdout, "ok: debug URL %s accepted the test event\n", wire.RedactURL(*debugURL))
	}
	return 0
}
