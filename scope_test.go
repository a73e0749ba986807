package errlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	pkgerrors "github.com/pkg/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// useDefault makes h the default logger for the test.
func useDefault(t *testing.T, h *Handler) {
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
}

func TestScopeExtrasJoinEvents(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	ctx, scope := WithScope(context.Background())
	scope.SetExtra("order", 12)
	scope.SetExtra("db_password", "pw")
	scope.SetTag("tenant", "acme")
	scope.SetUser(event.User{ID: "u1"})
	log := slog.New(h)
	log.ErrorContext(ctx, "first")

	// A child scope starts from its parent's and does not change it.
	child, cs := WithScope(ctx)
	cs.SetExtra("order", 13)
	cs.SetFingerprint("checkout")
	log.ErrorContext(child, "second")
	log.ErrorContext(ctx, "third")
	scope.SetExtra("late", true)
	flush(t, h)

	evs := sink.all()
	require.Len(t, evs, 3)
	assert.Equal(t, map[string]any{"order": int64(12), "db_password": DefaultMaskWith}, evs[0].Extra)
	assert.Equal(t, map[string]string{"tenant": "acme"}, evs[0].Tags)
	assert.Equal(t, "u1", evs[0].User.ID)
	assert.Equal(t, int64(13), evs[1].Extra["order"])
	assert.Equal(t, []string{"checkout"}, evs[1].Fingerprint)
	assert.Equal(t, int64(12), evs[2].Extra["order"])
	assert.NotContains(t, evs[2].Extra, "late", "an event takes the scope as it was when logged")
}

func TestScopeConcurrentSetExtra(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	ctx, scope := WithScope(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				scope.SetExtra(fmt.Sprint("k", i), j)
				slog.New(h).ErrorContext(ctx, "x")
			}
		}(i)
	}
	wg.Wait()
	flush(t, h)
	assert.Len(t, sink.all(), 400)
}

func TestCaptureErrorUsesTheErrorsStack(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	useDefault(t, h)
	err := deepPkgError()
	CaptureError(context.Background(), err, "job", "nightly")
	CaptureError(context.Background(), errors.New("plain"))
	CaptureMessage(context.Background(), "cache cold", "size", 3)
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 3)

	frames := evs[0].Frames()
	require.NotEmpty(t, frames)
	assert.Equal(t, "deepPkgError", frames[len(frames)-1].Function, "a pkg/errors error is reported with the stack where it was made")
	assert.Equal(t, "nightly", evs[0].Extra["job"])
	assert.Equal(t, "*errors.fundamental", evs[0].Exception[len(evs[0].Exception)-1].Type)

	frames = evs[1].Frames()
	assert.Equal(t, "TestCaptureErrorUsesTheErrorsStack", frames[len(frames)-1].Function, "else the caller's stack")
	assert.Equal(t, "cache cold", evs[2].Message())
	assert.Equal(t, int64(3), evs[2].Extra["size"])
	assert.Equal(t, "TestCaptureErrorUsesTheErrorsStack", evs[2].Frames()[len(evs[2].Frames())-1].Function)
}

//go:noinline
func deepPkgError() error { return pkgerrors.New("from pkg/errors") }

func TestWithStackKeepsTheOriginalStack(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	err := fmt.Errorf("context: %w", makeStackErr())
	slog.New(h).Error("failed", "err", err)
	flush(t, h)
	frames := sink.all()[0].Frames()
	assert.Equal(t, "makeStackErr", frames[len(frames)-1].Function)
	assert.Nil(t, WithStack(nil))
	e := makeStackErr()
	assert.Same(t, e, WithStack(e), "an error with a stack is not wrapped twice")
	assert.Equal(t, "io failure", e.Error())
}

//go:noinline
func makeStackErr() error { return WithStack(errors.New("io failure")) }

func TestRecover(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	useDefault(t, h)

	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		defer Recover(context.Background())
		panic(errors.New("worker died"))
	}()
	v := <-done
	require.Error(t, v.(error), "Recover panics again with the same value")

	finished := make(chan struct{})
	Go(context.Background(), func(ctx context.Context) {
		defer close(finished)
		var m map[string]int
		//lint:ignore SA5000 a runtime panic on purpose
		m["x"] = 1
	})
	<-finished // closed by f's defer, before Go's RecoverSilently reports
	require.Eventually(t, func() bool { flush(t, h); return len(sink.all()) == 2 }, 5*time.Second, 5*time.Millisecond)
	evs := sink.all()
	last := evs[0].Exception[len(evs[0].Exception)-1]
	assert.Equal(t, "*errors.errorString", last.Type, "the panic value's own type")
	assert.Equal(t, "worker died", last.Value)
	assert.Equal(t, "panic", last.Mechanism.Type)
	assert.False(t, *last.Mechanism.Handled)
	runtimeEx := evs[1].Exception[len(evs[1].Exception)-1]
	assert.Equal(t, "runtime.Error", runtimeEx.Type, "a runtime panic is named runtime.Error, as in its crash report")
	assert.Equal(t, "panic", runtimeEx.Mechanism.Type)
	// The runtime error is the panic value, and a cause in the chain.
	assert.Contains(t, evs[1].Message(), "assignment to entry in nil map")
	frames := evs[1].Frames()
	assert.Equal(t, "TestRecover.func2", frames[len(frames)-1].Function)
}

// SetExtra takes a copy: the application may go on changing its map while
// the delivery goroutine builds events (go test -race checks this).
func TestScopeSetExtraCopiesValue(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	ctx, scope := WithScope(context.Background())
	cart := map[string]int{"apples": 1}
	scope.SetExtra("cart", cart)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			cart[fmt.Sprint("item", i%10)] = i
		}
	}()
	for i := 0; i < 20; i++ {
		slog.New(h).ErrorContext(ctx, "x")
	}
	<-done
	flush(t, h)
	assert.Equal(t, map[string]any{"apples": int64(1)}, sink.all()[0].Extra["cart"])
}

func TestNilScopeIsSafe(t *testing.T) {
	s := ScopeFrom(context.Background())
	require.Nil(t, s)
	s.SetExtra("k", 1)
	s.SetTag("k", "v")
	s.SetUser(event.User{ID: "x"})
	s.SetFingerprint("a")
}

// Recover on a request whose context is already cancelled (the client went
// away) still waits for the report to be delivered before it re-panics.
func TestRecoverFlushesWithCancelledContext(t *testing.T) {
	f := trackertest.NewFake(t)
	h := NewHandler(Options{Console: io.Discard, Tracker: &tracker.Options{DSN: f.DSN()}})
	defer h.Close(context.Background())
	setDefaultHandler(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	func() {
		defer func() { recover() }()
		defer Recover(ctx)
		panic("client gone")
	}()
	evs := f.Acked()
	require.Len(t, evs, 1, "delivered before Recover re-panicked")
	assert.Contains(t, evs[0].Exception[len(evs[0].Exception)-1].Value, "client gone")
}

// A scope's fingerprint is masked as the same parts given as a
// "fingerprint" attr are, and so groups the same: a connection string in
// it left the process with its password.
func TestScopeFingerprintMasked(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	log := slog.New(h)
	const dsn = "postgres://app:hunter2@db/prod"
	log.Error("by attr", "fingerprint", []string{"db", dsn})
	ctx, s := WithScope(context.Background())
	s.SetFingerprint("db", dsn)
	log.ErrorContext(ctx, "by scope")
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	assert.Equal(t, evs[0].Fingerprint, evs[1].Fingerprint)
	assert.Equal(t, "db", evs[1].Fingerprint[0])
	assert.NotContains(t, evs[1].Fingerprint[1], "hunter2")
	assert.Contains(t, evs[1].Fingerprint[1], "postgres://app:")
	assert.Equal(t, evs[0].GroupKey(), evs[1].GroupKey())
}

// A record of 300 attrs keeps MaxAttrs of them in its event and says how
// many it left out, under WithGroup too (it said "1 more": the summary's
// key is "req.…" there).
func TestLeftOutAttrsCountedUnderGroup(t *testing.T) {
	for _, group := range []string{"", "req"} {
		h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
		var args []any
		for i := 0; i < 300; i++ {
			args = append(args, slog.Int(fmt.Sprintf("a%d", i), i))
		}
		slog.New(h).WithGroup(group).Error("many", args...)
		flush(t, h)
		assert.Equal(t, "100 more", sink.all()[0].Extra["…"], "WithGroup(%q)", group)
	}
}

// Fatal's record takes Options.Now, as CaptureError's does.
func TestFatalTakesOptionsNow(t *testing.T) {
	fixed := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Now: func() time.Time { return fixed }})
	useDefault(t, h)
	prevExit := osExit
	osExit = func(int) {}
	defer func() { osExit = prevExit }()
	Fatal(context.Background(), "fatal")
	flush(t, h)
	require.Len(t, sink.all(), 1)
	assert.True(t, sink.all()[0].Timestamp.Equal(fixed), "%v", sink.all()[0].Timestamp)
}
