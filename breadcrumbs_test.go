package errlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/logfile"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func crumbMessages(ev *event.Event) []string {
	var out []string
	for _, b := range ev.Breadcrumbs {
		out = append(out, b.Message)
	}
	return out
}

func crumbEvent(t *testing.T, evs []*event.Event, msg string) *event.Event {
	t.Helper()
	for _, ev := range evs {
		if ev.Message() == msg {
			return ev
		}
	}
	t.Fatalf("no event %q among %d", msg, len(evs))
	return nil
}

// Each request's events carry that request's records, oldest first; code
// without a scope gets the records logged without one. Records below the
// console level, at ErrorLevel, and logged after the error are not
// breadcrumbs.
func TestBreadcrumbsPerRequestScope(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	log := slog.New(h)
	inA, inB := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log.InfoContext(ctx, "a1", "step", 1)
		close(inA)
		<-inB // the two requests interleave
		log.DebugContext(ctx, "a-debug")
		log.WarnContext(ctx, "a2", "retry", true)
		log.ErrorContext(ctx, "a failed")
		log.InfoContext(ctx, "a after")
	})
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) {
		<-inA
		log.InfoContext(r.Context(), "b1")
		close(inB)
		log.ErrorContext(r.Context(), "b failed")
	})
	base := serve(t, h, mux)
	log.Info("p1") // no scope
	var wg sync.WaitGroup
	for _, p := range []string{"/a", "/b"} {
		wg.Add(1)
		go func(p string) {
			defer wg.Done()
			resp, err := http.Get(base + p)
			if assert.NoError(t, err) {
				resp.Body.Close()
			}
		}(p)
	}
	wg.Wait()
	log.Error("process failed")
	flush(t, h)

	evs := sink.all()
	a := crumbEvent(t, evs, "a failed")
	assert.Equal(t, []string{"a1", "a2"}, crumbMessages(a))
	require.Len(t, a.Breadcrumbs, 2)
	assert.Equal(t, event.Breadcrumb{Timestamp: a.Breadcrumbs[0].Timestamp, Type: "default", Category: "log",
		Level: event.LevelInfo, Message: "a1", Data: map[string]any{"step": int64(1)}}, a.Breadcrumbs[0])
	assert.Equal(t, event.LevelWarning, a.Breadcrumbs[1].Level)
	assert.False(t, a.Breadcrumbs[0].Timestamp.After(a.Breadcrumbs[1].Timestamp))
	assert.Equal(t, []string{"b1"}, crumbMessages(crumbEvent(t, evs, "b failed")))
	assert.Equal(t, []string{"p1"}, crumbMessages(crumbEvent(t, evs, "process failed")),
		"code without a scope gets the records logged without one")
}

// A scope made from another (a function adding extras, Middleware's own
// report of a tracked status) shares its trail.
func TestBreadcrumbsChildScopeSharesTheTrail(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	log := slog.New(h)
	ctx, _ := WithScope(context.Background())
	log.InfoContext(ctx, "loaded cart")
	child, cs := WithScope(ctx)
	cs.SetExtra("order", 7)
	log.InfoContext(child, "charging")
	log.ErrorContext(child, "charge failed")
	log.ErrorContext(ctx, "checkout failed")
	flush(t, h)
	evs := sink.all()
	assert.Equal(t, []string{"loaded cart", "charging"}, crumbMessages(crumbEvent(t, evs, "charge failed")))
	assert.Equal(t, []string{"loaded cart", "charging"}, crumbMessages(crumbEvent(t, evs, "checkout failed")))
}

// The ring keeps the last N records; Options.Breadcrumbs sets N, negative
// turns breadcrumbs off; BreadcrumbLevel sets the lowest level kept.
func TestBreadcrumbsBoundAndOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     Options
		first string // the oldest breadcrumb, "" for none
		n     int
	}{
		{"default", Options{}, "warn 70", 50},
		{"three", Options{Breadcrumbs: 3}, "info 117", 3},
		{"off", Options{Breadcrumbs: -1}, "", 0},
		{"warn and up", Options{BreadcrumbLevel: slog.LevelWarn}, "warn 0", 12},
		{"debug too", Options{BreadcrumbLevel: slog.LevelDebug, Breadcrumbs: 2}, "info 119", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			console := &syncBuffer{}
			tc.o.Console = console
			h, _, _, sink := newTestHandler(t, tc.o)
			log := slog.New(h)
			for i := 0; i < 120; i++ {
				if i%10 == 0 {
					log.Warn(fmt.Sprint("warn ", i))
					continue
				}
				log.Info(fmt.Sprint("info ", i))
			}
			log.Debug("debug last")
			log.Error("failed")
			flush(t, h)
			ev := sink.all()[0]
			msgs := crumbMessages(ev)
			require.Len(t, msgs, tc.n)
			if tc.n == 0 {
				assert.Nil(t, ev.Breadcrumbs)
				return
			}
			assert.Equal(t, tc.first, msgs[0])
			last := "info 119"
			if tc.name == "warn and up" {
				last = "warn 110"
			}
			if tc.name == "debug too" {
				last = "debug last"
				assert.Equal(t, event.LevelDebug, ev.Breadcrumbs[1].Level)
				assert.NotContains(t, console.String(), "debug last", "the console keeps its own level")
			}
			assert.Equal(t, last, msgs[len(msgs)-1])
		})
	}
}

// No event sink, no event: nothing is kept, and Enabled still stops
// records below every sink's level.
func TestBreadcrumbsNeedAnEventSink(t *testing.T) {
	h := NewHandler(Options{Console: io.Discard, File: &logfile.Options{Writer: io.Discard}, BreadcrumbLevel: slog.LevelDebug})
	defer h.Close(context.Background())
	slog.New(h).Info("x")
	assert.Equal(t, uint64(0), h.c.crumbs.total)
	assert.False(t, h.Enabled(context.Background(), slog.LevelDebug))
}

// Breadcrumbs are masked like everything else: secret keys, secrets inside
// structured values, everything under a secret group; long values cut.
func TestBreadcrumbsMasked(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	log := slog.New(h)
	cfg := map[string]any{"db": map[string]any{"host": "db1", "password": "pw-in-map"}}
	log.Info("login", "user", "ann", "password", "hunter2", "cfg", cfg, "note", strings.Repeat("x", 5000))
	log.WithGroup("credentials").Info("rotated", "key_id", "k-42")
	log.With("api_token", "tok-1", "logger", "auth").Info("token used")
	cfg["db"].(map[string]any)["host"] = "changed after logging"
	log.Error("failed")
	flush(t, h)
	ev := sink.all()[0]
	require.Len(t, ev.Breadcrumbs, 3)
	d := ev.Breadcrumbs[0].Data
	assert.Equal(t, "ann", d["user"])
	assert.Equal(t, mask, d["password"])
	assert.Equal(t, map[string]any{"db": map[string]any{"host": "db1", "password": mask}}, d["cfg"],
		"masked inside, and as it was when logged")
	assert.Less(t, len(d["note"].(string)), 1100, "a long value is cut")
	assert.Equal(t, map[string]any{"credentials.key_id": mask}, ev.Breadcrumbs[1].Data)
	assert.Equal(t, "auth", ev.Breadcrumbs[2].Category, "a logger attr is the category")
	assert.Equal(t, map[string]any{"api_token": mask}, ev.Breadcrumbs[2].Data)
}

// A breadcrumb's message is masked as an event's is: "password=hunter2"
// logged at WARN left the process in the next event's breadcrumbs, though
// the same text logged at ERROR is masked.
func TestBreadcrumbMessageMasked(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	log := slog.New(h)
	log.Warn("retrying login with password=hunter2")
	log.Error("login failed with password=hunter3")
	flush(t, h)
	ev := sink.all()[0]
	require.Len(t, ev.Breadcrumbs, 1)
	assert.Equal(t, "retrying login with password="+mask, ev.Breadcrumbs[0].Message)
	assert.Equal(t, "login failed with password="+mask, ev.Message())
}

// A record with more attrs than slog keeps inline is kept without a
// Clone: a wrapper that adds to its own copy afterwards changes nothing.
func TestBreadcrumbsManyAttrsKeptWithoutClone(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	log := slog.New(&addAfter{h})
	log.Info("seven", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "f", 6, "g", 7)
	log.Error("failed")
	flush(t, h)
	ev := sink.all()[0]
	require.Len(t, ev.Breadcrumbs, 1)
	assert.Len(t, ev.Breadcrumbs[0].Data, 7)
	assert.NotContains(t, ev.Breadcrumbs[0].Data, "late")
}

type addAfter struct{ *Handler }

func (w *addAfter) Handle(ctx context.Context, r slog.Record) error {
	err := w.Handler.Handle(ctx, r)
	r.AddAttrs(slog.Int("late", 1)) // into the shared overflow slice's spare room
	return err
}

// The ring keeps the last records. An event pinned when it was logged
// keeps its trail however many records come before it is built; one that
// found no free pin keeps what is still in the ring.
func TestCrumbRing(t *testing.T) {
	var g crumbRing
	add := func(from, to int) {
		for i := from; i <= to; i++ {
			r := slog.NewRecord(time.Time{}, slog.LevelInfo, fmt.Sprint(i), 0)
			g.add(&r, nil, 5)
		}
	}
	msgs := func(cs []crumb) (out []string) {
		for _, c := range cs {
			out = append(out, c.r.Message)
		}
		return out
	}
	seq, slot := g.pin()
	assert.Equal(t, 0, slot, "nothing to pin")
	assert.Nil(t, g.take(seq, slot, 5))
	add(1, 3)
	assert.Equal(t, []string{"1", "2", "3"}, msgs(g.take(3, 0, 5)))
	assert.Equal(t, []string{"2", "3"}, msgs(g.take(3, 0, 2)))
	add(4, 12)
	assert.Len(t, g.buf, 5, "bounded")
	assert.Equal(t, []string{"8", "9", "10", "11", "12"}, msgs(g.take(12, 0, 5)))
	assert.Equal(t, []string{"8", "9", "10"}, msgs(g.take(10, 0, 5)), "unpinned: 6 and 7 were overwritten since")

	seq, slot = g.pin() // an event logged after 12
	require.NotZero(t, slot)
	seq2, slot2 := g.pin() // and another
	add(13, 40)            // a burst before they are built
	assert.Equal(t, []string{"8", "9", "10", "11", "12"}, msgs(g.take(seq, slot, 5)), "the pinned trail survives the burst")
	assert.Equal(t, []string{"11", "12"}, msgs(g.take(seq2, slot2, 2)))
	assert.Equal(t, 0, g.npins, "taking unpins")

	for i := 0; i < crumbPins; i++ {
		g.pin()
	}
	_, slot = g.pin()
	assert.Equal(t, 0, slot, "every slot taken: no pin, no allocation")
}

// The trail reaches the tracker (a real HTTP one, checked against the
// Sentry schema) and both parts of the mail (a real SMTP server).
func TestBreadcrumbsInTrackerAndMail(t *testing.T) {
	trk := trackertest.NewFake(t)
	srv := startServer(t, serverOpts{})
	h := NewHandler(Options{
		Console:         io.Discard,
		Tracker:         &tracker.Options{DSN: trk.DSN(), MinBackoff: time.Millisecond},
		Mail:            &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}},
		OnDeliveryError: func(err error) { t.Logf("delivery error: %v", err) },
	})
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	log := slog.New(h)
	ctx, _ := WithScope(context.Background())
	log.InfoContext(ctx, "cart loaded", "items", 3)
	log.With("logger", "payments").WarnContext(ctx, "gateway slow", "latency", 1500*time.Millisecond, "password", "hunter2")
	log.ErrorContext(ctx, "payment failed")
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(c))

	evs := trk.Acked()
	require.Len(t, evs, 1)
	require.Len(t, evs[0].Breadcrumbs, 2)
	assert.Equal(t, "payments", evs[0].Breadcrumbs[1].Category)
	assert.Equal(t, "1.5s", evs[0].Breadcrumbs[1].Data["latency"])
	assert.Equal(t, mask, evs[0].Breadcrumbs[1].Data["password"])

	m := parseMail(t, srv.WaitMails(t, 1, 5*time.Second)[0].Data)
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	i := strings.Index(text, "Breadcrumbs (oldest first):\n")
	require.GreaterOrEqual(t, i, 0, text)
	lines := strings.SplitN(text[i:], "\n", 4)
	assert.Regexp(t, `^  \d\d:\d\d:\d\d\.\d{3} INFO cart loaded  items=3$`, lines[1])
	assert.Regexp(t, `^  \d\d:\d\d:\d\d\.\d{3} WARN \[payments\] gateway slow  latency=1.5s password=\*+$`, lines[2])
	mustContain(t, "HTML", m.HTML, "Breadcrumbs", "cart loaded", "[payments]", "gateway slow", "latency=1.5s")
	mustNotContain(t, "mail", text+m.HTML, "hunter2")
	assert.Less(t, strings.Index(m.HTML, "cart loaded"), strings.Index(m.HTML, "gateway slow"), "oldest first")
}

// Many goroutines log into one scope and into the process ring while
// events are built from them (run with -race).
func TestBreadcrumbsConcurrent(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, File: &logfile.Options{Writer: io.Discard}})
	log := slog.New(h)
	ctx, _ := WithScope(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				c := ctx
				if i%2 == 0 {
					c = context.Background()
				}
				log.InfoContext(c, "step", "g", g, "i", i, "m", map[string]int{"i": i})
				if i%50 == 49 {
					ec := ctx // odd goroutines report into the scope,
					if g%2 == 0 {
						ec = context.Background() // even ones without
					}
					log.ErrorContext(ec, "failed", "g", g)
				}
			}
		}(g)
	}
	wg.Wait()
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 16)
	for _, ev := range evs {
		// Each goroutine put 25 records into each ring before its first
		// error. The delivery goroutine lags far behind the loggers
		// under -race, but every event was pinned (8 per ring, of 16
		// pins), so none lost its trail.
		assert.GreaterOrEqual(t, len(ev.Breadcrumbs), 25)
		assert.LessOrEqual(t, len(ev.Breadcrumbs), 50)
	}
}

// BenchmarkCrumbAdd measures what keeping a breadcrumb adds to an INFO
// record (5 attrs) on top of the console and file work, which
// BenchmarkInfo measures whole: the ring's lock and the record's copy.
func BenchmarkCrumbAdd(b *testing.B) {
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&captureSink{}}})
	defer h.Close(context.Background())
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request served", 0)
	r.Add("user", "ann", "status", 200, "latency", 42*time.Millisecond, "ok", true, "path", "/api/orders")
	scoped, _ := WithScope(context.Background())
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"process", context.Background()}, {"scope", scoped}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				h.c.addCrumb(bc.ctx, h, &r)
			}
		})
	}
}
