package tracker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/sentryschema"
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/wire/decode"
)

// newTrkTracker returns a tracker with fast retries that reports to log
// and is closed when the test ends.
func newTrkTracker(t *testing.T, o Options, env settings.Shared) (*Tracker, *trackertest.ErrLog) {
	t.Helper()
	log := &trackertest.ErrLog{}
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
		env.OnError = log.Add
	}
	if env.Clock == nil {
		env.Clock = clock.Real()
	}
	if env.QueueSize == 0 {
		env.QueueSize = 1024
	}
	s, err := NewSink(o, env)
	if err != nil {
		t.Fatal(err)
	}
	tr := s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		tr.Close(ctx)
	})
	return tr, log
}

func TestTrackerDelivers(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	tr, log := newTrkTracker(t, Options{DSN: f.DSN()},
		settings.Shared{Environment: "production", Release: "v1.2.3", ServerName: "web-1"})
	var ids []string
	for i := 0; i < 5; i++ {
		ev := trackertest.Event(i)
		tr.Deliver(ev)
		ids = append(ids, ev.EventID)
	}
	trackertest.Flush(t, tr)
	f.CheckExactlyOnce(t, ids)
	got := f.Acked()
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
		if fr := ev.Frames(); fr[len(fr)-1].Function != "Event" {
			t.Errorf("innermost frame %+v, want trackertest.Event (frames caller to callee)", fr[len(fr)-1])
		}
	}
	if errs := log.Strings(); len(errs) > 0 {
		t.Errorf("reported: %q", errs)
	}
}

func TestTracker503ThenSuccess(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	f.SetFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n <= 3 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	tr, log := newTrkTracker(t, Options{DSN: f.DSN()}, settings.Shared{})
	ev := trackertest.Event(0)
	tr.Deliver(ev)
	trackertest.WaitFor(t, func() bool { return len(f.Acked()) == 1 })
	f.CheckExactlyOnce(t, []string{ev.EventID})
	if n := f.Requests(); n != 4 {
		t.Errorf("%d requests, want 4 (three 503s, one success)", n)
	}
	reports := log.Strings()
	if len(reports) != 1 || !strings.Contains(reports[0], "errlog: tracker: tracker error: ") || !strings.Contains(reports[0], "503 Service Unavailable") || !strings.Contains(reports[0], "retrying") {
		t.Errorf("reports %q, want one saying the tracker answered 503 and events are retried", reports)
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
			f := trackertest.NewFake(t)
			fake := clock.NewFake(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
			var limitedAt, nextAt atomic.Int64
			f.SetFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
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
			tr, log := newTrkTracker(t, Options{DSN: f.DSN()}, settings.Shared{Clock: fake})
			var ids []string
			for i := 0; i < 20; i++ {
				ev := trackertest.Event(i)
				tr.Deliver(ev)
				ids = append(ids, ev.EventID)
			}
			// The queue holds on a timer of the fake clock; just before
			// the limit ends, nothing more has been sent.
			if !fake.WaitTimers(1, 5*time.Second) {
				t.Fatal("the tracker did not wait after the rate limit")
			}
			// A Deliver still arriving wakes the worker, which re-arms its
			// timer: wait for the one at the end of the rate limit.
			end := time.Unix(0, limitedAt.Load()).Add(time.Second)
			var d []time.Time
			for wait := time.Now().Add(5 * time.Second); time.Now().Before(wait); time.Sleep(time.Millisecond) {
				if d = fake.Deadlines(); len(d) == 1 && d[0].Equal(end) {
					break
				}
			}
			if len(d) != 1 || !d[0].Equal(end) {
				t.Errorf("timers at %v, want one at the end of the rate limit", d)
			}
			fake.Advance(999 * time.Millisecond)
			early := f.Requests()
			if early != 1 {
				t.Errorf("%d requests before the rate limit ended, want 1", early)
			}
			fake.Advance(time.Millisecond)
			trackertest.WaitFor(t, func() bool { return len(f.Acked()) == len(ids) })
			f.CheckExactlyOnce(t, ids)
			requests := f.Requests()
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
			if r := log.Matching("errlog: tracker: "); len(r) != 1 {
				t.Errorf("reports %q, want one", log.Strings())
			}
		})
	}
}

func TestTrackerRejected(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	f.SetFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.Header().Set("X-Sentry-Error", "event_id: invalid value")
			http.Error(w, `{"detail":"invalid event"}`, http.StatusBadRequest)
			return true
		}
		return false
	})
	tr, log := newTrkTracker(t, Options{DSN: f.DSN()}, settings.Shared{})
	bad, good := trackertest.Event(0), trackertest.Event(1)
	tr.Deliver(bad)
	tr.Deliver(good)
	trackertest.Flush(t, tr)
	f.CheckExactlyOnce(t, []string{good.EventID})
	if n := f.Requests(); n != 2 {
		t.Errorf("%d requests, want 2: a 400 must not be retried", n)
	}
	reports := log.Strings()
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

	log := &trackertest.ErrLog{}
	s, err := NewSink(Options{DSN: dsn, Timeout: 100 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		settings.Shared{OnError: log.Add, Clock: clock.Real(), QueueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	s.Deliver(trackertest.Event(0))
	trackertest.WaitFor(t, func() bool { return hits.Load() >= 2 })
	if r := log.Matching("errlog: tracker: timeout: no answer from 127.0.0.1:"); len(r) != 1 {
		t.Errorf("reports %q, want one timeout", log.Strings())
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
	if r := log.Matching("1 undelivered items lost"); len(r) != 1 {
		t.Errorf("reports %q, want the lost event reported", log.Strings())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	trackertest.WaitFor(t, func() bool { return trkGoroutines() <= before })
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
			tr, log := newTrkTracker(t, Options{DSN: dsn}, settings.Shared{})
			ev := trackertest.Event(0)
			tr.Deliver(ev)
			trackertest.Flush(t, tr)
			if got := acked(); len(got) != 1 || got[0] != ev.EventID {
				t.Errorf("acknowledged %q, want [%s]", got, ev.EventID)
			}
			if r := log.Matching("errlog: tracker: ", tt.report, "retrying"); len(r) != 1 {
				t.Errorf("reports %q, want one containing %q", log.Strings(), tt.report)
			}
		})
	}
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
	s, err := NewSink(Options{DSN: args.DSN, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		settings.Shared{OnError: func(error) {}, Clock: clock.Real(), QueueSize: 1024, SpoolDir: args.Dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < args.N; i++ {
		ev := trackertest.Event(i)
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
	spec, _ := json.Marshal(map[string]any{"DSN": trackertest.DeadDSN(t), "Dir": dir, "N": n})
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
	f := trackertest.NewFake(t)
	tr, log := newTrkTracker(t, Options{DSN: f.DSN()}, settings.Shared{SpoolDir: dir})
	trackertest.WaitFor(t, func() bool { return len(f.Acked()) == n })
	trackertest.Flush(t, tr)
	f.CheckExactlyOnce(t, ids)
	for i, ev := range f.Acked() {
		if ev.EventID != ids[i] {
			t.Fatalf("event %d is %s, want %s: spool replayed out of order", i, ev.EventID, ids[i])
		}
	}
	if spooled, _ := delivery.Spooled(filepath.Join(dir, "tracker")); len(spooled) != 0 {
		t.Errorf("spool holds %q after delivery", spooled)
	}
	if r := log.Strings(); len(r) != 0 {
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
	f := trackertest.NewFake(t)
	f.SetValidate(20)
	var down atomic.Bool
	var failed atomic.Int32
	down.Store(true)
	f.SetFault(func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if down.Load() {
			failed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	tr, log := newTrkTracker(t, Options{DSN: f.DSN(), MaxBackoff: 20 * time.Millisecond}, settings.Shared{QueueSize: n})
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
	trackertest.WaitFor(t, func() bool { return failed.Load() >= 5 })
	down.Store(false)
	trackertest.Flush(t, tr)
	t.Logf("%d events delivered in %v", n, time.Since(start))
	f.CheckExactlyOnce(t, ids)
	for i, ev := range f.Acked() {
		if ev.EventID != ids[i] {
			t.Fatalf("event %d is %s, want %s: out of order", i, ev.EventID, ids[i])
		}
	}
	if r := log.Strings(); len(r) != 1 || !strings.Contains(r[0], "502 Bad Gateway") {
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
		f := trackertest.NewFake(t)
		tr, log := newTrkTracker(t, Options{DSN: f.DSN(), DebugURL: bin.URL + "/bin?x=1"}, settings.Shared{Debug: debug})
		ev := trackertest.Event(0)
		if id := tr.Send(ev); id != ev.EventID {
			t.Errorf("Send = %q, want %q", id, ev.EventID)
		}
		trackertest.Flush(t, tr)
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
		if n := len(f.Acked()); n != want {
			t.Errorf("debug %v: the DSN received %d events, want %d", debug, n, want)
		}
		if r := log.Strings(); len(r) != 0 {
			t.Errorf("reports %q", r)
		}
	}
}

func TestNewTrackerSinkOptions(t *testing.T) {
	t.Parallel()
	env := settings.Shared{OnError: func(error) {}, Clock: clock.Real(), QueueSize: 8}
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{}, "errlog: tracker: no DSN"},
		{Options{DSN: "https://sekrit@host"}, "errlog: tracker: DSN has no project id"},
		{Options{DSN: "ftp://k@host/1"}, "errlog: tracker: DSN must start with http:// or https://"},
		{Options{DSN: "https://k@host/1", SampleRate: 2}, "errlog: tracker: SampleRate 2"},
		{Options{DebugURL: "requestbin.example/x"}, "errlog: tracker: DebugURL is not an http or https URL"},
		{Options{DSN: "https://k@host/1", MinBackoff: time.Hour, MaxBackoff: time.Second}, "errlog: tracker: "},
	} {
		s, err := NewSink(tt.o, env)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || s != nil {
			t.Errorf("NewSink(%+v) = %v, %v; want an error starting %q", tt.o, s, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "sekrit") {
			t.Errorf("error %q repeats the DSN's key", err)
		}
	}
	// Debug mode without a debug URL: no tracker, and no complaint.
	debug := env
	debug.Debug = true
	if s, err := NewSink(Options{DSN: "https://k@host/1"}, debug); s != nil || err != nil {
		t.Errorf("debug mode: %v, %v; want nil, nil", s, err)
	}
	// A spool directory that cannot be created: reported, and the
	// tracker goes on in memory.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	log := &trackertest.ErrLog{}
	s, err := NewSink(Options{DSN: "https://k@host/1"}, settings.Shared{SpoolDir: file, Clock: clock.Real(), OnError: log.Add})
	if err != nil || s == nil {
		t.Fatalf("unusable spool: %v, %v; want a tracker in memory", s, err)
	}
	s.Close(context.Background())
	if r := log.Matching("errlog: tracker: spool: ", "keeping items in memory only"); len(r) != 1 {
		t.Errorf("unusable spool: reports %q", log.Strings())
	}
}

func TestTrackerSend(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	var seen atomic.Int32
	tr, log := newTrkTracker(t, Options{
		DSN:         f.DSN(),
		Environment: "staging",
		BeforeSend: func(ev *event.Event) *event.Event {
			seen.Add(1)
			if ev.Tags["drop"] == "yes" {
				return nil
			}
			return ev
		},
	}, settings.Shared{Environment: "production", Release: "v9", ServerName: "host-a"})

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
	trackertest.Flush(t, tr)
	got := f.Acked()
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
	if r := log.Strings(); len(r) != 0 {
		t.Errorf("reports %q", r)
	}
}

func TestTrackerSampleRate(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	f.SetValidate(0)
	tr, _ := newTrkTracker(t, Options{DSN: f.DSN(), SampleRate: 0.25}, settings.Shared{})
	sent := 0
	for i := 0; i < 400; i++ {
		if tr.Send(trackertest.Event(i)) != "" {
			sent++
		}
	}
	trackertest.Flush(t, tr)
	if sent < 50 || sent > 150 || len(f.Acked()) != sent {
		t.Errorf("SampleRate 0.25 sent %d of 400 (%d acknowledged)", sent, len(f.Acked()))
	}
}

func TestTest(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	if err := Test(context.Background(), Options{DSN: f.DSN(), Environment: "ci"}); err != nil {
		t.Fatalf("Test against a working tracker: %v", err)
	}
	got := f.Acked()
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
		{"refused", trackertest.DeadDSN(t), []string{"errlog: tracker: test: connection refused by 127.0.0.1:", "is the tracker running?"}, syscall.ECONNREFUSED},
		{"401", status(401, "invalid api key"), []string{"errlog: tracker: test: authentication failed (check the DSN's key): ", "401 Unauthorized: invalid api key"}, nil},
		{"403", status(403, ""), []string{"authentication failed", "403 Forbidden"}, nil},
		{"400", status(400, "invalid event: missing platform"), []string{"errlog: tracker: test: event rejected: ", "400 Bad Request: invalid event: missing platform"}, nil},
		{"413", status(413, ""), []string{"event rejected", "413 Request Entity Too Large"}, nil},
		{"429", status(429, ""), []string{"rate limited", "429 Too Many Requests"}, nil},
		{"500", status(500, ""), []string{"tracker error", "500 Internal Server Error"}, nil},
	} {
		o := Options{DSN: tt.dsn, Timeout: 5 * time.Second}
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
	err := Test(context.Background(), Options{DSN: strings.Replace(hang.URL, "http://", "http://k@", 1) + "/1", Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timeout: no answer from 127.0.0.1:") {
		t.Errorf("hanging tracker: %v", err)
	}

	// A TLS server whose certificate the default client does not trust.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	defer tlsSrv.Close()
	err = Test(context.Background(), Options{DSN: strings.Replace(tlsSrv.URL, "https://", "https://k@", 1) + "/1"})
	if err == nil || !strings.Contains(err.Error(), "TLS handshake with 127.0.0.1:") {
		t.Errorf("untrusted certificate: %v", err)
	}
	// Trusted through Transport, it works.
	ok := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	if err := Test(context.Background(), Options{DSN: strings.Replace(ok.URL, "https://", "https://k@", 1) + "/1", Transport: ok.Client().Transport}); err != nil {
		t.Errorf("trusted certificate: %v", err)
	}
}

// BenchmarkTrackerSend is the tracker's cost on errlog's delivery
// goroutine per event: JSON, envelope, gzip, enqueue.
func BenchmarkTrackerSend(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dsn := "http://k@" + ln.Addr().String() + "/1"
	ln.Close() // down: nothing is sent, the queue fills and drops
	tr, err := newTracker(Options{DSN: dsn, OnError: func(error) {}, QueueSize: 16}, settings.Shared{Clock: clock.Real()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		// Down and without a spool, the queue is lost: do not wait.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		tr.Close(ctx)
	}()
	ev := trackertest.Event(0)
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
	dead := strings.TrimSuffix(strings.Replace(trackertest.DeadDSN(t), "http://"+trackertest.Key+"@", "http://", 1), "/42")

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
		o     Options
		wants []string
	}{
		{"400", Options{DebugURL: bin.URL + "/" + secret + "/400?token=" + secret}, []string{"event rejected: " + bin.URL + "/… answered 400 Bad Request"}},
		{"cut short", Options{DebugURL: cutShortURL + "/" + secret}, []string{cutShortURL + "/… answered 200 OK but the answer was cut short"}},
		{"refused", Options{DebugURL: dead + "/" + secret}, []string{"connection refused by 127.0.0.1:"}},
		{"DNS", Options{DebugURL: "http://" + secret + ".bin.invalid/" + secret}, []string{"DNS: cannot resolve", "*.bin.invalid"}},
		{"DSN key", Options{DSN: strings.Replace(bin.URL, "http://", "http://"+secret+"@", 1) + "/401"}, []string{"authentication failed"}},
		{"DSN key, refused", Options{DSN: strings.Replace(dead, "http://", "http://"+secret+"@", 1) + "/1"}, []string{"connection refused"}},
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
	tr, log := newTrkTracker(t, Options{DebugURL: bin.URL + "/" + secret + "/503"}, settings.Shared{})
	tr.Send(trackertest.Event(0))
	trackertest.WaitFor(t, func() bool { return len(log.Strings()) > 0 })
	tr2, log2 := newTrkTracker(t, Options{DebugURL: bin.URL + "/" + secret + "/400"}, settings.Shared{})
	tr2.Send(trackertest.Event(1))
	trackertest.Flush(t, tr2)
	reports := append(log.Strings(), log2.Strings()...)
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

	tr, log := newTrkTracker(t, Options{DSN: dsn("1")}, settings.Shared{})
	tr.Send(trackertest.Event(1))
	trackertest.WaitFor(t, func() bool { return len(log.Strings()) > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := tr.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 undelivered items lost") {
		t.Errorf("Close: %v", err)
	}
	from, to := strings.TrimPrefix(srv.URL, "http://"), strings.TrimPrefix(other.URL, "http://")
	if r := log.Matching("redirected from http://"+from+" to http://"+to, "not following"); len(r) == 0 {
		t.Errorf("reports %q name neither host", log.Strings())
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}

	tr2, log2 := newTrkTracker(t, Options{DSN: dsn("2")}, settings.Shared{})
	tr2.Send(trackertest.Event(2))
	trackertest.Flush(t, tr2)
	if sameHost.Load() != 1 || len(log2.Strings()) != 0 {
		t.Errorf("same-host redirect: %d delivered, reports %q", sameHost.Load(), log2.Strings())
	}
}

// A 301, 302 or 303 makes net/http ask for the new address with a GET
// and no body: the tracker does not follow it, since that GET's 200
// would count the event as sent. It reports the redirect and keeps the
// event.
func TestTrackerRefusesRedirectThatDropsTheEvent(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var carried atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if b, _ := io.ReadAll(r.Body); len(b) > 0 && r.URL.Path == "/moved" {
					carried.Add(1)
				}
				if r.URL.Path == "/api/1/envelope/" {
					http.Redirect(w, r, "/moved", code)
				}
			}))
			defer srv.Close()
			tr, log := newTrkTracker(t, Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1"}, settings.Shared{})
			tr.Deliver(trackertest.Event(1))
			trackertest.WaitFor(t, func() bool { return len(log.Strings()) > 0 })
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if err := tr.Flush(ctx); err == nil {
				t.Error("Flush = nil: the event counted as delivered")
			}
			if st := tr.Stats()[0]; st.Sent != 0 || carried.Load() != 0 {
				t.Errorf("stats %+v, %d requests carried the event to /moved", st, carried.Load())
			}
			want := "answered " + strconv.Itoa(code) + " " + http.StatusText(code) + ", a redirect from " + srv.URL + "/api/1/envelope/ to " + srv.URL + "/moved"
			if len(log.Matching(want, "only 307 and 308 keep the event")) != 1 {
				t.Errorf("reports %q, want one with %q", log.Strings(), want)
			}
			if err := tr.Close(ctx); err == nil || !strings.Contains(err.Error(), "1 undelivered items lost") {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// A tracker that refuses the DSN (401, 403: its key; 404: its project)
// will refuse every event: that is one report, not one per event, and
// each dropped event is counted. Once it takes an event again, a later
// refusal is reported again.
func TestTrackerRefusedDSNReportedOnce(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			f := trackertest.NewFake(t)
			var refuse atomic.Bool
			refuse.Store(true)
			f.SetFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
				if !refuse.Load() {
					return false
				}
				w.Header().Set("X-Sentry-Error", "invalid api key")
				http.Error(w, `{"detail":"invalid api key"}`, code)
				return true
			})
			tr, log := newTrkTracker(t, Options{DSN: f.DSN()}, settings.Shared{})
			for i := 0; i < 20; i++ {
				tr.Deliver(trackertest.Event(i))
			}
			trackertest.Flush(t, tr)
			want := "answered " + strconv.Itoa(code) + " " + http.StatusText(code) + ": invalid api key; dropping events until it takes one again"
			assert.Len(t, log.Matching(want), 1, "reports %q", log.Strings())
			assert.Len(t, log.Strings(), 1, "reports %q", log.Strings())
			assert.EqualValues(t, 20, tr.Stats()[0].Dropped)

			refuse.Store(false)
			tr.Deliver(trackertest.Event(20))
			trackertest.Flush(t, tr)
			require.Len(t, f.Acked(), 1)
			refuse.Store(true)
			tr.Deliver(trackertest.Event(21))
			tr.Deliver(trackertest.Event(22))
			trackertest.Flush(t, tr)
			assert.Len(t, log.Matching(want), 2, "refused again after a success: reported again")
			assert.EqualValues(t, 22, tr.Stats()[0].Dropped)
		})
	}
}

// An event accepted with a rate limit is told once; it does not hide an
// outage that follows (it used to: the notice set the outage flag, and
// only a success without a limit cleared it).
func TestTrackerRateLimitedAcceptDoesNotHideOutage(t *testing.T) {
	var down atomic.Bool
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if n.Add(1) == 1 {
			w.Header().Set("X-Sentry-Rate-Limits", "1::organization")
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	tr, log := newTrkTracker(t, Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1"}, settings.Shared{Clock: clk})
	tr.Deliver(trackertest.Event(0))
	trackertest.Flush(t, tr)
	require.Len(t, log.Matching("asks to hold events for 1s"), 1, "reports %q", log.Strings())
	clk.Advance(2 * time.Second) // the limit ends
	down.Store(true)
	tr.Deliver(trackertest.Event(1))
	trackertest.WaitFor(t, func() bool { return len(log.Matching("503 Service Unavailable")) > 0 })
	assert.Len(t, log.Strings(), 2, "reports %q", log.Strings())
}

// A tracker that takes connections and never answers is one outage: it
// is reported once, and the queue says once that it moved an event behind
// the others, not once per event as each one times out in turn. Flush
// keeps its deadline.
func TestTrackerStalledIsOneOutage(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	tr, log := newTrkTracker(t, Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1", Timeout: 30 * time.Millisecond}, settings.Shared{})
	for i := 0; i < 8; i++ {
		tr.Deliver(trackertest.Event(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	require.Error(t, tr.Flush(ctx))
	assert.Less(t, time.Since(start), 2500*time.Millisecond)
	assert.Len(t, log.Matching("timeout: no answer from"), 1, "reports %q", log.Strings())
	assert.Len(t, log.Matching("timed out 3 times; sending the"), 1, "reports %q", log.Strings())
	assert.Len(t, log.Strings(), 2, "reports %q", log.Strings())
}

// Close stops the worker of each of the Tracker's queues (envelopes and
// debug URL), the only goroutines it starts: checked on the Tracker's
// own queues, not by counting the process's goroutines.
func TestTrackerCloseStopsItsWorkers(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	bin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer bin.Close()
	tr, _ := newTrkTracker(t, Options{DSN: f.DSN(), DebugURL: bin.URL + "/bin"}, settings.Shared{})
	tr.Deliver(trackertest.Event(0))
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
