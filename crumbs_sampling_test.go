package errlog

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/tracker"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCrumbsMasked(t *testing.T) {
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}, BreadcrumbLevel: slog.LevelDebug})
	t.Cleanup(func() { h.Close(context.Background()) })
	l := slog.New(h)
	l.Info("connecting to postgres://app:pw-in-msg@db/prod", "password", "hunter2-attr", "dsn", "postgres://u:pw-in-dsn@h/db")
	l.With("token", "tok-with-attrs").Info("with attrs")
	l.WithGroup("db").Info("grouped", "password", "pw-in-group", "cfg", map[string]any{"api_key": "key-in-map"})
	l.Info("text", "note", "password=pw-in-text")
	l.Debug("debug line", "secret", "debug-secret")
	l.Info("authorization header", "headers", http.Header{"Authorization": {"Bearer bearer-tok"}})
	l.Error("then it failed")
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	b, _ := json.Marshal(evs[0].Breadcrumbs)
	t.Logf("%s", b)
	for _, s := range []string{"pw-in-msg", "hunter2-attr", "pw-in-dsn", "tok-with-attrs", "pw-in-group", "key-in-map", "pw-in-text", "debug-secret", "bearer-tok"} {
		assert.NotContains(t, string(b), s)
	}
}

func TestCrumbsPerRequest(t *testing.T) {
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}})
	t.Cleanup(func() { h.Close(context.Background()) })
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
	srv := httptest.NewServer(MiddlewareWith(MiddlewareOptions{Handler: h})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("n")
		for i := 0; i < 5; i++ {
			slog.InfoContext(r.Context(), "step of "+name)
		}
		Go(r.Context(), func(ctx context.Context) { slog.InfoContext(ctx, "bg of "+name) })
		slog.Info("no ctx of " + name)
		if name == "panic" {
			panic("boom " + name)
		}
		slog.ErrorContext(r.Context(), "fail of "+name)
	})))
	defer srv.Close()
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b", "c", "d", "panic"} {
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				resp, err := http.Get(srv.URL + "/?n=" + n)
				if err == nil {
					resp.Body.Close()
				}
			}
		}(n)
	}
	wg.Wait()
	flush(t, h)
	for _, ev := range sink.all() {
		name := strings.TrimPrefix(strings.TrimPrefix(ev.Message(), "fail of "), "panic: boom ")
		for _, c := range ev.Breadcrumbs {
			if strings.HasPrefix(c.Message, "no ctx of") {
				t.Errorf("%q: a crumb without the request's context: %q", ev.Message(), c.Message)
				continue
			}
			assert.True(t, strings.HasSuffix(c.Message, " "+name), "%q has crumb %q", ev.Message(), c.Message)
		}
		assert.LessOrEqual(t, len(ev.Breadcrumbs), 6, ev.Message())
	}
}

func TestSamplingRate(t *testing.T) {
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}, SampleRate: 0.25, QueueSize: 10000})
	t.Cleanup(func() { h.Close(context.Background()) })
	l := slog.New(h)
	const n = 4000
	for i := 0; i < n; i++ {
		l.Error("sampled", "i", i)
		if i%500 == 0 {
			flush(t, h)
		}
	}
	flush(t, h)
	got := len(sink.all())
	t.Logf("kept %d of %d, discarded %d, dropped %d", got, n, h.Discarded(), h.Dropped())
	assert.InDelta(t, n/4, got, 4*27)
	assert.EqualValues(t, n, uint64(got)+h.Discarded()+h.Dropped())
}

func TestRecoverHangingTracker(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	spool := t.TempDir()
	dsn := "http://key@" + strings.TrimPrefix(srv.URL, "http://") + "/1"
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, Tracker: &tracker.Options{DSN: dsn}})
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(prev)
	start := time.Now()
	func() {
		defer func() { recover() }()
		defer Recover(context.Background())
		panic("boom while the tracker hangs")
	}()
	el := time.Since(start)
	t.Logf("Recover took %v", el)
	assert.Less(t, el, 2400*time.Millisecond)
}
