package errlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// addField is the one-line wrapper users write: it adds a field to every
// record, and knows nothing of errlog.
type addField struct{ slog.Handler }

func (w addField) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("wrapped", "yes"))
	return w.Handler.Handle(ctx, r)
}

// addFieldWrapper is addField that says what it wraps.
type addFieldWrapper struct{ addField }

func (w addFieldWrapper) ErrlogHandler() *Handler { return HandlerOf(w.addField.Handler) }

// setDefaultHandler makes h the default logger's handler for the test.
func setDefaultHandler(t *testing.T, h slog.Handler) {
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
}

// middlewareOptions turn on every setting Middleware takes from the
// Handler, each to a value other than its default.
func middlewareOptions(file io.Writer) Options {
	return Options{
		Console:        io.Discard,
		File:           &logfile.Options{Writer: file, Format: "%(levelname)s %(url)s %(message)s"},
		TrackedStatus:  []StatusRange{{404, 404}},
		Mask:           MaskOptions{Keys: []string{"pin"}},
		MaxBodyBytes:   16,
		ContextBuilder: ctxBuilder{},
		Repanic:        true,
	}
}

// middlewareApp is the application behind the middleware: /form reads
// its body and logs an error, /panic panics, anything else is a 404.
func middlewareApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/form", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		slog.ErrorContext(r.Context(), "form failed")
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("handler died") })
	return mux
}

const longForm = "a=0123456789&b=abcdefghijklmnopqrstuvwxyz"

func serveOne(mw http.Handler, method, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Tenant", "acme")
	rec := httptest.NewRecorder()
	mw.ServeHTTP(rec, req)
	return rec
}

// checkMiddlewareSettings drives mw (errlog's middleware in front of
// middlewareApp, with eh's settings from middlewareOptions) as a client
// would, and checks every setting it takes from eh: the tracked status,
// the masking of the URL in the file, MaxBodyBytes, the ContextBuilder
// and Repanic. reported checks that a report went through the handler
// that wraps eh.
func checkMiddlewareSettings(t *testing.T, eh *Handler, sink *captureSink, file *syncBuffer, mw http.Handler, reported func(t *testing.T, ev *event.Event)) {
	t.Helper()
	serveOne(mw, "GET", "/missing?pin=1234", "")
	serveOne(mw, "POST", "/form", longForm)
	assert.PanicsWithValue(t, "handler died", func() { serveOne(mw, "GET", "/panic", "") }, "Repanic")
	flush(t, eh)

	evs := sink.all()
	require.Len(t, evs, 3, "the 404, the logged error and the panic")
	byMessage := map[string]*event.Event{}
	for _, ev := range evs {
		byMessage[ev.Message()] = ev
	}
	notFound := byMessage["HTTP 404 Not Found"]
	require.NotNil(t, notFound, "TrackedStatus {404}: a 404 is one event")
	reported(t, notFound)
	assert.NotContains(t, file.String(), "1234", "Mask.Keys {pin}: the URL in the file is masked")
	assert.Contains(t, file.String(), "ERROR http://example.com/missing?pin="+DefaultMaskWith+" HTTP 404 Not Found")

	form := byMessage["form failed"]
	require.NotNil(t, form)
	reported(t, form)
	require.NotNil(t, form.Request)
	assert.NotContains(t, fmt.Sprint(form.Request.Data), "uvwxyz", "MaxBodyBytes 16: the body is cut")
	assert.Equal(t, "acme", form.Contexts["request context"]["tenant"], "the ContextBuilder ran")

	panicked := byMessage["panic: handler died"]
	require.NotNil(t, panicked, "messages: %v", byMessage)
	reported(t, panicked)
}

func wrappedField(t *testing.T, ev *event.Event) {
	assert.Equal(t, "yes", ev.Extra["wrapped"], "reported through the wrapper")
}

func TestMiddlewareSettingsThroughWrapper(t *testing.T) {
	t.Run("Handler.Middleware", func(t *testing.T) {
		file := &syncBuffer{}
		eh, _, _, sink := newTestHandler(t, middlewareOptions(file))
		setDefaultHandler(t, eh)
		checkMiddlewareSettings(t, eh, sink, file, eh.Middleware(middlewareApp()), func(*testing.T, *event.Event) {})
	})
	t.Run("one-line wrapper, MiddlewareWith", func(t *testing.T) {
		file := &syncBuffer{}
		eh, _, _, sink := newTestHandler(t, middlewareOptions(file))
		setDefaultHandler(t, addField{eh})
		mw := MiddlewareWith(MiddlewareOptions{Handler: eh})(middlewareApp())
		checkMiddlewareSettings(t, eh, sink, file, mw, wrappedField)
	})
	t.Run("HandlerWrapper, Middleware", func(t *testing.T) {
		file := &syncBuffer{}
		eh, _, _, sink := newTestHandler(t, middlewareOptions(file))
		setDefaultHandler(t, addFieldWrapper{addField{eh}})
		checkMiddlewareSettings(t, eh, sink, file, Middleware(middlewareApp()), wrappedField)
	})
	t.Run("settings in MiddlewareOptions", func(t *testing.T) {
		file := &syncBuffer{}
		o := middlewareOptions(file)
		o.TrackedStatus, o.MaxBodyBytes, o.ContextBuilder, o.Repanic = nil, 0, nil, false
		eh, _, _, sink := newTestHandler(t, o)
		setDefaultHandler(t, addField{eh})
		mw := MiddlewareWith(MiddlewareOptions{
			Handler:        eh,
			TrackedStatus:  []StatusRange{{404, 404}},
			MaxBodyBytes:   16,
			ContextBuilder: ctxBuilder{},
			Repanic:        true,
		})(middlewareApp())
		checkMiddlewareSettings(t, eh, sink, file, mw, wrappedField)
	})
}

// A wrapper that hides errlog's Handler from Middleware leaves the
// defaults in force, and Middleware says so, once, in the log.
func TestMiddlewareWarnsWhenHandlerHidden(t *testing.T) {
	file, console := &syncBuffer{}, &syncBuffer{}
	o := middlewareOptions(file)
	o.Console, o.NoColor = console, true
	eh, _, _, sink := newTestHandler(t, o)
	setDefaultHandler(t, addField{eh})
	mw := Middleware(middlewareApp())
	serveOne(mw, "GET", "/missing?pin=1234", "")
	serveOne(mw, "POST", "/form", longForm)
	assert.NotPanics(t, func() { serveOne(mw, "GET", "/panic", "") }, "Repanic is not seen")
	flush(t, eh)

	assert.Equal(t, 1, strings.Count(console.String(), "does not lead to an errlog Handler"), console.String())
	assert.Contains(t, console.String(), "errlog.MiddlewareWith")
	evs := sink.all()
	require.Len(t, evs, 2, "the logged error and the panic; 404 is not tracked by default")
	for _, ev := range evs {
		if ev.Message() == "form failed" {
			assert.Contains(t, fmt.Sprint(ev.Request.Data), "uvwxyz", "the default body limit")
			assert.Nil(t, ev.Contexts["request context"], "no ContextBuilder")
		}
	}
}

func TestHandlerOf(t *testing.T) {
	eh := NewHandler(Options{Console: io.Discard})
	defer eh.Close(context.Background())
	assert.Same(t, eh, HandlerOf(eh))
	assert.Same(t, eh, HandlerOf(addFieldWrapper{addField{eh}}))
	assert.Same(t, eh, HandlerOf(addFieldWrapper{addField{addFieldWrapper{addField{eh}}}}), "through nested wrappers")
	assert.Nil(t, HandlerOf(addField{eh}))
	assert.Nil(t, HandlerOf(slog.NewTextHandler(io.Discard, nil)))
	assert.Nil(t, HandlerOf(addFieldWrapper{addField{slog.NewTextHandler(io.Discard, nil)}}))
}

// Recover waits for the Handler behind a wrapper to deliver before the
// program dies: a sink that takes its time still has the event when
// Recover panics again.
func TestRecoverFlushesThroughWrapper(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*Handler) slog.Handler
	}{
		{"HandlerWrapper", func(eh *Handler) slog.Handler { return addFieldWrapper{addField{eh}} }},
		{"one-line wrapper", func(eh *Handler) slog.Handler { return addField{eh} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &delayedSink{}
			eh := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}})
			defer eh.Close(context.Background())
			setDefaultHandler(t, tc.wrap(eh))
			func() {
				defer func() { _ = recover() }()
				defer Recover(context.Background())
				panic("worker died")
			}()
			assert.Equal(t, 1, sink.delivered(), "delivered before Recover panicked again")
		})
	}
}

// Behind a wrapper that hides errlog's Handler, Recover flushes every
// open Handler at once: one whose sink hangs neither keeps the others
// from delivering nor Recover from returning within its two seconds.
func TestRecoverFlushesEveryHandlerAtOnce(t *testing.T) {
	hung := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&hangingSink{}}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_ = hung.Close(ctx)
	}()
	slog.New(hung).Error("stuck")
	sink := &flushedSink{}
	eh := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}})
	defer eh.Close(context.Background())
	setDefaultHandler(t, addField{eh})
	defer panicFlushTimeout.Store(panicFlushTimeout.Swap(int64(300 * time.Millisecond))) // 2 s in use
	start := time.Now()
	func() {
		defer func() { _ = recover() }()
		defer Recover(context.Background())
		panic("worker died")
	}()
	assert.Equal(t, 1, sink.delivered(), "delivered before Recover panicked again")
	assert.Less(t, time.Since(start), time.Second, "the bound is 300 ms")
}

// delayedSink delivers each event a little after it was handed over, on
// a goroutine of its own, and waits for that in Flush.
type delayedSink struct {
	captureSink
	pending sync.WaitGroup
}

func (s *delayedSink) Deliver(ev *event.Event) {
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		time.Sleep(20 * time.Millisecond)
		s.captureSink.Deliver(ev)
	}()
}

func (s *delayedSink) Flush(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.pending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *delayedSink) delivered() int { return len(s.all()) }

// flushedSink holds what it is given until Flush, as mail holds a digest:
// only a Flush with time left delivers.
type flushedSink struct {
	captureSink
	mu      sync.Mutex
	pending []*event.Event
}

func (s *flushedSink) Deliver(ev *event.Event) {
	s.mu.Lock()
	s.pending = append(s.pending, ev)
	s.mu.Unlock()
}

func (s *flushedSink) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, ev := range pending {
		s.captureSink.Deliver(ev)
	}
	return nil
}

func (s *flushedSink) delivered() int { return len(s.all()) }
