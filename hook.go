package errlog

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/values"
)

// A Hook adds to what errlog records from the context a record is logged
// with, where an application keeps what the record's attributes do not
// carry: the trace a request runs in, a tenant. Options.Hooks lists them;
// github.com/errlog/errlog/otel is one (the OpenTelemetry trace in events
// and log lines, the error in the trace).
//
// Both methods run on the logging goroutine, before Handle returns, so
// that what they read from ctx (a span that ends with the request) is
// still there; they must be fast and safe for concurrent use. An Event
// that panics costs that record what the hook would have added, and the
// panic is reported through Options.OnDeliveryError; a Field that panics
// prints "!PANIC", as a panicking attribute value does.
type Hook interface {
	// Field returns the value of the template field %(name)s for a record
	// logged with ctx, and whether the hook provides a field of that name
	// at all. A field the hook provides is "" when ctx lacks it (where an
	// unknown field prints "-"); an attribute of the record with the same
	// key wins. It is asked only for names the template uses (the log
	// file's Format) that no record attribute filled.
	Field(ctx context.Context, name string) (value string, ok bool)
	// Event is told of each record at or above Options.ErrorLevel, once.
	// It returns the contexts to add to the record's event (Sentry's
	// contexts, by name: "trace" → {"trace_id": …}), or nil. It is not
	// called below ErrorLevel: a hook costs nothing there. What it
	// returns is not masked (Options.Mask): it is the hook's to choose.
	Event(ctx context.Context, e HookEvent) map[string]map[string]any
}

// HookEvent is what a Hook is told of a record that becomes an event.
type HookEvent struct {
	// ID is the event's ID (event_id) as mail, the tracker and sinks will
	// receive it, and as CaptureError returns it; "" when the Handler
	// has no mail, tracker or sink and so builds no event. An event
	// SampleRate, BeforeSend or a full queue leave out keeps its ID
	// unused.
	ID string
	// Record is the record as logged, sanitized and masked: for reading
	// during the call only.
	Record slog.Record

	err  error
	pcs  []uintptr
	max  int
	goas []groupOrAttrs
	m    *masker // the event's masking, for the text Exception returns
}

// Err returns the first error among the record's attributes (the
// event's exception), or nil.
func (e *HookEvent) Err() error {
	if e.err != nil {
		return e.err
	}
	find := func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok {
				e.err = err
				return false
			}
		}
		return true
	}
	for _, g := range e.goas {
		for _, a := range g.attrs {
			if !find(a) {
				return e.err
			}
		}
	}
	e.Record.Attrs(find)
	return e.err
}

// Exception returns the type and the text of the event's exception as
// the event shows them (the outermost error; a recovered panic's value,
// not errlog's PanicError), or "" and the record's message when the
// record carries no error.
func (e *HookEvent) Exception() (typ, message string) {
	err := e.Err()
	if err == nil {
		return "", e.Record.Message
	}
	switch err.(type) {
	case safeError, *stack.Error, *PanicError:
		// errlog's own wrappers and panics: as the chain shows them.
	default:
		// The outermost error is the event's exception: no chain needed.
		return typeName(err), e.scrub(values.Truncate(escapeInvalidUTF8(values.Text(err)), e.max))
	}
	chain := exceptionChain(err, nil, e.max)
	last := chain[len(chain)-1]
	return last.Type, e.scrub(last.Value)
}

// scrub masks an exception's text as the event's is: a hook sends it on
// (to a trace exporter), past errlog's masking.
func (e *HookEvent) scrub(s string) string {
	if e.m == nil {
		return s
	}
	return e.m.scrubText(s)
}

// Stacktrace returns the event's stack as text, innermost call first, as
// Go prints a goroutine's stack: "function\n\tfile:line\n" for each
// frame. It is "" when the record has no stack.
func (e *HookEvent) Stacktrace() string {
	frames := stack.Frames(e.pcs)
	n := 0
	for _, f := range frames {
		n += len(f.Module) + len(f.Function) + len(f.AbsPath) + 12
	}
	b := make([]byte, 0, n)
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		if f.Module != "" {
			b = append(b, f.Module...)
			b = append(b, '.')
		}
		b = append(b, f.Function...)
		b = append(b, "\n\t"...)
		b = append(b, f.AbsPath...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(f.Lineno), 10)
		b = append(b, '\n')
	}
	return string(b)
}

// runHooks tells every hook of a record that becomes an event, and
// returns the contexts they add.
func (c *core) runHooks(ctx context.Context, h *Handler, r slog.Record, id string, pcs []uintptr) map[string]map[string]any {
	// A copy: pcs is on Handle's stack, and would otherwise be moved to
	// the heap for every record, hooked or not.
	e := HookEvent{ID: id, Record: r, pcs: slices.Clone(pcs), max: c.san.max, goas: h.goas, m: c.san.m}
	var out map[string]map[string]any
	for _, hk := range c.opts.Hooks {
		for k, v := range c.callHook(ctx, hk, e) {
			if out == nil {
				out = map[string]map[string]any{}
			}
			out[k] = v
		}
	}
	return out
}

func (c *core) callHook(ctx context.Context, hk Hook, e HookEvent) (m map[string]map[string]any) {
	defer func() {
		if p := recover(); p != nil {
			m = nil
			c.onError(&DeliveryError{Sink: "hook", Op: "event", Err: fmt.Errorf("%T.Event panicked: %s", hk, values.Text(p))})
		}
	}()
	return hk.Event(ctx, e)
}

// addContexts adds what the hooks returned to ev's contexts, over the
// environment's of the same name.
func addContexts(ev *event.Event, add map[string]map[string]any) {
	if len(add) == 0 {
		return
	}
	if ev.Contexts == nil {
		ev.Contexts = make(map[string]map[string]any, len(add))
	}
	for k, v := range add {
		ev.Contexts[k] = v
	}
}
