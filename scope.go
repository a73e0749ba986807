package errlog

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/values"
)

// Scope holds what every event logged with its context carries beyond the
// record: extras, tags, the user, a fingerprint. It is safe for concurrent
// use; an event takes the scope as it is when the record is logged. The
// methods of a nil *Scope do nothing, so that ScopeFrom(ctx).SetExtra(…)
// is safe outside Middleware.
type Scope struct {
	mu    sync.Mutex // serializes writers; readers load state
	state atomic.Pointer[scopeState]
	// crumbs are the records logged with the scope, for the breadcrumbs
	// of its events: ownCrumbs, or those of the scope it was made from.
	crumbs    *crumbRing
	ownCrumbs crumbRing
}

// scopeState is immutable once published: a write copies it, so that an
// event captures a scope with one atomic load and no lock.
type scopeState struct {
	extras      []kv
	tags        map[string]string
	user        *event.User
	fingerprint []string
}

type kv struct {
	key   string
	value any
}

type scopeKey struct{}

// WithScope returns a context carrying a new Scope, and the Scope. The new
// scope starts with a copy of the scope ctx already carries, if any, so
// that a function can add to its caller's scope without changing it. It
// shares that scope's breadcrumbs (the records logged before an event,
// see Options.Breadcrumbs): a request's trail stays one trail.
func WithScope(ctx context.Context) (context.Context, *Scope) {
	s := &Scope{}
	if parent := scopeFromContext(ctx); parent != nil {
		s.state.Store(parent.state.Load())
		s.crumbs = parent.crumbs
	} else {
		s.state.Store(&scopeState{})
		s.crumbs = &s.ownCrumbs
	}
	return context.WithValue(ctx, scopeKey{}, s), s
}

// ScopeFrom returns the Scope ctx carries, or nil.
func ScopeFrom(ctx context.Context) *Scope { return scopeFromContext(ctx) }

func scopeFromContext(ctx context.Context) *Scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

func (s *Scope) update(f func(st *scopeState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	st := &scopeState{user: old.user, fingerprint: old.fingerprint}
	st.extras = append([]kv(nil), old.extras...)
	if old.tags != nil {
		st.tags = make(map[string]string, len(old.tags)+1)
		for k, v := range old.tags {
			st.tags[k] = v
		}
	}
	f(st)
	s.state.Store(st)
}

// SetExtra sets extra data that joins every event logged with the scope's
// context (Sentry's scope.set_extra). Values are masked like attrs.
func (s *Scope) SetExtra(key string, value any) {
	if s == nil {
		return
	}
	// A copy, taken now: the value is the application's, and may change
	// while the delivery goroutine reads it.
	value = values.JSON(value)
	s.update(func(st *scopeState) {
		for i := range st.extras {
			if st.extras[i].key == key {
				st.extras[i].value = value
				return
			}
		}
		st.extras = append(st.extras, kv{key, value})
	})
}

// SetTag sets a tag: a short indexed string a tracker can search by.
func (s *Scope) SetTag(key, value string) {
	if s == nil {
		return
	}
	s.update(func(st *scopeState) {
		if st.tags == nil {
			st.tags = map[string]string{}
		}
		st.tags[key] = value
	})
}

// SetUser says who the events of this scope happened to.
func (s *Scope) SetUser(u event.User) {
	if s == nil {
		return
	}
	if u.Data != nil {
		u.Data, _ = values.JSON(u.Data).(map[string]any)
	}
	s.update(func(st *scopeState) { st.user = &u })
}

// SetFingerprint overrides grouping for the events of this scope.
func (s *Scope) SetFingerprint(fp ...string) {
	if s == nil {
		return
	}
	s.update(func(st *scopeState) { st.fingerprint = append([]string(nil), fp...) })
}

// CaptureError reports err at ERROR through the default logger, with err's
// own stack when it carries one (see WithStack), else the caller's. extra
// are slog-style key-value pairs or slog.Attrs. It returns the ID of the
// event (32 hex digits, made here, on the caller's side), which the event
// mail, tracker and sinks receive carries: show it to the user ("error
// id …") to find the event later, as sentry-go's CaptureException returns
// it. The ID is returned even when the event is not sent (a handler below
// ErrorLevel, Options.SampleRate, BeforeSend, a full queue). A nil err is
// reported as a warning that says so, is not an event, and returns "".
func CaptureError(ctx context.Context, err error, extra ...any) string {
	return capture(ctx, slog.Default().Handler(), err, extra)
}

// nowOf is the time by h's clock when h is or wraps an errlog Handler
// (Options.Now), else by the system's.
func nowOf(h slog.Handler) time.Time {
	if eh := HandlerOf(h); eh != nil {
		return eh.c.now()
	}
	return time.Now()
}

func capture(ctx context.Context, h slog.Handler, err error, extra []any) string {
	if ctx == nil {
		ctx = context.Background()
	}
	var pcs [1]uintptr
	runtime.Callers(3, pcs[:]) // the caller of CaptureError
	if err == nil {
		r := slog.NewRecord(nowOf(h), slog.LevelWarn, "errlog: CaptureError called with a nil error", pcs[0])
		if h.Enabled(ctx, r.Level) {
			_ = h.Handle(ctx, r)
		}
		return ""
	}
	r := slog.NewRecord(nowOf(h), slog.LevelError, values.Text(err), pcs[0])
	r.AddAttrs(slog.Any("error", err))
	r.Add(extra...)
	return handleWithID(ctx, h, r)
}

// CaptureMessage reports msg at ERROR through the default logger, with the
// caller's stack. extra are slog-style key-value pairs or slog.Attrs. It
// returns the event's ID, as CaptureError does.
func CaptureMessage(ctx context.Context, msg string, extra ...any) string {
	if ctx == nil {
		ctx = context.Background()
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	h := slog.Default().Handler()
	r := slog.NewRecord(nowOf(h), slog.LevelError, msg, pcs[0])
	r.Add(extra...)
	return handleWithID(ctx, h, r)
}

// eventIDKey carries the event ID a capture function made and returned
// to the Handler that builds the event. A context rather than an attr, so
// that the console and the file do not print it and the wrappers between
// (slog.NewMultiHandler) pass it on untouched.
type eventIDKey struct{}

// capturing counts the capture calls in progress, so that the records of
// every other slog.Error need not look for an ID in their context (a walk
// up a request's context chain, 5% of an ERROR record's cost to its
// caller).
var capturing atomic.Int32

// handleWithID hands r to h with a new event ID, and returns the ID.
func handleWithID(ctx context.Context, h slog.Handler, r slog.Record) string {
	id := event.NewID()
	if h.Enabled(ctx, r.Level) {
		capturing.Add(1)
		defer capturing.Add(-1)
		_ = h.Handle(context.WithValue(ctx, eventIDKey{}, id), r)
	}
	return id
}

// id returns the ID of j's event: the one its caller was given, else a
// new one.
func (j *job) id() string {
	if j.eventID != "" {
		return j.eventID
	}
	return event.NewID()
}

// eventIDFrom returns the event ID a capture function put in ctx, or "".
func eventIDFrom(ctx context.Context) string {
	if ctx == nil || capturing.Load() == 0 {
		return ""
	}
	id, _ := ctx.Value(eventIDKey{}).(string)
	return id
}

// PanicError is a recovered panic as an error: its value, and the stack of
// the goroutine that panicked.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	pcs   []uintptr
}

// Error returns "panic: " and the panic value as text.
func (e *PanicError) Error() string { return "panic: " + values.Text(e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Callers returns the panicking goroutine's stack, innermost first.
func (e *PanicError) Callers() []uintptr { return e.pcs }

// newPanicError must be called from the deferred function that recovered.
func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, pcs: stack.PanicPCs()}
}

// Recover reports a panic in progress at ERROR through the default logger,
// with the panicking goroutine's stack, waits up to two seconds for the
// report to be delivered (by the errlog Handler the default logger's
// handler leads to, see HandlerOf, or else by every open Handler), then
// panics again with the same value: the tracking decorator of the Python
// tools. Use it deferred, at the top of a goroutine:
//
//	defer errlog.Recover(ctx)
func Recover(ctx context.Context) {
	if v := recover(); v != nil {
		// Delivered: should this panic end the program, its crash
		// report at the next start would be a second report of one
		// failure. Not delivered in time (a tracker down, the report
		// only spooled or still queued), the crash report stays: a
		// failure told twice rather than maybe never.
		if reportPanic(ctx, slog.Default().Handler(), newPanicError(v), true) {
			markReported(v)
		}
		panic(v)
	}
}

// RecoverSilently is Recover that swallows the panic after reporting it,
// for a goroutine whose failure the program can live with.
func RecoverSilently(ctx context.Context) {
	if v := recover(); v != nil {
		reportPanic(ctx, slog.Default().Handler(), newPanicError(v), false)
	}
}

// Go runs f in a new goroutine that reports a panic and lets the program
// live on.
func Go(ctx context.Context, f func(ctx context.Context)) {
	go func() {
		defer RecoverSilently(ctx)
		f(ctx)
	}()
}

// reportPanic logs pe; with flush, it waits (up to two seconds) for the
// sinks to deliver, because the panic is about to end the program.
func reportPanic(ctx context.Context, h slog.Handler, pe *PanicError, flush bool) (delivered bool) {
	if ctx == nil {
		ctx = context.Background()
	}
	var pc uintptr
	if len(pe.pcs) > 0 {
		pc = pe.pcs[0]
	}
	r := slog.NewRecord(nowOf(h), slog.LevelError, pe.Error(), pc)
	r.AddAttrs(slog.Any("error", pe))
	if h.Enabled(ctx, r.Level) {
		_ = h.Handle(ctx, r)
	}
	if flush {
		return flushAfterPanic(ctx, h)
	}
	return false
}

// panicFlushTimeout bounds the flush after a panic: two seconds, lowered
// by tests. A real-time deadline: the program is about to end.
var panicFlushTimeout = func() *atomic.Int64 {
	var d atomic.Int64
	d.Store(int64(2 * time.Second))
	return &d
}()

// flushAfterPanic waits, up to two seconds in all, for the Handler that h
// is or wraps (HandlerOf) to deliver; when h hides it
// (slog.NewMultiHandler), for every open Handler, as errlog.Flush does.
func flushAfterPanic(ctx context.Context, h slog.Handler) (delivered bool) {
	var cs []*core
	if eh := HandlerOf(h); eh != nil {
		cs = []*core{eh.c}
	} else {
		cs = openCores()
	}
	// The request's own context may be cancelled already (the client went
	// away, the server shuts down): the report must still go out.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(panicFlushTimeout.Load()))
	defer cancel()
	// At once, so that one Handler whose sink hangs cannot use up the
	// others' time.
	var wg sync.WaitGroup
	var failed atomic.Bool
	for _, c := range cs {
		wg.Add(1)
		go func(c *core) {
			defer wg.Done()
			err := c.flush(fctx)
			if err != nil {
				failed.Store(true)
			}
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				c.onError(&DeliveryError{Sink: "handler", Op: "flush after panic", Err: err})
			}
		}(c)
	}
	wg.Wait()
	return len(cs) > 0 && !failed.Load()
}
