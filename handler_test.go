package errlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/testutil"
	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureSink is an EventSink that keeps what it is given.
type captureSink struct {
	mu      sync.Mutex
	events  []*event.Event
	flushes int
	closed  int
}

func (s *captureSink) Deliver(ev *event.Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
}

func (s *captureSink) Flush(context.Context) error {
	s.mu.Lock()
	s.flushes++
	s.mu.Unlock()
	return nil
}

func (s *captureSink) Close(context.Context) error {
	s.mu.Lock()
	s.closed++
	s.mu.Unlock()
	return nil
}

func (s *captureSink) all() []*event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*event.Event(nil), s.events...)
}

// newTestHandler returns a Handler whose console and file write to
// buffers (no colour) and whose events reach the returned sink.
func newTestHandler(t *testing.T, o Options) (*Handler, *syncBuffer, *syncBuffer, *captureSink) {
	t.Helper()
	console, file := &syncBuffer{}, &syncBuffer{}
	sink := &captureSink{}
	if o.Console == nil {
		o.Console = console
	}
	if o.File == nil {
		o.File = &logfile.Options{Writer: file}
	}
	o.Sinks = append(o.Sinks, sink)
	if o.OnDeliveryError == nil {
		o.OnDeliveryError = func(err error) { t.Logf("delivery error: %v", err) }
	}
	if o.SourceContext == SourceDefault {
		// These tests check exact output, and hold as literals the
		// secrets they check are masked: source lines would show them.
		o.SourceContext = SourceOff
	}
	h := NewHandler(o)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h, console, file, sink
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer = testutil.SyncBuffer

func flush(t *testing.T, h *Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(ctx))
}

func TestHandlerFansOutByLevel(t *testing.T) {
	h, console, file, sink := newTestHandler(t, Options{})
	log := slog.New(h)
	log.Debug("debug line")
	log.Info("info line", "k", 1)
	log.Warn("warn line")
	log.Error("error line", "err", errors.New("boom"))
	flush(t, h)

	c := console.String()
	assert.NotContains(t, c, "debug line")
	assert.Contains(t, c, "INF info line k=1")
	assert.Contains(t, c, "WRN warn line")
	assert.Contains(t, c, "ERR error line err=boom")
	assert.Contains(t, c, "errlog.TestHandlerFansOutByLevel", "the stack is printed under an error on the console")
	assert.NotContains(t, c, "\x1b[", "no colour when the console is not a terminal")

	f := file.String()
	assert.NotContains(t, f, "info line", "the file's default level is WARN")
	assert.Contains(t, f, "WARNING: warn line [in ")
	assert.Contains(t, f, "ERROR: error line [in ")
	assert.Contains(t, f, "handler_test.go:")

	evs := sink.all()
	require.Len(t, evs, 1, "only ERROR records become events")
	ev := evs[0]
	assert.Equal(t, event.LevelError, ev.Level)
	assert.Equal(t, "error line", ev.Message())
	require.Len(t, ev.Exception, 1)
	assert.Equal(t, "*errors.errorString", ev.Exception[0].Type)
	assert.Equal(t, "boom", ev.Exception[0].Value)
	frames := ev.Frames()
	require.NotEmpty(t, frames)
	last := frames[len(frames)-1]
	assert.Equal(t, "TestHandlerFansOutByLevel", last.Function, "the innermost frame is the logging call")
	assert.Equal(t, "github.com/errlog/errlog", last.Module)
	assert.True(t, last.InApp)
	for _, f := range frames {
		assert.NotEqual(t, "log/slog", f.Module, "slog's frames are removed")
	}
	assert.Equal(t, "go", ev.Platform)
	assert.NotEmpty(t, ev.ServerName)
	assert.Equal(t, runtime.Version(), ev.Contexts["runtime"]["version"])
	assert.Len(t, ev.EventID, 32)
}

func TestHandlerSlogtestConsole(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(Options{Console: &buf, Level: slog.LevelDebug, NoColor: true})
	defer h.Close(context.Background())
	err := slogtest.TestHandler(h, func() []map[string]any {
		return parseTintLines(t, buf.String())
	})
	require.NoError(t, err)
}

// parseTintLines reads tint's text without colour ("15:04:05.000 INF msg
// k=v g.k=v") back into slogtest's maps.
func parseTintLines(t *testing.T, s string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "    ") {
			continue
		}
		m := map[string]any{}
		fields := strings.Fields(line)
		i := 0
		if len(fields) > 0 && strings.Count(fields[0], ":") == 2 {
			m[slog.TimeKey] = fields[0]
			i++
		}
		m[slog.LevelKey] = fields[i]
		i++
		var msg []string
		for ; i < len(fields) && !strings.Contains(fields[i], "="); i++ {
			msg = append(msg, fields[i])
		}
		m[slog.MessageKey] = strings.Join(msg, " ")
		for ; i < len(fields); i++ {
			k, v, _ := strings.Cut(fields[i], "=")
			setDotted(m, k, v)
		}
		out = append(out, m)
	}
	return out
}

var setDotted = testutil.SetDotted

func TestHandlerSlogtestFile(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(Options{
		Console: io.Discard,
		File:    &logfile.Options{Writer: &buf, Level: slog.LevelDebug, Format: "%(asctime)s|%(levelname)s|%(message)s"},
	})
	defer h.Close(context.Background())
	err := slogtest.TestHandler(h, func() []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			parts := strings.SplitN(line, "|", 3)
			require.Len(t, parts, 3, line)
			m := map[string]any{slog.LevelKey: parts[1]}
			if parts[0] != "-" { // a zero time is "-"
				m[slog.TimeKey] = parts[0]
			}
			fields := strings.Fields(parts[2])
			m[slog.MessageKey] = fields[0]
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				setDotted(m, k, v)
			}
			out = append(out, m)
		}
		return out
	})
	require.NoError(t, err)
}

func TestHandlerEventsCarryAttrsGroupsUserTags(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Environment: "prod", Release: "v1.2.3"})
	log := slog.New(h).With("service", "api").WithGroup("req")
	log.Error("failed",
		"id", 42,
		slog.Group("user", "id", "u1", "email", "a@example.com", "plan", "pro"),
		slog.Any("when", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	)
	slog.New(h).Error("tagged",
		slog.Group("tags", "region", "eu"),
		slog.Group("user", "id", "u2"),
		"fingerprint", []string{"custom"},
	)
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)

	ev := evs[0]
	assert.Equal(t, "api", ev.Extra["service"])
	assert.Equal(t, int64(42), ev.Extra["req.id"])
	assert.Equal(t, "prod", ev.Environment)
	assert.Equal(t, "v1.2.3", ev.Release)
	// Under a group, "user" is an ordinary attr; only top-level "user" is the user.
	assert.Nil(t, ev.User)
	assert.Equal(t, map[string]any{"id": "u1", "email": "a@example.com", "plan": "pro"}, ev.Extra["req.user"])

	ev = evs[1]
	assert.Equal(t, map[string]string{"region": "eu"}, ev.Tags)
	require.NotNil(t, ev.User)
	assert.Equal(t, "u2", ev.User.ID)
	assert.Equal(t, []string{"custom"}, ev.Fingerprint)
	assert.Nil(t, ev.Exception)
	require.NotNil(t, ev.Stacktrace, "a message event keeps the stack of its logging call")
}

func TestHandlerDerivedHandlersDoNotAlias(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	base := slog.New(h).With("a", 1)
	l1 := base.With("b", 2)
	l2 := base.With("c", 3)
	l1.Error("one")
	l2.Error("two")
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	assert.Equal(t, map[string]any{"a": int64(1), "b": int64(2)}, evs[0].Extra)
	assert.Equal(t, map[string]any{"a": int64(1), "c": int64(3)}, evs[1].Extra)
}

func TestHandlerExceptionChain(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	root := &customError{code: 7}
	err := fmt.Errorf("load config: %w", errors.Join(root, io.EOF))
	slog.New(h).Error("startup failed", "err", err)
	flush(t, h)
	ev := sink.all()[0]
	var types []string
	for _, ex := range ev.Exception {
		types = append(types, ex.Type)
	}
	// Cause first, the logged error last, as Sentry wants them.
	assert.Equal(t, []string{"*errors.errorString", "*errlog.customError", "*errors.joinError", "*fmt.wrapError"}, types)
	assert.Equal(t, "load config: custom 7\nEOF", ev.Exception[3].Value)
	assert.NotNil(t, ev.Exception[3].Stacktrace)
	assert.Equal(t, "github.com/errlog/errlog", ev.Exception[1].Module)
}

type customError struct{ code int }

func (e *customError) Error() string { return fmt.Sprintf("custom %d", e.code) }

func TestHandlerEnabled(t *testing.T) {
	h := NewHandler(Options{Console: io.Discard})
	defer h.Close(context.Background())
	assert.False(t, h.Enabled(context.Background(), slog.LevelInfo), "no sink at all wants INFO")

	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	var buf bytes.Buffer
	h2 := NewHandler(Options{Console: &buf, Level: lv})
	defer h2.Close(context.Background())
	assert.False(t, h2.Enabled(context.Background(), slog.LevelInfo))
	lv.Set(slog.LevelDebug)
	assert.True(t, h2.Enabled(context.Background(), slog.LevelInfo), "a LevelVar is read at each call")
}

func TestHandlerQueueFullDropsAndCounts(t *testing.T) {
	block := make(chan struct{})
	slow := &blockingSink{block: block}
	var mu sync.Mutex
	var reported []string
	h := NewHandler(Options{
		Console: io.Discard, QueueSize: 2, Sinks: []EventSink{slow},
		OnDeliveryError: func(err error) { mu.Lock(); reported = append(reported, err.Error()); mu.Unlock() },
	})
	log := slog.New(h)
	start := time.Now()
	for i := 0; i < 50; i++ {
		log.Error("storm", "i", i)
	}
	assert.Less(t, time.Since(start), time.Second, "a stuck sink never blocks the caller")
	assert.GreaterOrEqual(t, h.Dropped(), uint64(47))
	close(block)
	require.NoError(t, h.Close(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, reported)
	assert.Regexp(t, `^errlog: queue: enqueue: \d+ events dropped because the queues were full \(\d+ in all\)$`, reported[0])
}

// A hook that logs what it is told, at ERROR, through errlog itself: a
// natural thing to write. It must neither recurse nor deadlock when the
// queue is full.
func TestOnDeliveryErrorThatLogsDoesNotRecurse(t *testing.T) {
	block := make(chan struct{})
	var logger *slog.Logger
	var calls atomic.Int64
	h := NewHandler(Options{
		Console:   io.Discard,
		QueueSize: 1,
		Sinks:     []EventSink{&blockingSink{block: block}},
		OnDeliveryError: func(err error) {
			calls.Add(1)
			logger.Error("delivery failed", "err", err)
		},
	})
	logger = slog.New(h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			logger.Error("storm", "i", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("logging blocked")
	}
	close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.Close(ctx)
	assert.Greater(t, h.Dropped(), uint64(90))
	assert.Less(t, calls.Load(), int64(50), "drops are reported in batches, not once each")
}

type blockingSink struct {
	captureSink
	block chan struct{}
}

func (s *blockingSink) Deliver(ev *event.Event) {
	<-s.block
	s.captureSink.Deliver(ev)
}

func TestHandlerCloseStopsGoroutines(t *testing.T) {
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&captureSink{}}})
	slog.New(h).Error("x")
	select {
	case <-h.c.done:
		t.Fatal("the delivery goroutine is not running")
	default:
	}
	require.NoError(t, h.Close(context.Background()))
	require.NoError(t, h.Close(context.Background()), "closing twice is not an error")
	select {
	case <-h.c.done: // the delivery goroutine has returned
	case <-time.After(2 * time.Second):
		t.Fatal("the delivery goroutine outlived Close")
	}
	// Records after Close are not events, and do not panic.
	slog.New(h).Error("after close")
	assert.Equal(t, uint64(1), h.Dropped())
}

func TestFlushReachesEveryHandler(t *testing.T) {
	s1, s2 := &captureSink{}, &captureSink{}
	h1 := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{s1}})
	h2 := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{s2}})
	defer h1.Close(context.Background())
	defer h2.Close(context.Background())
	slog.New(h1).Error("one")
	slog.New(h2).Error("two")
	require.NoError(t, Flush(context.Background()))
	assert.Len(t, s1.all(), 1)
	assert.Len(t, s2.all(), 1)
	assert.Equal(t, 1, s1.flushes)
}

func TestHandlerFailingSinkDoesNotStopOthers(t *testing.T) {
	good := &captureSink{}
	var errs []error
	var mu sync.Mutex
	h := NewHandler(Options{
		Console: io.Discard,
		Sinks:   []EventSink{panickingSink{}, good},
		OnDeliveryError: func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		},
	})
	defer h.Close(context.Background())
	slog.New(h).Error("x")
	flush(t, h)
	assert.Len(t, good.all(), 1)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "panicked")
}

type panickingSink struct{}

func (panickingSink) Deliver(*event.Event)        { panic("sink bug") }
func (panickingSink) Flush(context.Context) error { return nil }
func (panickingSink) Close(context.Context) error { return nil }

type hangingSink struct{ captureSink }

func (s *hangingSink) Flush(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangingSink) Close(ctx context.Context) error { return s.Flush(ctx) }

// A dead sink cannot keep `defer errlog.Flush(context.Background())` from
// returning: a context without deadline gets DefaultFlushTimeout.
func TestFlushWithoutDeadlineIsBounded(t *testing.T) {
	defer flushTimeout.Store(flushTimeout.Swap(int64(200 * time.Millisecond)))
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{&hangingSink{}}})
	slog.New(h).Error("x")
	start := time.Now()
	err := h.Flush(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	start = time.Now()
	require.ErrorIs(t, h.Close(context.Background()), context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestFileDateFormatKeptWithoutFormat(t *testing.T) {
	buf := &syncBuffer{}
	h, _, _, _ := newTestHandler(t, Options{
		Console: io.Discard,
		Now:     func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.Local) },
		File:    &logfile.Options{Writer: buf, DateFormat: "%Y/%m/%d"},
	})
	r := slog.NewRecord(time.Date(2026, 3, 4, 5, 6, 7, 0, time.Local), slog.LevelWarn, "w", 0)
	require.NoError(t, h.Handle(context.Background(), r))
	assert.True(t, strings.HasPrefix(buf.String(), "2026/03/04 WARNING: w"), buf.String())
}

// A LevelVar as ErrorLevel is read at each record, like the other levels.
func TestErrorLevelVarIsLive(t *testing.T) {
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelError)
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, ErrorLevel: lv})
	log := slog.New(h)
	log.Warn("not an event yet")
	lv.Set(slog.LevelWarn)
	log.Warn("now an event")
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	assert.Equal(t, "now an event", evs[0].Message())
}

// A Flush waiting for room in a full queue does not hold Close past
// Close's own deadline.
func TestCloseNotHeldByAWaitingFlush(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	h := NewHandler(Options{Console: io.Discard, QueueSize: 1, Sinks: []EventSink{&blockingSink{block: block}}})
	log := slog.New(h)
	log.Error("being delivered") // the sink holds it
	for len(h.c.jobs) > 0 {
		time.Sleep(time.Millisecond) // until the delivery goroutine took it
	}
	for len(h.c.jobs) < cap(h.c.jobs) {
		log.Error("waiting") // fills the queue
	}
	flushed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		flushed <- h.Flush(ctx)
	}()
	time.Sleep(50 * time.Millisecond) // Flush waits for room
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	h.Close(ctx)
	assert.Less(t, time.Since(start), 500*time.Millisecond, "Close kept its deadline")
	select {
	case <-flushed:
	case <-time.After(time.Second):
		t.Fatal("the waiting Flush did not step aside")
	}
}
