// Package trackertest is the tests' tracker: a server that plays errlogd
// or Sentry, and the helpers the tests of errlog and of its tracker share.
package trackertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/sentryschema"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/version"
	"github.com/errlog/errlog/wire"
	"github.com/errlog/errlog/wire/decode"
)

// Fake plays errlogd or Sentry: it checks the authentication,
// decompresses and decodes each envelope with the decoder errlogd uses,
// validates the events against the Sentry schema, and counts what it
// acknowledged, by event id.
type Fake struct {
	t   *testing.T
	srv *httptest.Server
	// fault, when set, may answer a request itself (an outage, a rate
	// limit); the event is then not acknowledged. n counts requests
	// from 1. It runs after the request was read and checked.
	fault atomic.Pointer[func(n int, w http.ResponseWriter, r *http.Request) bool]
	// Validate is how many events, at most, are checked against the
	// schema (it is slow under the race detector); -1 for all.
	validate int

	mu       sync.Mutex
	requests int
	acked    map[string]int
	events   []*event.Event // acknowledged, in order
	times    []time.Time    // of every request
	checked  int
}

func NewFake(t *testing.T) *Fake {
	f := &Fake{t: t, acked: map[string]int{}, validate: -1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

const Key = "0123abcd"

func (f *Fake) DSN() string {
	return strings.Replace(f.srv.URL, "http://", "http://"+Key+"@", 1) + "/42"
}

// SetValidate sets how many events, at most, are checked against the
// schema (it is slow under the race detector); -1 for all, the default.
func (f *Fake) SetValidate(n int) {
	f.mu.Lock()
	f.validate = n
	f.mu.Unlock()
}

// SetFault sets fn to answer requests itself (see Fake.fault).
func (f *Fake) SetFault(fn func(n int, w http.ResponseWriter, r *http.Request) bool) {
	f.fault.Store(&fn)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	n := f.requests
	f.times = append(f.times, time.Now())
	f.mu.Unlock()

	if r.Method != http.MethodPost || r.URL.Path != "/api/42/envelope/" {
		f.t.Errorf("request %s %s, want POST /api/42/envelope/", r.Method, r.URL.Path)
	}
	auth, err := decode.AuthFromRequest(r)
	if want := (decode.Auth{Version: "7", Client: "errlog/" + version.Version, Key: Key}); err != nil || auth != want {
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

func (f *Fake) Acked() []*event.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*event.Event(nil), f.events...)
}

func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// checkExactlyOnce fails unless every id was acknowledged exactly once,
// and nothing else was.
func (f *Fake) CheckExactlyOnce(t *testing.T, ids []string) {
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

// ErrLog collects what the tracker reports.
type ErrLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *ErrLog) Add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *ErrLog) Strings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, err := range l.errs {
		out = append(out, err.Error())
	}
	return out
}

// matching returns the reports that contain every one of subs.
func (l *ErrLog) Matching(subs ...string) []string {
	var out []string
outer:
	for _, s := range l.Strings() {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				continue outer
			}
		}
		out = append(out, s)
	}
	return out
}

func Flush(t *testing.T, s interface{ Flush(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// Event is an event of the kind the core builds: an exception chain
// with a stack, a request, a user, tags, extras and contexts.
func Event(i int) *event.Event {
	frames := stack.Frames(callers())
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
		Modules:  map[string]string{"github.com/errlog/errlog": version.Version},
		SDK:      &event.SDK{Name: "errlog.go", Version: version.Version},
	}
}

func callers() []uintptr {
	var pcs [stack.Max]uintptr
	return pcs[:runtime.Callers(2, pcs[:])]
}

// WaitFor polls cond for up to 10 seconds.
func WaitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// DeadDSN returns a DSN whose port refuses connections.
func DeadDSN(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + Key + "@" + addr + "/42" // the Fake's project and key: a tracker down, then back elsewhere
}
