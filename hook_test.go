package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/errlog/errlog/logfile"
)

type tenantKey struct{}

// tenantHook is a Hook as an application would write one: the tenant a
// request runs for, from its context.
type tenantHook struct {
	mu   sync.Mutex
	seen []HookEvent
}

func (h *tenantHook) Field(ctx context.Context, name string) (string, bool) {
	if name != "tenant" {
		return "", false
	}
	s, _ := ctx.Value(tenantKey{}).(string)
	return s, true
}

func (h *tenantHook) Event(ctx context.Context, e HookEvent) map[string]map[string]any {
	h.mu.Lock()
	h.seen = append(h.seen, e)
	h.mu.Unlock()
	if s, ok := ctx.Value(tenantKey{}).(string); ok {
		return map[string]map[string]any{"tenant": {"name": s}}
	}
	return nil
}

type panicHook struct{}

func (panicHook) Field(context.Context, string) (string, bool) { panic("field") }
func (panicHook) Event(context.Context, HookEvent) map[string]map[string]any {
	panic("event")
}

func TestHook(t *testing.T) {
	hk := &tenantHook{}
	file := &syncBuffer{}
	h, _, _, sink := newTestHandler(t, Options{
		File:  &logfile.Options{Writer: file, Level: slog.LevelInfo, Format: "%(levelname)s [%(tenant)s] [%(other)s] %(message)s"},
		Hooks: []Hook{hk},
	})
	logger := slog.New(h)
	ctx := context.WithValue(context.Background(), tenantKey{}, "acme")
	logger.InfoContext(ctx, "hello")
	logger.Info("nobody")
	logger.ErrorContext(ctx, "failed", "err", errors.New("boom"))
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := file.String()
	for _, want := range []string{"INFO [acme] [-] hello\n", "INFO [] [-] nobody\n", "ERROR [acme] [-] failed err=boom\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("file lacks %q:\n%s", want, got)
		}
	}
	evs := sink.all()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	if evs[0].Contexts["tenant"]["name"] != "acme" || evs[0].Contexts["os"] == nil {
		t.Errorf("contexts = %v, want tenant beside os", evs[0].Contexts)
	}
	if len(hk.seen) != 1 {
		t.Fatalf("hook told of %d records, want the 1 ERROR", len(hk.seen))
	}
	e := hk.seen[0]
	if e.ID != evs[0].EventID {
		t.Errorf("hook's ID %q, event's %q", e.ID, evs[0].EventID)
	}
	if typ, msg := e.Exception(); typ != "*errors.errorString" || msg != "boom" {
		t.Errorf("Exception() = %q, %q", typ, msg)
	}
	if st := e.Stacktrace(); !strings.HasPrefix(st, "github.com/errlog/errlog.TestHook\n\t") || !strings.Contains(st, "hook_test.go:") {
		t.Errorf("Stacktrace():\n%s", st)
	}
}

// A panicking hook costs its own additions, not the record.
func TestHookPanics(t *testing.T) {
	var reported []error
	var mu sync.Mutex
	file := &syncBuffer{}
	h, _, _, sink := newTestHandler(t, Options{
		File:            &logfile.Options{Writer: file, Format: "%(tenant)s %(message)s"},
		Hooks:           []Hook{panicHook{}},
		OnDeliveryError: func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() },
	})
	slog.New(h).Error("still here")
	_ = h.Flush(context.Background())
	if evs := sink.all(); len(evs) != 1 || evs[0].Message() != "still here" {
		t.Fatalf("events %v", evs)
	}
	if got := file.String(); !strings.HasPrefix(got, "!PANIC still here\n") {
		t.Errorf("file: %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "panicHook.Event panicked: event") {
		t.Errorf("reported %v", reported)
	}
}

// loggingHook logs an error, once, with the context it is given.
type loggingHook struct {
	l      *atomic.Pointer[slog.Logger]
	logged atomic.Bool
}

func (*loggingHook) Field(context.Context, string) (string, bool) { return "", false }

func (h *loggingHook) Event(ctx context.Context, e HookEvent) map[string]map[string]any {
	if !h.logged.Swap(true) {
		h.l.Load().ErrorContext(ctx, "hook lookup failed")
	}
	return nil
}

// An error a Hook logs with the context it is given is an event with an
// ID of its own, not the captured error's.
func TestCaptureIDNotTakenByHookEvent(t *testing.T) {
	var l atomic.Pointer[slog.Logger]
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, Hooks: []Hook{&loggingHook{l: &l}}, Sinks: []EventSink{sink}})
	defer h.Close(context.Background())
	l.Store(slog.New(h))
	useDefault(t, h)
	id := CaptureError(context.Background(), errors.New("card declined"))
	flush(t, h)
	byID := map[string]string{}
	for _, ev := range sink.all() {
		byID[ev.EventID] = ev.Message()
	}
	require.Len(t, byID, 2, "two events, two IDs")
	assert.Equal(t, "card declined", byID[id])
}
