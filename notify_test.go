package errlog

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/wire"
)

// recordingNotifier is a Notifier and a Ticketer that remembers what it
// was told.
type recordingNotifier struct {
	mu      sync.Mutex
	evs     []*event.Event
	notices []*Notice
	fail    func(call int) error
}

func (r *recordingNotifier) Notify(ctx context.Context, ev *event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(len(r.evs) + 1); err != nil {
			r.evs = append(r.evs, nil)
			return err
		}
	}
	n, _ := NoticeFromContext(ctx)
	r.evs = append(r.evs, ev)
	r.notices = append(r.notices, n)
	return nil
}

func (r *recordingNotifier) RaiseTicket(ctx context.Context, ev *event.Event) error {
	return r.Notify(ctx, ev)
}

func (r *recordingNotifier) got() []*event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*event.Event(nil), r.evs...)
}

func (r *recordingNotifier) gotNotices() []*Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Notice(nil), r.notices...)
}

// hookServer is an httptest server that records the JSON posted to it and
// answers with status(call).
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	calls  int
	status func(call int) (int, http.Header)
}

func newHookServer(t *testing.T, status func(call int) (int, http.Header)) *hookServer {
	h := &hookServer{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.calls++
		call := h.calls
		code, hdr := http.StatusOK, http.Header(nil)
		if h.status != nil {
			code, hdr = h.status(call)
		}
		if code == http.StatusOK {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil || r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
				t.Errorf("webhook got %s %q: %v", r.Method, r.Header.Get("Content-Type"), err)
			}
			if r.Header.Get("X-Token") != "t0k" {
				t.Errorf("webhook header X-Token = %q", r.Header.Get("X-Token"))
			}
			h.bodies = append(h.bodies, m)
		}
		h.mu.Unlock()
		for k, vs := range hdr {
			w.Header()[k] = vs
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) posts() ([]map[string]any, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...), h.calls
}

func (h *hookServer) notifier() *WebhookNotifier {
	w := NewWebhookNotifier(h.URL + "/hooks/SECRET-PATH")
	w.Header = http.Header{"X-Token": {"t0k"}}
	return w
}

func TestWebhookNotifierThrottled(t *testing.T) {
	h := newHookServer(t, nil)
	s := newTestSink(t, nil, testEnv(&errRecorder{}), fast, []Notifier{h.notifier()}, nil)
	for i := 0; i < 100; i++ {
		s.Deliver(mailEvent("load failed"))
	}
	s.Deliver(mailEventN(1))
	flushSink(t, s)
	posts, _ := h.posts()
	if len(posts) != 3 {
		t.Fatalf("%d posts for 100 identical errors and one other, want 3", len(posts))
	}
	byKind := map[string][]map[string]any{}
	for _, p := range posts {
		byKind[p["kind"].(string)] = append(byKind[p["kind"].(string)], p)
	}
	if len(byKind["first"]) != 2 || len(byKind["digest"]) != 1 {
		t.Fatalf("kinds: %v", posts)
	}
	d := byKind["digest"][0]
	if d["count"].(float64) != 99 || d["total"].(float64) != 100 {
		t.Errorf("digest count %v total %v", d["count"], d["total"])
	}
	if text := d["text"].(string); !strings.HasPrefix(text, "[errlog] ERROR: load failed: ") || !strings.Contains(text, "… and 99 more times since ") {
		t.Errorf("digest text %q", text)
	}
	first := byKind["first"][0]
	if text := first["text"].(string); !strings.HasSuffix(text, "(config.go:42)") {
		t.Errorf("first text %q", text)
	}
	ev := first["event"].(map[string]any)
	if ev["event_id"] != first["event_id"] || ev["extra"].(map[string]any)["api_token"] != mask {
		t.Errorf("event in the payload: %v", ev)
	}
}

func TestWebhookNotifierReplies(t *testing.T) {
	h := newHookServer(t, func(call int) (int, http.Header) {
		switch call {
		case 1:
			return http.StatusServiceUnavailable, nil
		case 2:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"0"}}
		case 4:
			return http.StatusBadRequest, nil
		}
		return http.StatusOK, nil
	})
	rec := &errRecorder{}
	s := newTestSink(t, nil, testEnv(rec), fast, []Notifier{h.notifier()}, nil)
	s.Deliver(mailEventN(1)) // 503, 429, then 200
	flushSink(t, s)
	if posts, calls := h.posts(); len(posts) != 1 || calls != 3 {
		t.Fatalf("after 503 and 429: %d posts in %d calls", len(posts), calls)
	}
	s.Deliver(mailEventN(2)) // 400: given up at once
	flushSink(t, s)
	time.Sleep(100 * time.Millisecond)
	if _, calls := h.posts(); calls != 4 {
		t.Errorf("%d calls: a 400 was retried", calls)
	}
	errs := rec.matching("400")
	if len(errs) != 1 || !delivery.IsPermanent(errs[0]) {
		t.Errorf("the 400 was reported %d times: %v", len(errs), rec.all())
	}
	for _, err := range rec.all() {
		if strings.Contains(err.Error(), "SECRET-PATH") {
			t.Errorf("an error shows the webhook's secret path: %v", err)
		}
	}
}

func TestWebhookNotifierDirect(t *testing.T) {
	h := newHookServer(t, nil)
	// Called without errlog's throttle, as a plain Notifier.
	if err := h.notifier().Notify(context.Background(), mailEvent("boom")); err != nil {
		t.Fatal(err)
	}
	if posts, _ := h.posts(); len(posts) != 1 || posts[0]["kind"] != "first" {
		t.Fatalf("posts %v", posts)
	}
	w := NewWebhookNotifier("http://127.0.0.1:1/hooks/SECRET")
	err := w.Notify(context.Background(), mailEvent("boom"))
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.HasPrefix(err.Error(), "errlog: webhook: ") {
		t.Errorf("unreachable webhook: %v", err)
	}
}

// A 429 holds the notices for its Retry-After, read as the tracker reads
// it: a huge value is a long wait, not an overflowed, negative one.
func TestWebhookNotifierRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		header string
		want   time.Duration
	}{
		{"7", 7 * time.Second},
		{"9999999999999", 1e9 * time.Second},
		{"", wire.DefaultRetryAfter},
	} {
		h := newHookServer(t, func(int) (int, http.Header) {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {tt.header}}
		})
		err := h.notifier().Notify(context.Background(), mailEvent("boom"))
		if d, ok := delivery.RetryAfterDelay(err); !ok || d != tt.want {
			t.Errorf("Retry-After %q: %v, %v (%v); want %v", tt.header, d, ok, err, tt.want)
		}
	}
}

func TestNotifierSeesNotice(t *testing.T) {
	n := &recordingNotifier{}
	s := newTestSink(t, nil, testEnv(&errRecorder{}), capped(1), []Notifier{n}, nil)
	s.Deliver(mailEvent("boom"))
	s.Deliver(mailEvent("boom"))
	s.Deliver(mailEventN(1)) // over the cap of 1
	flushSink(t, s)
	if notices := n.gotNotices(); len(notices) != 1 {
		t.Fatalf("after Flush: notices %+v, want the first only: the cap is spent", notices)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	notices := n.gotNotices()
	if len(notices) != 2 || notices[0].Kind != NoticeFirst || notices[1].Kind != NoticeSummary || notices[1].Count != 2 {
		t.Fatalf("notices %+v", notices)
	}
	// A summary comes with an event of its own, for notifiers that do not
	// look at the Notice.
	if ev := n.got()[1]; ev.Level != event.LevelWarning || !strings.HasPrefix(ev.Message(), "2 more errors not notified") {
		t.Errorf("summary event %+v", ev)
	}
}

func TestNotifierGivesUp(t *testing.T) {
	n := &recordingNotifier{fail: func(int) error { return errors.New("pager down") }}
	ok := &recordingNotifier{}
	rec := &errRecorder{}
	s := newTestSink(t, nil, testEnv(rec), fast, []Notifier{n, ok}, nil)
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	if calls := len(n.got()); calls != 5 {
		t.Errorf("a failing notifier was called %d times, want 5", calls)
	}
	if errs := rec.matching("pager down"); len(errs) != 1 || !strings.Contains(errs[0].Error(), "giving up after 5 attempts") {
		t.Errorf("reports: %v", rec.all())
	}
	if len(ok.got()) != 1 {
		t.Error("one failing notifier held up the other")
	}
}

func TestTicketerFirstOfEachGroup(t *testing.T) {
	tk := &recordingNotifier{}
	fake := clock.NewFake(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
	env := testEnv(&errRecorder{})
	env.Clock = fake
	s := newTestSink(t, nil, env, fast, nil, []Ticketer{tk})
	s.Deliver(mailEvent("boom"))
	s.Deliver(mailEvent("boom"))
	s.Deliver(mailEventN(1))
	fake.Advance(2 * DefaultMailWindow) // the windows end; the groups are remembered
	s.Deliver(mailEvent("boom"))
	flushSink(t, s)
	got := tk.got()
	if len(got) != 2 || got[0].Message() != "boom" || got[1].Message() != "job 1 failed" {
		t.Fatalf("tickets for %d events, want one per group (2)", len(got))
	}
}

// A webhook's Retry-After date is read by the Handler's clock: an hour
// after the fake clock's time is an hour's hold, however far the system
// clock is from it.
func TestWebhookRetryAfterDateByTheClock(t *testing.T) {
	fake := clock.NewFake(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
	h := newHookServer(t, func(call int) (int, http.Header) {
		if call == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {fake.Now().Add(time.Hour).Format(http.TimeFormat)}}
		}
		return http.StatusOK, nil
	})
	env := testEnv(&errRecorder{})
	env.Clock = fake
	s := newTestSink(t, nil, env, fast, []Notifier{h.notifier()}, nil)
	s.Deliver(mailEventN(1))
	// The throttle's window timer, and the queue's hold.
	if !fake.WaitTimers(2, 5*time.Second) {
		t.Fatal("the webhook's queue did not hold after a 429")
	}
	if d := fake.Deadlines(); !d[len(d)-1].Equal(fake.Now().Add(time.Hour)) {
		t.Fatalf("timers at %v, want a hold until the Retry-After date %v", d, fake.Now().Add(time.Hour))
	}
	fake.Advance(59 * time.Minute)
	if _, calls := h.posts(); calls != 1 {
		t.Fatalf("%d calls before the Retry-After date", calls)
	}
	fake.Advance(time.Minute)
	flushSink(t, s)
	if posts, calls := h.posts(); len(posts) != 1 || calls != 2 {
		t.Errorf("after the Retry-After date: %d posts in %d calls", len(posts), calls)
	}
}

// A webhook alone, no mail: Options.Throttle paces it (the cap, the
// window, the retries) with no MailOptions at all.
func TestWebhookThrottleWithoutMail(t *testing.T) {
	h := newHookServer(t, func(call int) (int, http.Header) {
		if call == 1 {
			return http.StatusServiceUnavailable, nil // retried after MinBackoff
		}
		return http.StatusOK, nil
	})
	rec := &errRecorder{}
	handler := NewHandler(Options{Console: io.Discard, Notifiers: []Notifier{h.notifier()}, OnDeliveryError: rec.add,
		Throttle: ThrottleOptions{MaxPerHour: 2, Window: time.Hour, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}})
	for _, job := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		slog.New(handler).Error(job + " failed") // five groups
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := handler.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if posts, calls := h.posts(); len(posts) != 2 || calls != 3 {
		t.Fatalf("%d posts in %d calls, want the cap's 2 in 3 (the 503 retried): %v", len(posts), calls, posts)
	}
	if err := handler.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if posts, _ := h.posts(); len(posts) != 3 || posts[2]["kind"] != "summary" || posts[2]["count"] != float64(3) {
		t.Fatalf("at Close: %v, want the summary of 3", posts)
	}
}

// A repeat the hourly cap holds back, of a group whose window had closed,
// arms the timer: when the hour ends, what was held back is told without
// waiting for another error. Nothing armed it, so in a quiet program the
// summary waited for the next error after the hour, or for Close.
func TestHeldBackRepeatToldWhenTheHourEnds(t *testing.T) {
	fake := clock.NewFake(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
	env := testEnv(&errRecorder{})
	env.Clock = fake
	n := &recordingNotifier{}
	s := newTestSink(t, nil, env, capped(1), []Notifier{n}, nil)
	s.Deliver(mailEvent("boom"))                  // the hour's one notice
	fake.Advance(DefaultMailWindow + time.Minute) // the group's window closes, quietly
	require.Eventually(t, func() bool { return len(n.gotNotices()) == 1 }, 3*time.Second, 5*time.Millisecond)
	s.Deliver(mailEvent("boom")) // held back by the cap
	s.Deliver(mailEvent("boom"))
	fake.Advance(2 * time.Hour)
	require.Eventually(t, func() bool { return len(n.gotNotices()) >= 2 }, 3*time.Second, 5*time.Millisecond,
		"2 h after the cap held 2 errors back: %d notices", len(n.gotNotices()))
	got := n.gotNotices()
	assert.Equal(t, NoticeFirst, got[0].Kind)
	assert.NotEqual(t, NoticeFirst, got[1].Kind, "the held-back repeats are told as a digest or in the hour's summary")
}
