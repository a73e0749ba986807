package tracker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/internal/version"
	"github.com/errlog/errlog/wire"
)

// The tracker's HTTP side, as sentry-go splits Client from Transport:
// one target per destination (the DSN's envelope endpoint, the debug
// URL), each with its own delivery queue; the POST, its answers, rate
// limits and redirects; errors that never show the DSN key.

// trackerTarget is one destination: the DSN's envelope endpoint or the
// debug URL, each with its own queue so that a dead request bin cannot
// hold up real events.
type trackerTarget struct {
	name        string      // its queue's, as Stats and errors show it
	clock       clock.Clock // rate limits
	client      *http.Client
	onError     func(error)
	url         string
	where       string // url as messages show it, without a secret
	host        string // for messages, likewise
	hide        string // a host name messages must not show, if any
	auth        string // X-Sentry-Auth; "" for the debug URL
	contentType string
	gzip        bool // bodies may be gzip-compressed (envelopeBody)
	queue       *delivery.Queue

	// holdUntil (Unix nanoseconds) is when the tracker's last rate limit
	// ends: events wait for it without being sent, even when the limit
	// came with an accepted event.
	holdUntil atomic.Int64
	// failing is true from a temporary failure to the next success, so
	// that an outage is reported once, not at every retry. holding and
	// refused are the same for an accepted event's rate limit and for a
	// refusal of every event (the key, the project): each is reported
	// once, and neither hides the other, nor an outage.
	failing, holding, refused atomic.Bool
}

// newEnvelopeTarget posts to the DSN's envelope endpoint, whose URL holds
// no secret: the key travels in X-Sentry-Auth.
func newEnvelopeTarget(dsn *wire.DSN, client *http.Client, onError func(error), c clock.Clock) *trackerTarget {
	if c == nil {
		c = clock.Real()
	}
	return &trackerTarget{
		clock:       c,
		client:      client,
		onError:     onError,
		url:         dsn.EnvelopeURL(),
		where:       dsn.EnvelopeURL(),
		host:        dsn.Host,
		auth:        dsn.AuthHeader("errlog/" + version.Version),
		contentType: wire.ContentType,
		gzip:        true,
	}
}

// newDebugTarget posts to a debug URL. A request bin's URL is its
// credential, in the path or in the host: messages show neither.
func newDebugTarget(rawURL, host string, client *http.Client, onError func(error), c clock.Clock) *trackerTarget {
	if c == nil {
		c = clock.Real()
	}
	tt := &trackerTarget{
		clock:       c,
		client:      client,
		onError:     onError,
		url:         rawURL,
		where:       wire.RedactURL(rawURL),
		host:        wire.RedactHost(host),
		contentType: "application/json",
	}
	if name, _, err := net.SplitHostPort(host); err == nil {
		host = name
	}
	if r := wire.RedactHost(host); r != host {
		tt.hide = host
	}
	return tt
}

// envelopeBody returns the envelope of ev, whose JSON is payload, gzipped
// from gzipFrom bytes on: what the DSN's endpoint receives and the spool
// keeps.
func envelopeBody(ev *event.Event, payload []byte) ([]byte, error) {
	env, err := wire.NewEventEnvelope(ev.EventID, ev.SDK, payload).Encode()
	if err != nil {
		return nil, err
	}
	if len(env) < gzipFrom {
		return env, nil
	}
	return wire.Gzip(env), nil
}

// gzipFrom is the size from which envelopes are compressed, as Sentry's
// Node SDK does. A typical event's envelope is 3 KB: gzip saved 1.6 KB
// of it for 30 µs of CPU, the largest part of the cost of delivering it,
// and trackers take both.
const gzipFrom = 32 << 10

// isGzip reports whether body is gzip-compressed: bodies spooled by
// earlier versions all are.
func isGzip(body []byte) bool {
	return len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b
}

// trackerParallel is how many events a tracker sends at once while its
// queue is overwhelmed and the tracker answers well
// (delivery.Options.Parallel); otherwise it sends one at a time, in
// order. During a storm the application's goroutines keep the CPU busy,
// and Go's scheduler then notices a network answer only every 10 ms or
// more: one request at a time delivered 60–160 events a second,
// 16 at once 660–1,155 (bench's StormDelivery, with the caller's yield
// of handler.go's refuse). Trackers take events in any order, and a
// tracker that asks to slow down (429, 5xx, a rate limit) gets one
// request at a time again.
const trackerParallel = 16

func newTrackerClient(rt http.RoundTripper) *http.Client {
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = trackerParallel
		tr.IdleConnTimeout = settings.IdleTimeout
		rt = tr
	}
	return &http.Client{Transport: rt, CheckRedirect: checkRedirect}
}

// checkRedirect follows a redirect only to the same host (and port), and
// never from https to http: the request carries the whole event and the
// DSN's key in X-Sentry-Auth, which net/http would send on to any host
// (it strips only the standard credential headers). It follows only a
// redirect that keeps the POST and its body (307, 308): after a 301, 302
// or 303, net/http asks for the new address with a GET and no body, and
// that GET's 200 would be taken for the event's acknowledgement.
func checkRedirect(req *http.Request, via []*http.Request) error {
	from := via[0].URL
	if req.URL.Host != from.Host || (from.Scheme == "https" && req.URL.Scheme != "https") {
		return &redirectError{from: from.Scheme + "://" + from.Host, to: req.URL.Scheme + "://" + req.URL.Host}
	}
	if req.Method != via[0].Method {
		status := ""
		if req.Response != nil {
			status = req.Response.Status
		}
		return &redirectError{from: from.Scheme + "://" + from.Host + from.Path, to: req.URL.Scheme + "://" + req.URL.Host + req.URL.Path, status: status}
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// redirectError is a redirect the tracker refused to follow: to another
// host (status is empty), or one that would drop the event (status is
// the answer's).
type redirectError struct{ from, to, status string }

func (e *redirectError) Error() string {
	if e.status != "" {
		return "answered " + e.status + ", a redirect from " + e.from + " to " + e.to + " that would send the event on as a GET without it; not following it (fix the DSN or the proxy in front of the tracker: only 307 and 308 keep the event)"
	}
	return "redirected from " + e.from + " to " + e.to + "; not following it, so that the event and the DSN key stay with " + e.from + " (fix the DSN if the tracker moved)"
}

// errRateLimited is what a held event waits on.
var errRateLimited = errors.New("rate limited by the tracker")

// send is the queue's SendFunc: one POST, its answer mapped to the
// queue's retry rules.
func (tt *trackerTarget) send(ctx context.Context, it delivery.Item) error {
	if d := time.Unix(0, tt.holdUntil.Load()).Sub(tt.clock.Now()); d > 0 {
		return delivery.RetryAfter(d, errRateLimited)
	}
	res, err := tt.post(ctx, it.Body)
	if res.hold > 0 {
		tt.holdUntil.Store(tt.clock.Now().Add(res.hold).UnixNano())
	}
	var se *statusError
	switch {
	case err == nil:
		tt.failing.Store(false)
		tt.refused.Store(false)
		if res.hold <= 0 {
			tt.holding.Store(false)
		} else if !tt.holding.Swap(true) {
			// Accepted, but the next events must wait.
			tt.onError(fmt.Errorf("errlog: tracker: %s asks to hold events for %v; holding them", tt.host, res.hold))
		}
		return nil
	case errors.As(err, &se) && se.refusesAll():
		// Every event will be refused until the DSN or the tracker's
		// project is fixed: one report, and each drop counted.
		tt.failing.Store(false)
		if !tt.refused.Swap(true) {
			tt.onError(fmt.Errorf("errlog: tracker: %w; dropping events until it takes one again (check the DSN's key and project)", tt.redact(err)))
		}
		return delivery.PermanentReported(err)
	case errors.As(err, &se) && se.permanent():
		// The queue reports it, once, and drops the event; the tracker
		// itself is up.
		tt.failing.Store(false)
		return delivery.Permanent(err)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Close gave up on this send: not an outage. The queue counts
		// and reports what is left.
		return err
	}
	tt.report(fmt.Errorf("errlog: tracker: %w; holding events and retrying", tt.describe(err)))
	if res.hold > 0 {
		return delivery.RetryAfter(res.hold, err)
	}
	return err
}

// report reports the first failure of an outage.
func (tt *trackerTarget) report(err error) {
	if !tt.failing.Swap(true) {
		tt.onError(err)
	}
}

// postResult is what a POST's answer says beyond success or failure.
type postResult struct {
	// hold is how long the tracker asked to hold further events.
	hold time.Duration
}

// post sends body and reads the answer: nil for a 2xx answer read in
// full, a *statusError for any other status, the client's error for
// network failures and malformed or truncated answers.
func (tt *trackerTarget) post(ctx context.Context, body []byte) (postResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tt.url, bytes.NewReader(body))
	if err != nil {
		return postResult{}, delivery.Permanent(err)
	}
	req.Header.Set("Content-Type", tt.contentType)
	req.Header.Set("User-Agent", "errlog/"+version.Version)
	if tt.gzip && isGzip(body) {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if tt.auth != "" {
		req.Header.Set("X-Sentry-Auth", tt.auth)
	}
	resp, err := tt.client.Do(req)
	if err != nil {
		return postResult{}, tt.redact(err)
	}
	defer resp.Body.Close()
	// Read the answer to its end (bounded): a 2xx cut short is not an
	// acknowledgement, and a read body lets the connection be reused.
	_, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	res := postResult{hold: wire.RateLimit(resp.StatusCode, resp.Header, tt.clock.Now())}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, &statusError{
			url:         tt.where,
			code:        resp.StatusCode,
			status:      resp.Status,
			sentryError: resp.Header.Get("X-Sentry-Error"),
		}
	}
	if rerr != nil {
		return res, fmt.Errorf("%s answered %s but the answer was cut short: %w", tt.where, resp.Status, tt.redact(rerr))
	}
	return res, nil
}

// describe is describeSendError for this target, redacted.
func (tt *trackerTarget) describe(err error) error {
	return tt.redact(describeSendError(tt.host, err))
}

// redact keeps the target's secrets out of err's text, keeping err's
// chain for errors.Is and errors.As: net/http's *url.Error repeats the
// whole URL, and errors from below it (DNS, TLS) the host name.
func (tt *trackerTarget) redact(err error) error {
	if ue, ok := err.(*url.Error); ok { // describeSendError names the host
		err = ue.Err
	}
	if tt.hide != "" && strings.Contains(err.Error(), tt.hide) {
		err = &redactedError{msg: strings.ReplaceAll(err.Error(), tt.hide, wire.RedactHost(tt.hide)), err: err}
	}
	return err
}

// redactedError is an error whose text was cleaned of a secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// statusError is a non-2xx answer.
type statusError struct {
	url         string // as messages show it
	code        int
	status      string // "400 Bad Request"
	sentryError string // X-Sentry-Error: the tracker's reason
}

func (e *statusError) Error() string {
	s := e.url + " answered " + e.status
	if e.sentryError != "" {
		s += ": " + e.sentryError
	}
	return s
}

// permanent reports whether retrying cannot help: a 4xx answer other than
// 408 (timeout) and 429 (rate limit).
func (e *statusError) permanent() bool {
	return e.code >= 400 && e.code < 500 && e.code != http.StatusRequestTimeout && e.code != http.StatusTooManyRequests
}

// refusesAll reports whether the answer refuses the DSN rather than the
// event: its key (401, 403: unknown, revoked, or its project disabled) or
// its project id (404).
func (e *statusError) refusesAll() bool {
	return e.code == http.StatusUnauthorized || e.code == http.StatusForbidden || e.code == http.StatusNotFound
}

// checkDebugURL returns the host of a debug URL, or why it is not one.
func checkDebugURL(raw string) (host string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("DebugURL is not an http or https URL")
	}
	return u.Host, nil
}
