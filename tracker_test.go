package errlog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/sentryschema"
	"github.com/errlog/errlog/wire"
	"github.com/errlog/errlog/wire/decode"
)

// trkFake plays errlogd or Sentry: it checks the authentication,
// decompresses and decodes each envelope with the decoder errlogd uses,
// validates the events against the Sentry schema, and counts what it
// acknowledged, by event id.
type trkFake struct {
	t   *testing.T
	srv *httptest.Server
	// fault, when set, may answer a request itself (an outage, a rate
	// limit); the event is then not acknowledged. n counts requests
	// from 1. It runs after the request was read and checked.
	fault atomic.Pointer[func(n int, w http.ResponseWriter, r *http.Request) bool]
	// validate is how many events, at most, are checked against the
	// schema (it is slow under the race detector); -1 for all.
	validate int

	mu       sync.Mutex
	requests int
	acked    map[string]int
	events   []*event.Event // acknowledged, in order
	times    []time.Time    // of every request
	checked  int
}

func newTrkFake(t *testing.T) *trkFake {
	f := &trkFake{t: t, acked: map[string]int{}, validate: -1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

const trkKey = "0123abcd"

func (f *trkFake) dsn() string {
	return strings.Replace(f.srv.URL, "http://", "http://"+trkKey+"@", 1) + "/42"
}

func (f *trkFake) setFault(fn func(n int, w http.ResponseWriter, r *http.Request) bool) {
	f.fault.Store(&fn)
}

func (f *trkFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	n := f.requests
	f.times = append(f.times, time.Now())
	f.mu.Unlock()

	if r.Method != http.MethodPost || r.URL.Path != "/api/42/envelope/" {
		f.t.Errorf("request %s %s, want POST /api/42/envelope/", r.Method, r.URL.Path)
	}
	auth, err := decode.AuthFromRequest(r)
	if want := (decode.Auth{Version: "7", Client: "errlog/" + Version, Key: trkKey}); err != nil || auth != want {
		f.t.Errorf("X-Sentry-Auth %q: %+v, %v; want %+v", r.Header.Get("X-Sentry-Auth"), auth, err, want)
		http.Error(w, "bad auth", http.StatusUnauthorized)
		return
	}
	if ct, ce := r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"); ct != wire.ContentType || ce != "" && ce != "gzip" {
		f.t.Errorf("Content-Type %q, Content-Encoding %q", ct, ce)
	}
	body, err := decode.Body(r.Body, r.Header.Get("Content-Encoding"), 10<<20)
	if err != nil {
		f.t.Errorf("body: %v", err)
		return
	}
	env, err := decode.Envelope(body)
	if err != nil {
		f.t.Errorf("envelope: %v\n%s", err, body)
		return
	}
	if len(env.Items) != 1 || env.Items[0].Header.Type != "event" || !strings.Contains(string(body), `"length":`) {
		f.t.Errorf("envelope items: %+v", env.Items)
		return
	}
	evs, err := decode.Events(env)
	if err != nil {
		f.t.Errorf("event: %v", err)
		return
	}
	ev := evs[0]
	if env.Header.EventID != ev.EventID || env.Header.SentAt != "" {
		f.t.Errorf("envelope header %+v for event %s", env.Header, ev.EventID)
	}
	f.mu.Lock()
	check := f.validate < 0 || f.checked < f.validate
	f.checked++
	f.mu.Unlock()
	if check {
		if err := sentryschema.Validate(env.Items[0].Payload); err != nil {
			f.t.Errorf("%v\n%s", err, env.Items[0].Payload)
		}
	}

	if fn := f.fault.Load(); fn != nil && (*fn)(n, w, r) {
		return
	}
	f.mu.Lock()
	f.acked[ev.EventID]++
	f.events = append(f.events, ev)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%q}`, ev.EventID)
}

func (f *trkFake) ackedEvents() []*event.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*event.Event(nil), f.events...)
}

func (f *trkFake) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// checkExactlyOnce fails unless every id was acknowledged exactly once,
// and nothing else was.
func (f *trkFake) checkExactlyOnce(t *testing.T, ids []string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	bad := 0
	for _, id := range ids {
		if n := f.acked[id]; n != 1 {
			if bad++; bad <= 5 {
				t.Errorf("event %s acknowledged %d times, want 1", id, n)
			}
		}
	}
	if len(f.acked) != len(ids) {
		t.Errorf("%d distinct events acknowledged, want %d", len(f.acked), len(ids))
	}
	if bad > 5 {
		t.Errorf("… and %d more", bad-5)
	}
}

// trkErrLog collects what the tracker reports.
type trkErrLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *trkErrLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *trkErrLog) strings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, err := range l.errs {
		out = append(out, err.Error())
	}
	return out
}

// matching returns the reports that contain every one of subs.
func (l *trkErrLog) matching(subs ...string) []string {
	var out []string
outer:
	for _, s := range l.strings() {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				continue outer
			}
		}
		out = append(out, s)
	}
	return out
}

// newTrkTracker returns a tracker with fast retries that reports to log
// and is closed when the test ends.
func newTrkTracker(t *testing.T, o TrackerOptions, env sinkEnv) (*Tracker, *trkErrLog) {
	t.Helper()
	log := &trkErrLog{}
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 20 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if env.OnError == nil {
		env.OnError = log.add
	}
	if env.Clock == nil {
		env.Clock = nowClock(time.Now)
	}
	if env.QueueSize == 0 {
		env.QueueSize = 1024
	}
	s, err := newTrackerSink(o, env)
	if err != nil {
		t.Fatal(err)
	}
	tr := s.(*Tracker)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		tr.Close(ctx)
	})
	return tr, log
}

func trkFlush(t *testing.T, s EventSink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// trkEvent is an event of the kind the core builds: an exception chain
// with a stack, a request, a user, tags, extras and contexts.
func trkEvent(i int) *event.Event {
	frames := framesOf(trkCallers())
	handled := true
	return &event.Event{
		EventID:   event.NewID(),
		Timestamp: time.Now(),
		Level:     event.LevelError,
		Logger:    "slog",
		Platform:  "go",
		Logentry:  &event.Logentry{Message: "request failed", Formatted: "request failed " + strconv.Itoa(i)},
		Exception: []event.Exception{
			{Type: "*errors.errorString", Value: "connection reset"},
			{Type: "*fmt.wrapError", Value: "loading user: connection reset", Stacktrace: &event.Stacktrace{Frames: frames},
				Mechanism: &event.Mechanism{Type: "slog", Handled: &handled}},
		},
		Request: &event.Request{URL: "https://example.com/users/7?x=1", Method: "GET", QueryString: "x=1",
			Headers: map[string]string{"User-Agent": "test"}, Cookies: map[string]string{"session": "**************"}},
		Contexts: map[string]map[string]any{"runtime": {"name": "go", "version": runtime.Version()}},
		Tags:     map[string]string{"i": strconv.Itoa(i)},
		Extra:    map[string]any{"attempt": i, "nested": map[string]any{"ok": true}},
		User:     &event.User{ID: "7", Email: "ann@example.com"},
		Modules:  map[string]string{"github.com/errlog/errlog": Version},
		SDK:      &event.SDK{Name: "errlog.go", Version: Version},
	}
}

func trkCallers() []uintptr {
	var pcs [maxFrames]uintptr
	return pcs[:runtime.Callers(2, pcs[:])]
}

func TestTrackerDelivers(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	tr, log := newTrkTracker(t, TrackerOptions{DSN: f.dsn()},
		sinkEnv{Environment: "production", Release: "v1.2.3", ServerName: "web-1"})
	var ids []string
	for i := 0; i < 5; i++ {
		ev := trkEvent(i)
		tr.Deliver(ev)
		ids = append(ids, ev.EventID)
	}
	trkFlush(t, tr)
	f.checkExactlyOnce(t, ids)
	got := f.ackedEvents()
	if len(got) != 5 {
		t.Fatalf("%d events", len(got))
	}
	for i, ev := range got {
		if ev.EventID != ids[i] {
			t.Errorf("event %d is %s, want %s: out of order", i, ev.EventID, ids[i])
		}
		if ev.Message() != "request failed "+strconv.Itoa(i) || len(ev.Exception) != 2 ||
			ev.Exception[1].Type != "*fmt.wrapError" || len(ev.Frames()) == 0 ||
			ev.Request.URL != "https://example.com/users/7?x=1" || ev.User.ID != "7" || ev.Tags["i"] != strconv.Itoa(i) ||
			ev.Environment != "production" || ev.Release != "v1.2.3" || ev.ServerName != "web-1" ||
			ev.Platform != "go" || ev.SDK.Name != "errlog.go" {
			t.Errorf("event %d arrived as %+v", i, ev)
		}
		if fr := ev.Frames(); fr[len(fr)-1].Function != "trkEvent" {
			t.Errorf("innermost frame %+v, want trkEvent (frames caller to callee)", fr[len(fr)-1])
		}
	}
	if errs := log.strings(); len(errs) > 0 {
		t.Errorf("reported: %q", errs)
	}
}

func TestTracker503ThenSuccess(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n <= 3 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	tr, log := newTrkTracker(t, TrackerOptions{DSN: f.dsn()}, sinkEnv{})
	ev := trkEvent(0)
	tr.Deliver(ev)
	trkWaitFor(t, func() bool { return len(f.ackedEvents()) == 1 })
	f.checkExactlyOnce(t, []string{ev.EventID})
	if n := f.requestCount(); n != 4 {
		t.Errorf("%d requests, want 4 (three 503s, one success)", n)
	}
	reports := log.strings()
	if len(reports) != 1 || !strings.Contains(reports[0], "errlog: tracker: tracker error: ") || !strings.Contains(reports[0], "503 Service Unavailable") || !strings.Contains(reports[0], "retrying") {
		t.Errorf("reports %q, want one saying the tracker answered 503 and events are retried", reports)
	}
}

// trkWaitFor polls cond for up to 10 seconds.
func trkWaitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTrackerRateLimits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		status int
		header http.Header
	}{
		{"429 Retry-After", 429, http.Header{"Retry-After": {"1"}}},
		{"429 X-Sentry-Rate-Limits", 429, http.Header{"X-Sentry-Rate-Limits": {"1:error;default:organization:quota"}}},
		// Accepted, but later events must wait.
		{"200 X-Sentry-Rate-Limits", 200, http.Header{"X-Sentry-Rate-Limits": {"1::project"}}},
	} {
		tt := tt
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newTrkFake(t)
			fake := clock.NewFake(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
			var limitedAt, nextAt atomic.Int64
			f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n == 2 {
					nextAt.Store(fake.Now().UnixNano())
				}
				if n != 1 {
					return false
				}
				limitedAt.Store(fake.Now().UnixNano())
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				if tt.status == 200 {
					return false // acknowledged, with the header
				}
				w.WriteHeader(tt.status)
				return true
			})
			tr, log := newTrkTracker(t, TrackerOptions{DSN: f.dsn()}, sinkEnv{Clock: fake})
			var ids []string
			for i := 0; i < 20; i++ {
				ev := trkEvent(i)
				tr.Deliver(ev)
				ids = append(ids, ev.EventID)
			}
			// The queue holds on a timer of the fake clock; just before
			// the limit ends, nothing more has been sent.
			if !fake.WaitTimers(1, 5*time.Second) {
				t.Fatal("the tracker did not wait after the rate limit")
			}
			if d := fake.Deadlines(); len(d) != 1 || !d[0].Equal(time.Unix(0, limitedAt.Load()).Add(time.Second)) {
				t.Errorf("timers at %v, want one at the end of the rate limit", d)
			}
			fake.Advance(999 * time.Millisecond)
			f.mu.Lock()
			early := f.requests
			f.mu.Unlock()
			if early != 1 {
				t.Errorf("%d requests before the rate limit ended, want 1", early)
			}
			fake.Advance(time.Millisecond)
			trkWaitFor(t, func() bool { return len(f.ackedEvents()) == len(ids) })
			f.checkExactlyOnce(t, ids)
			f.mu.Lock()
			requests := f.requests
			f.mu.Unlock()
			if gap := time.Duration(nextAt.Load() - limitedAt.Load()); gap < time.Second {
				t.Errorf("the request after the rate limit came %v later, want ≥ 1s", gap)
			}
			want := len(ids) + 1
			if tt.status == 200 {
				want = len(ids)
			}
			if requests != want {
				t.Errorf("%d requests, want %d: held events must not be sent", requests, want)
			}
			if r := log.matching("errlog: tracker: "); len(r) != 1 {
				t.Errorf("reports %q, want one", log.strings())
			}
		})
	}
}

func TestTrackerRejected(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.Header().Set("X-Sentry-Error", "event_id: invalid value")
			http.Error(w, `{"detail":"invalid event"}`, http.StatusBadRequest)
			return true
		}
		return false
	})
	tr, log := newTrkTracker(t, TrackerOptions{DSN: f.dsn()}, sinkEnv{})
	bad, good := trkEvent(0), trkEvent(1)
	tr.Deliver(bad)
	tr.Deliver(good)
	trkFlush(t, tr)
	f.checkExactlyOnce(t, []string{good.EventID})
	if n := f.requestCount(); n != 2 {
		t.Errorf("%d requests, want 2: a 400 must not be retried", n)
	}
	reports := log.strings()
	if len(reports) != 1 || !strings.HasPrefix(reports[0], "errlog: tracker: ") ||
		!strings.Contains(reports[0], bad.EventID) || !strings.Contains(reports[0], "400 Bad Request: event_id: invalid value") {
		t.Errorf("reports %q, want one naming the event, the 400 and X-Sentry-Error", reports)
	}
}

// trkGoroutines counts the goroutines a tracker starts: the queue
// workers and the HTTP client's connections.
func trkGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/delivery.(*Queue).run") || strings.Contains(g, "net/http.(*persistConn)") {
			n++
		}
	}
	return n
}

// TestTrackerHangingServer: a tracker that accepts connections and never
// answers. Each request times out; Close returns by its deadline and
// stops every goroutine the tracker started. Not parallel: it counts
// goroutines.
func TestTrackerHangingServer(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	dsn := strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1"
	// Earlier tests may have left idle connections of their own clients.
	before := trkGoroutines()

	log := &trkErrLog{}
	s, err := newTrackerSink(TrackerOptions{DSN: dsn, Timeout: 100 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		sinkEnv{OnError: log.add, Clock: nowClock(time.Now), QueueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	s.Deliver(trkEvent(0))
	trkWaitFor(t, func() bool { return hits.Load() >= 2 })
	if r := log.matching("errlog: tracker: timeout: no answer from 127.0.0.1:"); len(r) != 1 {
		t.Errorf("reports %q, want one timeout", log.strings())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Close(ctx)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a 300ms deadline", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline's error (an event was lost)", err)
	}
	if r := log.matching("1 undelivered items lost"); len(r) != 1 {
		t.Errorf("reports %q, want the lost event reported", log.strings())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	trkWaitFor(t, func() bool { return trkGoroutines() <= before })
}

// trkRawServer is a TCP server that speaks HTTP by hand, so that it can
// break the protocol: answer, for the first bad requests, with what
// garbage returns, and then with a proper 200.
func trkRawServer(t *testing.T, bad int, garbage func(n int) string) (dsn string, acked func() []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var ids []string
	n := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, err := decode.Body(req.Body, req.Header.Get("Content-Encoding"), 1<<20)
					if err != nil {
						t.Errorf("body: %v", err)
						return
					}
					mu.Lock()
					n++
					k := n
					mu.Unlock()
					if k <= bad {
						io.WriteString(c, garbage(k))
						return
					}
					env, err := decode.Envelope(body)
					if err != nil {
						t.Errorf("envelope: %v", err)
						return
					}
					mu.Lock()
					ids = append(ids, env.Header.EventID)
					mu.Unlock()
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
				}
			}()
		}
	}()
	return "http://k@" + ln.Addr().String() + "/1", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}

func TestTrackerBrokenResponses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		garbage func(n int) string
		report  string
	}{
		{"malformed status line", func(int) string { return "garbage\r\n\r\n" }, "malformed answer"},
		{"truncated status line", func(int) string { return "HTTP/1.1 20" }, "malformed answer"},
		{"closed without an answer", func(int) string { return "" }, "closed the connection"},
		{"closed mid-body", func(int) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"id\":"
		}, "cut short"},
		{"closed mid-headers", func(int) string { return "HTTP/1.1 200 OK\r\nContent-Le" }, "malformed answer"},
		{"binary", func(int) string { return "\x00\x01\x02\xff\r\n\r\n" }, "malformed answer"},
	} {
		tt := tt
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn, acked := trkRawServer(t, 2, tt.garbage)
			tr, log := newTrkTracker(t, TrackerOptions{DSN: dsn}, sinkEnv{})
			ev := trkEvent(0)
			tr.Deliver(ev)
			trkFlush(t, tr)
			if got := acked(); len(got) != 1 || got[0] != ev.EventID {
				t.Errorf("acknowledged %q, want [%s]", got, ev.EventID)
			}
			if r := log.matching("errlog: tracker: ", tt.report, "retrying"); len(r) != 1 {
				t.Errorf("reports %q, want one containing %q", log.strings(), tt.report)
			}
		})
	}
}

// trkDeadDSN returns a DSN whose port refuses connections.
func trkDeadDSN(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://k@" + addr + "/42"
}

const trkSpoolChildEnv = "ERRLOG_TEST_TRACKER_SPOOL_CHILD"

// TestTrackerSpoolChild is the first process of TestTrackerSpoolAcrossProcesses:
// it logs events while the tracker is down and exits without closing.
func TestTrackerSpoolChild(t *testing.T) {
	spec := os.Getenv(trkSpoolChildEnv)
	if spec == "" {
		t.Skip("run by TestTrackerSpoolAcrossProcesses")
	}
	var args struct {
		DSN, Dir string
		N        int
	}
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	s, err := newTrackerSink(TrackerOptions{DSN: args.DSN, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		sinkEnv{OnError: func(error) {}, Clock: nowClock(time.Now), QueueSize: 1024, SpoolDir: args.Dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < args.N; i++ {
		ev := trkEvent(i)
		s.Deliver(ev)
		fmt.Println("event", ev.EventID)
	}
	// Every event is on disk (written ahead); Flush keeps trying until
	// its deadline, then says so. The tracker is down.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Flush(ctx); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d items not delivered yet (kept in the spool)", args.N)) {
		t.Fatalf("Flush with the tracker down: %v", err)
	}
	os.Exit(0) // no Close: the process just ends
}

func TestTrackerSpoolAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 50
	spec, _ := json.Marshal(map[string]any{"DSN": trkDeadDSN(t), "Dir": dir, "N": n})
	cmd := exec.Command(os.Args[0], "-test.run=^TestTrackerSpoolChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), trkSpoolChildEnv+"="+string(spec))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("first process: %v\n%s", err, out)
	}
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		if id, ok := strings.CutPrefix(line, "event "); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) != n {
		t.Fatalf("first process logged %d events, want %d:\n%s", len(ids), n, out)
	}
	if spooled, _ := delivery.Spooled(filepath.Join(dir, "tracker")); len(spooled) != n {
		t.Fatalf("%d events spooled after the first process, want %d", len(spooled), n)
	}

	// The second process finds the tracker up.
	f := newTrkFake(t)
	tr, log := newTrkTracker(t, TrackerOptions{DSN: f.dsn()}, sinkEnv{SpoolDir: dir})
	trkWaitFor(t, func() bool { return len(f.ackedEvents()) == n })
	trkFlush(t, tr)
	f.checkExactlyOnce(t, ids)
	for i, ev := range f.ackedEvents() {
		if ev.EventID != ids[i] {
			t.Fatalf("event %d is %s, want %s: spool replayed out of order", i, ev.EventID, ids[i])
		}
	}
	if spooled, _ := delivery.Spooled(filepath.Join(dir, "tracker")); len(spooled) != 0 {
		t.Errorf("spool holds %q after delivery", spooled)
	}
	if r := log.strings(); len(r) != 0 {
		t.Errorf("reports %q", r)
	}
}

// TestTrackerOutage10000 sends 10,000 events while the tracker answers
// 502, then brings it back: each arrives exactly once, in order. (Memory
// queue: the spool's part is TestTrackerSpoolAcrossProcesses; 10,000
// fsyncs would not fit the time budget.) Under -race it sends 2,000: the
// time is the race detector's cost of 10,000 HTTP round trips (1.6 s
// without it, 18 s with it), not a timer a fake clock could skip.
func TestTrackerOutage10000(t *testing.T) {
	t.Parallel()
	n := 10000
	if raceDetector {
		n = 2000
	}
	f := newTrkFake(t)
	f.validate = 20
	var down atomic.Bool
	var failed atomic.Int32
	down.Store(true)
	f.setFault(func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if down.Load() {
			failed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	tr, log := newTrkTracker(t, TrackerOptions{DSN: f.dsn(), MaxBackoff: 20 * time.Millisecond}, sinkEnv{QueueSize: n})
	ids := make([]string, n)
	start := time.Now()
	for i := range ids {
		// Small events: this is about delivery, not encoding, and the
		// race detector makes encoding slow.
		ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Formatted: "outage"}}
		ids[i] = ev.EventID
		if tr.Send(ev) == "" {
			t.Fatalf("event %d not queued", i)
		}
	}
	t.Logf("queued in %v", time.Since(start))
	trkWaitFor(t, func() bool { return failed.Load() >= 5 })
	down.Store(false)
	trkFlush(t, tr)
	t.Logf("%d events delivered in %v", n, time.Since(start))
	f.checkExactlyOnce(t, ids)
	for i, ev := range f.ackedEvents() {
		if ev.EventID != ids[i] {
			t.Fatalf("event %d is %s, want %s: out of order", i, ev.EventID, ids[i])
		}
	}
	if r := log.strings(); len(r) != 1 || !strings.Contains(r[0], "502 Bad Gateway") {
		t.Errorf("reports %q, want one for the outage", r)
	}
}

func TestTrackerDebugURL(t *testing.T) {
	t.Parallel()
	type got struct {
		contentType, encoding, auth string
		ev                          event.Event
	}
	var mu sync.Mutex
	var posts []got
	bin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		if err := sentryschema.Validate(b); err != nil {
			t.Errorf("debug URL: %v", err)
		}
		var g got
		if err := json.Unmarshal(b, &g.ev); err != nil {
			t.Errorf("debug URL body is not a JSON event: %v\n%q", err, b)
		}
		g.contentType, g.encoding, g.auth = r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), r.Header.Get("X-Sentry-Auth")
		mu.Lock()
		posts = append(posts, g)
		mu.Unlock()
	}))
	defer bin.Close()

	for _, debug := range []bool{true, false} {
		mu.Lock()
		posts = nil
		mu.Unlock()
		f := newTrkFake(t)
		tr, log := newTrkTracker(t, TrackerOptions{DSN: f.dsn(), DebugURL: bin.URL + "/bin?x=1"}, sinkEnv{Debug: debug})
		ev := trkEvent(0)
		if id := tr.Send(ev); id != ev.EventID {
			t.Errorf("Send = %q, want %q", id, ev.EventID)
		}
		trkFlush(t, tr)
		mu.Lock()
		if len(posts) != 1 || posts[0].ev.EventID != ev.EventID || posts[0].contentType != "application/json" ||
			posts[0].encoding != "" || posts[0].auth != "" || posts[0].ev.Message() != "request failed 0" {
			t.Errorf("debug %v: debug URL received %+v", debug, posts)
		}
		mu.Unlock()
		want := 1
		if debug {
			want = 0
		}
		if n := len(f.ackedEvents()); n != want {
			t.Errorf("debug %v: the DSN received %d events, want %d", debug, n, want)
		}
		if r := log.strings(); len(r) != 0 {
			t.Errorf("reports %q", r)
		}
	}
}

func TestNewTrackerSinkOptions(t *testing.T) {
	t.Parallel()
	env := sinkEnv{OnError: func(error) {}, Clock: nowClock(time.Now), QueueSize: 8}
	for _, tt := range []struct {
		o    TrackerOptions
		want string
	}{
		{TrackerOptions{}, "errlog: tracker: no DSN"},
		{TrackerOptions{DSN: "https://sekrit@host"}, "errlog: tracker: DSN has no project id"},
		{TrackerOptions{DSN: "ftp://k@host/1"}, `errlog: tracker: DSN scheme must be "http" or "https"`},
		{TrackerOptions{DSN: "https://k@host/1", SampleRate: 2}, "errlog: tracker: SampleRate 2"},
		{TrackerOptions{DebugURL: "requestbin.example/x"}, "errlog: tracker: DebugURL is not an http or https URL"},
		{TrackerOptions{DSN: "https://k@host/1", MinBackoff: time.Hour, MaxBackoff: time.Second}, "errlog: tracker: "},
	} {
		s, err := newTrackerSink(tt.o, env)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || s != nil {
			t.Errorf("newTrackerSink(%+v) = %v, %v; want an error starting %q", tt.o, s, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "sekrit") {
			t.Errorf("error %q repeats the DSN's key", err)
		}
	}
	// Debug mode without a debug URL: no tracker, and no complaint.
	debug := env
	debug.Debug = true
	if s, err := newTrackerSink(TrackerOptions{DSN: "https://k@host/1"}, debug); s != nil || err != nil {
		t.Errorf("debug mode: %v, %v; want nil, nil", s, err)
	}
	// A spool directory that cannot be created.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := newTrackerSink(TrackerOptions{DSN: "https://k@host/1"}, sinkEnv{SpoolDir: file, Clock: nowClock(time.Now)}); err == nil || !strings.HasPrefix(err.Error(), "errlog: tracker: ") {
		t.Errorf("unusable spool: %v", err)
	}
}

func TestTrackerSend(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	var seen atomic.Int32
	tr, log := newTrkTracker(t, TrackerOptions{
		DSN:         f.dsn(),
		Environment: "staging",
		BeforeSend: func(ev *event.Event) *event.Event {
			seen.Add(1)
			if ev.Tags["drop"] == "yes" {
				return nil
			}
			return ev
		},
	}, sinkEnv{Environment: "production", Release: "v9", ServerName: "host-a"})

	// A bare event gets an id, a timestamp, platform and sdk; the
	// tracker's environment wins, the defaults fill the rest.
	bare := &event.Event{Logentry: &event.Logentry{Formatted: "published"}, Extra: map[string]any{"ch": make(chan int), "nan": math.NaN(), "ok": 1}}
	id := tr.Send(bare)
	if len(id) != 32 || bare.EventID != "" || bare.Environment != "" {
		t.Errorf("Send = %q and the event became %+v: it must not be modified", id, bare)
	}
	if tr.Send(&event.Event{Tags: map[string]string{"drop": "yes"}}) != "" {
		t.Error("an event BeforeSend dropped was queued")
	}
	if tr.Send(nil) != "" {
		t.Error("Send(nil) queued something")
	}
	trkFlush(t, tr)
	got := f.ackedEvents()
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	ev := got[0]
	if ev.EventID != id || ev.Timestamp.IsZero() || ev.Platform != "go" || ev.SDK == nil || ev.Environment != "staging" ||
		ev.Release != "v9" || ev.ServerName != "host-a" || ev.Message() != "published" {
		t.Errorf("sent %+v", ev)
	}
	if ev.Extra["ch"] == nil || ev.Extra["nan"] != "NaN" || ev.Extra["ok"] != 1.0 {
		t.Errorf("extra %v: a value JSON cannot encode must be sent as text, the rest as is", ev.Extra)
	}
	if seen.Load() != 2 {
		t.Errorf("BeforeSend saw %d events, want 2", seen.Load())
	}
	if r := log.strings(); len(r) != 0 {
		t.Errorf("reports %q", r)
	}
}

// TestSendEvent is not parallel: SendEvent reaches every open tracker,
// those of parallel tests too.
func TestSendEvent(t *testing.T) {
	f := newTrkFake(t)
	tr, _ := newTrkTracker(t, TrackerOptions{DSN: f.dsn()}, sinkEnv{})
	f2 := newTrkFake(t)
	tr2, _ := newTrkTracker(t, TrackerOptions{DSN: f2.dsn()}, sinkEnv{})
	id := SendEvent(&event.Event{Logentry: &event.Logentry{Formatted: "to all"}})
	trkFlush(t, tr)
	trkFlush(t, tr2)
	if len(id) != 32 || len(f.ackedEvents()) != 1 || len(f2.ackedEvents()) != 1 || f2.ackedEvents()[0].EventID != id || f.ackedEvents()[0].EventID != id {
		t.Errorf("SendEvent = %q; trackers received %d and %d events", id, len(f.ackedEvents()), len(f2.ackedEvents()))
	}
	tr.Close(context.Background())
	tr2.Close(context.Background())
	tr2.Close(context.Background())
	if tr2.Send(trkEvent(0)) != "" {
		t.Error("Send after Close queued an event")
	}
	if id := SendEvent(&event.Event{Logentry: &event.Logentry{Formatted: "to none"}}); id != "" {
		t.Errorf("SendEvent with every tracker closed = %q", id)
	}
}

func TestTrackerSampleRate(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	f.validate = 0
	tr, _ := newTrkTracker(t, TrackerOptions{DSN: f.dsn(), SampleRate: 0.25}, sinkEnv{})
	sent := 0
	for i := 0; i < 400; i++ {
		if tr.Send(trkEvent(i)) != "" {
			sent++
		}
	}
	trkFlush(t, tr)
	if sent < 50 || sent > 150 || len(f.ackedEvents()) != sent {
		t.Errorf("SampleRate 0.25 sent %d of 400 (%d acknowledged)", sent, len(f.ackedEvents()))
	}
}

func TestTest(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	if err := Test(context.Background(), TrackerOptions{DSN: f.dsn(), Environment: "ci"}); err != nil {
		t.Fatalf("Test against a working tracker: %v", err)
	}
	got := f.ackedEvents()
	if len(got) != 1 || got[0].Tags["errlog.test"] != "true" || got[0].Environment != "ci" || len(got[0].Frames()) == 0 {
		t.Errorf("test event %+v", got)
	}

	status := func(code int, sentryError string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if sentryError != "" {
				w.Header().Set("X-Sentry-Error", sentryError)
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(srv.Close)
		return strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1"
	}
	for _, tt := range []struct {
		name string
		dsn  string
		want []string
		is   error
	}{
		{"no DSN", "", []string{"errlog: tracker: test: no DSN"}, nil},
		{"bad DSN", "https://host/1", []string{"errlog: tracker: test: DSN has no public key"}, nil},
		{"bad debug URL", "", []string{"errlog: tracker: test: DebugURL is not an http or https URL"}, nil},
		{"DNS", "https://k@no-such-host.invalid/1", []string{"errlog: tracker: test: DNS: cannot resolve \"no-such-host.invalid\""}, nil},
		{"refused", trkDeadDSN(t), []string{"errlog: tracker: test: connection refused by 127.0.0.1:", "is the tracker running?"}, syscall.ECONNREFUSED},
		{"401", status(401, "invalid api key"), []string{"errlog: tracker: test: authentication failed (check the DSN's key): ", "401 Unauthorized: invalid api key"}, nil},
		{"403", status(403, ""), []string{"authentication failed", "403 Forbidden"}, nil},
		{"400", status(400, "invalid event: missing platform"), []string{"errlog: tracker: test: event rejected: ", "400 Bad Request: invalid event: missing platform"}, nil},
		{"413", status(413, ""), []string{"event rejected", "413 Request Entity Too Large"}, nil},
		{"429", status(429, ""), []string{"rate limited", "429 Too Many Requests"}, nil},
		{"500", status(500, ""), []string{"tracker error", "500 Internal Server Error"}, nil},
	} {
		o := TrackerOptions{DSN: tt.dsn, Timeout: 5 * time.Second}
		if tt.name == "bad debug URL" {
			o.DebugURL = "ftp://bin/"
		}
		err := Test(context.Background(), o)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tt.name, err, w)
			}
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: %v does not wrap %v", tt.name, err, tt.is)
		}
	}
}

func TestTestTimeoutAndTLS(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	err := Test(context.Background(), TrackerOptions{DSN: strings.Replace(hang.URL, "http://", "http://k@", 1) + "/1", Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timeout: no answer from 127.0.0.1:") {
		t.Errorf("hanging tracker: %v", err)
	}

	// A TLS server whose certificate the default client does not trust.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	defer tlsSrv.Close()
	err = Test(context.Background(), TrackerOptions{DSN: strings.Replace(tlsSrv.URL, "https://", "https://k@", 1) + "/1"})
	if err == nil || !strings.Contains(err.Error(), "TLS handshake with 127.0.0.1:") {
		t.Errorf("untrusted certificate: %v", err)
	}
	// Trusted through Transport, it works.
	ok := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	if err := Test(context.Background(), TrackerOptions{DSN: strings.Replace(ok.URL, "https://", "https://k@", 1) + "/1", Transport: ok.Client().Transport}); err != nil {
		t.Errorf("trusted certificate: %v", err)
	}
}

// TestTrackerThroughHandler goes end to end: slog.ErrorContext in an HTTP
// handler behind the middleware, through New's chain, to the tracker, as
// an application uses it.
func TestTrackerThroughHandler(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	log := &trkErrLog{}
	h := NewHandler(Options{
		Console:         io.Discard,
		Environment:     "production",
		Release:         "v2.0.0",
		OnDeliveryError: log.add,
		Tracker:         &TrackerOptions{DSN: f.dsn()},
	})
	defer h.Close(context.Background())
	logger := slog.New(h)

	bin := httptest.NewServer(h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, scope := WithScope(r.Context())
		scope.SetExtra("cart", 3)
		err := errors.Join(os.ErrNotExist, fmt.Errorf("charging: %w", os.ErrDeadlineExceeded))
		logger.ErrorContext(ctx, "checkout failed", "err", err, "password", "hunter2",
			slog.Group("user", "id", "7", "email", "ann@example.com"),
			slog.Group("tags", "region", "eu"))
		w.WriteHeader(http.StatusNoContent)
	})))
	defer bin.Close()
	resp, err := http.Get(bin.URL + "/checkout?step=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.ackedEvents()
	if len(got) != 1 {
		t.Fatalf("tracker received %d events, want 1; reports %q", len(got), log.strings())
	}
	ev := got[0]
	var types []string
	for _, ex := range ev.Exception {
		types = append(types, ex.Type)
	}
	if len(types) < 3 || types[len(types)-1] != "*errors.joinError" {
		t.Errorf("exception types %q, want the joined chain ending in *errors.joinError", types)
	}
	b, _ := json.Marshal(ev)
	switch {
	case ev.Message() != "checkout failed", ev.Level != event.LevelError:
		t.Errorf("message %q level %q", ev.Message(), ev.Level)
	case ev.Request == nil || !strings.HasSuffix(ev.Request.URL, "/checkout?step=2") && !strings.HasSuffix(ev.Request.URL, "/checkout"):
		t.Errorf("request %+v", ev.Request)
	case ev.User == nil || ev.User.ID != "7" || ev.User.Email != "ann@example.com":
		t.Errorf("user %+v", ev.User)
	case ev.Tags["region"] != "eu":
		t.Errorf("tags %v", ev.Tags)
	case ev.Extra["cart"] != 3.0:
		t.Errorf("extra %v", ev.Extra)
	case ev.Environment != "production" || ev.Release != "v2.0.0" || ev.ServerName == "" || ev.SDK == nil || ev.Platform != "go":
		t.Errorf("environment %q release %q server %q sdk %v", ev.Environment, ev.Release, ev.ServerName, ev.SDK)
	case len(ev.Frames()) == 0:
		t.Error("no stack trace")
	case strings.Contains(string(b), "hunter2"):
		t.Errorf("the password reached the tracker: %s", b)
	}
	if r := log.strings(); len(r) != 0 {
		t.Errorf("reports %q", r)
	}
}

// BenchmarkTrackerSend is a Send the full queue of a down tracker
// refuses: counted, not encoded. An accepted event's cost is
// BenchmarkTrackerEncode's.
func BenchmarkTrackerSend(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dsn := "http://k@" + ln.Addr().String() + "/1"
	ln.Close() // down: nothing is sent, the queue fills and drops
	tr, err := newTracker(TrackerOptions{DSN: dsn, OnError: func(error) {}, QueueSize: 16}, sinkEnv{Clock: nowClock(time.Now)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		// Down and without a spool, the queue is lost: do not wait.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		tr.Close(ctx)
	}()
	ev := trkEvent(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Send(ev)
	}
}

// A request bin's URL is its credential, in the path or in the host, and
// a DSN's key is one: no error, from the tracker or from Test, shows them.
func TestTrackerErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const secret = "SECRETTOKEN"
	bin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch {
		case strings.HasSuffix(r.URL.Path, "/400"):
			w.WriteHeader(http.StatusBadRequest)
		case strings.Contains(r.URL.Path, "/401"):
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer bin.Close()
	cutShort, _ := trkRawServer(t, 1, func(int) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"id\":"
	})
	cutShortURL := strings.Replace(strings.TrimSuffix(cutShort, "/1"), "http://k@", "http://", 1)
	dead := strings.TrimSuffix(strings.Replace(trkDeadDSN(t), "http://k@", "http://", 1), "/42")

	noSecret := func(what, s string, wants ...string) {
		t.Helper()
		if strings.Contains(s, secret) || strings.Contains(s, strings.ToLower(secret)) {
			t.Errorf("%s shows the secret: %s", what, s)
		}
		for _, w := range wants {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %q does not say %q", what, s, w)
			}
		}
	}
	for _, tt := range []struct {
		name  string
		o     TrackerOptions
		wants []string
	}{
		{"400", TrackerOptions{DebugURL: bin.URL + "/" + secret + "/400?token=" + secret}, []string{"event rejected: " + bin.URL + "/… answered 400 Bad Request"}},
		{"cut short", TrackerOptions{DebugURL: cutShortURL + "/" + secret}, []string{cutShortURL + "/… answered 200 OK but the answer was cut short"}},
		{"refused", TrackerOptions{DebugURL: dead + "/" + secret}, []string{"connection refused by 127.0.0.1:"}},
		{"DNS", TrackerOptions{DebugURL: "http://" + secret + ".bin.invalid/" + secret}, []string{"DNS: cannot resolve", "*.bin.invalid"}},
		{"DSN key", TrackerOptions{DSN: strings.Replace(bin.URL, "http://", "http://"+secret+"@", 1) + "/401"}, []string{"authentication failed"}},
		{"DSN key, refused", TrackerOptions{DSN: strings.Replace(dead, "http://", "http://"+secret+"@", 1) + "/1"}, []string{"connection refused"}},
	} {
		tt.o.Timeout = 5 * time.Second
		err := Test(context.Background(), tt.o)
		if err == nil {
			t.Errorf("%s: Test succeeded", tt.name)
			continue
		}
		noSecret("Test, "+tt.name, err.Error(), tt.wants...)
	}

	// The same through the queue: the report of an outage and of a
	// rejected event.
	tr, log := newTrkTracker(t, TrackerOptions{DebugURL: bin.URL + "/" + secret + "/503"}, sinkEnv{})
	tr.Send(trkEvent(0))
	trkWaitFor(t, func() bool { return len(log.strings()) > 0 })
	tr2, log2 := newTrkTracker(t, TrackerOptions{DebugURL: bin.URL + "/" + secret + "/400"}, sinkEnv{})
	tr2.Send(trkEvent(1))
	trkFlush(t, tr2)
	reports := append(log.strings(), log2.strings()...)
	if len(reports) < 2 {
		t.Fatalf("reports %q, want an outage and a rejection", reports)
	}
	for _, r := range reports {
		noSecret("report", r, bin.URL+"/… answered")
	}
}

// The tracker does not follow a redirect to another host: that host would
// get the event and the DSN key. It reports it, naming both hosts, and
// keeps the event. A redirect on the same host is followed.
func TestTrackerRefusesRedirectToAnotherHost(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	defer other.Close()
	var sameHost atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/api/1/envelope/":
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		case "/api/2/envelope/":
			http.Redirect(w, r, "/moved/envelope/", http.StatusPermanentRedirect)
		case "/moved/envelope/":
			if !strings.Contains(r.Header.Get("X-Sentry-Auth"), "sentry_key=k") {
				t.Errorf("same-host redirect lost X-Sentry-Auth: %q", r.Header)
			}
			sameHost.Add(1)
		}
	}))
	defer srv.Close()
	dsn := func(project string) string {
		return strings.Replace(srv.URL, "http://", "http://k@", 1) + "/" + project
	}

	tr, log := newTrkTracker(t, TrackerOptions{DSN: dsn("1")}, sinkEnv{})
	tr.Send(trkEvent(1))
	trkWaitFor(t, func() bool { return len(log.strings()) > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := tr.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 undelivered items lost") {
		t.Errorf("Close: %v", err)
	}
	from, to := strings.TrimPrefix(srv.URL, "http://"), strings.TrimPrefix(other.URL, "http://")
	if r := log.matching("redirected from http://"+from+" to http://"+to, "not following"); len(r) == 0 {
		t.Errorf("reports %q name neither host", log.strings())
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}

	tr2, log2 := newTrkTracker(t, TrackerOptions{DSN: dsn("2")}, sinkEnv{})
	tr2.Send(trkEvent(2))
	trkFlush(t, tr2)
	if sameHost.Load() != 1 || len(log2.strings()) != 0 {
		t.Errorf("same-host redirect: %d delivered, reports %q", sameHost.Load(), log2.strings())
	}
}

// Close stops the worker of each of the Tracker's queues (envelopes and
// debug URL), the only goroutines it starts: checked on the Tracker's
// own queues, not by counting the process's goroutines.
func TestTrackerCloseStopsItsWorkers(t *testing.T) {
	t.Parallel()
	f := newTrkFake(t)
	bin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer bin.Close()
	tr, _ := newTrkTracker(t, TrackerOptions{DSN: f.dsn(), DebugURL: bin.URL + "/bin"}, sinkEnv{})
	tr.Deliver(trkEvent(0))
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]*trackerTarget{"envelopes": tr.envelopes, "debug": tr.debug} {
		if tt == nil {
			t.Fatalf("no %s target", name)
		}
		select {
		case <-tt.queue.Done():
		case <-time.After(2 * time.Second):
			t.Errorf("the %s queue's worker outlived Close", name)
		}
	}
}
