package tracker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/version"
	"github.com/errlog/errlog/wire"
)

// Test sends one test event to opts.DSN (and to opts.DebugURL, if set)
// and waits for the answer, as Flask-Exceptional's test() does: run it
// once after setting up a tracker, or from a deployment check (also as
// `go run github.com/errlog/errlog/cmd/errlog-test`). Debug mode does not
// apply; nothing is queued, retried or spooled. opts.Timeout (default
// 30s) and ctx bound the wait.
//
// The error, when there is one, names what failed: the DSN itself, DNS,
// the connection (refused, reset, timed out), TLS, authentication (401,
// 403: the DSN's key), a rate limit (429), or the tracker rejecting the
// event (another 4xx, with the tracker's X-Sentry-Error reason) or
// failing (5xx). It wraps the underlying error.
func Test(ctx context.Context, opts Options) error {
	if opts.DSN == "" && opts.DebugURL == "" {
		return errors.New("errlog: tracker: test: no DSN (set ERRLOG_DSN or tracker.Options.DSN)")
	}
	ctx, cancel := context.WithTimeout(ctx, delivery.SendTimeout(opts.Timeout))
	defer cancel()
	client := newTrackerClient(opts.Transport)
	defer client.CloseIdleConnections()

	ev := testEvent(opts)
	payload, err := encodeEvent(ev)
	if err != nil {
		return fmt.Errorf("errlog: tracker: test: %w", err)
	}
	var dsn *wire.DSN
	if opts.DSN != "" {
		if dsn, err = wire.ParseDSN(opts.DSN); err != nil {
			return fmt.Errorf("errlog: tracker: test: %w", err)
		}
	}
	var debugHost string
	if opts.DebugURL != "" {
		if debugHost, err = checkDebugURL(opts.DebugURL); err != nil {
			return fmt.Errorf("errlog: tracker: test: %w", err)
		}
	}
	var errs []error
	if dsn != nil {
		body, err := envelopeBody(ev, payload)
		if err != nil {
			return fmt.Errorf("errlog: tracker: test: %w", err)
		}
		tt := newEnvelopeTarget(dsn, client, nil, nil)
		if _, err := tt.post(ctx, body); err != nil {
			errs = append(errs, fmt.Errorf("errlog: tracker: test: %w", tt.describe(err)))
		}
	}
	if opts.DebugURL != "" {
		tt := newDebugTarget(opts.DebugURL, debugHost, client, nil, nil)
		if _, err := tt.post(ctx, payload); err != nil {
			errs = append(errs, fmt.Errorf("errlog: tracker: test: debug URL: %w", tt.describe(err)))
		}
	}
	return errors.Join(errs...)
}

// testEvent is what Test sends: an error event with the caller's stack,
// so that the tracker shows it as it will show real ones.
func testEvent(opts Options) *event.Event {
	var pcs [stack.Max]uintptr
	n := runtime.Callers(3, pcs[:]) // Test's caller
	server := opts.ServerName
	if server == "" {
		server, _ = os.Hostname()
	}
	return &event.Event{
		EventID:     event.NewID(),
		Timestamp:   time.Now(),
		Level:       event.LevelError,
		Logger:      "errlog.test",
		Platform:    "go",
		Logentry:    &event.Logentry{Formatted: "errlog test event: this application's errors reach this tracker"},
		Exception:   []event.Exception{{Type: "errlog.TestEvent", Value: "a test event sent by tracker.Test", Stacktrace: &event.Stacktrace{Frames: stack.Frames(pcs[:n])}}},
		Tags:        map[string]string{"errlog.test": "true"},
		Environment: opts.Environment,
		Release:     opts.Release,
		ServerName:  server,
		SDK:         &event.SDK{Name: "errlog.go", Version: version.Version},
	}
}

// describeSendError says in words what a failed POST to host ran into,
// wrapping err.
func describeSendError(host string, err error) error {
	var (
		se       *statusError
		dnsErr   *net.DNSError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		verErr   *tls.CertificateVerificationError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		certErr  x509.CertificateInvalidError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &se):
		switch {
		case se.code == 401 || se.code == 403:
			return fmt.Errorf("authentication failed (check the DSN's key): %w", err)
		case se.code == 429:
			return fmt.Errorf("rate limited: %w", err)
		case se.code >= 500:
			return fmt.Errorf("tracker error: %w", err)
		case se.code >= 400:
			return fmt.Errorf("event rejected: %w", err)
		}
		return fmt.Errorf("unexpected answer: %w", err)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("DNS: cannot resolve %q: %w", dnsErr.Name, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connection refused by %s (is the tracker running?): %w", host, err)
	case errors.As(err, &recErr), errors.As(err, &alertErr), errors.As(err, &verErr),
		errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &certErr):
		return fmt.Errorf("TLS handshake with %s failed: %w", host, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("timeout: no answer from %s in time: %w", host, err)
	case isMalformedResponse(err):
		return fmt.Errorf("malformed answer from %s (is it an HTTP server?): %w", host, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("connection: %s closed the connection before answering in full: %w", host, err)
	}
	return fmt.Errorf("connection to %s failed: %w", host, err)
}

// isMalformedResponse reports whether err is net/http's complaint about a
// response it could not parse. net/http has no error type for it, only
// these texts, stable since Go 1.0.
func isMalformedResponse(err error) bool {
	s := err.Error()
	return strings.Contains(s, "malformed HTTP") || strings.Contains(s, "malformed MIME header")
}
