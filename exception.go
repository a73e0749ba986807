package errlog

import (
	"errors"
	"reflect"
	"runtime"
	"strconv"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/values"
)

// WithStack returns err annotated with the stack of its caller, so that an
// error logged far from where it happened is reported with the stack of
// where it happened. It returns nil for nil, and err itself when err
// already carries a stack.
func WithStack(err error) error { return stack.With(err) }

// maxExceptions bounds the errors of one chain or tree: a cyclic Unwrap
// ends, and a join of thousands of errors does not make a huge event.
const maxExceptions = 64

// exceptionChain lists err and every error it wraps (fmt.Errorf's %w,
// errors.Join, several %w) as Sentry exceptions, each value cut at max
// bytes, innermost cause first. pcs, the stack the record was reported
// with, goes to the outermost; a wrapped error that carries a stack of its
// own gets it.
//
// A recovered panic is reported as its value (of type "runtime.Error" for
// any runtime panic, not the runtime's own type, as a crash report names
// it) with mechanism {type: "panic", handled: false}:
// errlog's PanicError never shows in a title or a group. An error that
// wraps several (errors.Join) makes the list a tree, as Sentry's exception
// groups have it: mechanism.exception_id, parent_id, is_exception_group.
// An Unwrap method that panics ends its branch with a "!PANIC: …" entry,
// as any other panicking method is shown, and the event is still sent.
func exceptionChain(err error, pcs []uintptr, max int) []event.Exception {
	b := chainBuilder{max: max}
	b.walk(err, -1, "")
	chain := b.chain
	if len(chain) == 0 {
		chain = append(chain, event.Exception{Type: typeName(err), Value: b.text(err)})
	}
	if len(pcs) > 0 {
		chain[0].Stacktrace = &event.Stacktrace{Frames: stack.Frames(pcs)}
	}
	if chain[0].Mechanism == nil {
		handled := true
		chain[0].Mechanism = &event.Mechanism{Type: "slog", Handled: &handled}
	}
	if b.group {
		for i := range chain {
			id := i
			if chain[i].Mechanism == nil {
				chain[i].Mechanism = &event.Mechanism{Type: "chained", Source: b.source[i]}
			}
			chain[i].Mechanism.ExceptionID = &id
			if p := b.parent[i]; p >= 0 {
				chain[i].Mechanism.ParentID = &p
			}
			chain[i].Mechanism.IsExceptionGroup = b.multi[i]
		}
	}
	// The walk went outermost first; Sentry wants the cause first (and
	// exception_id 0 last).
	for i, k := 0, len(chain)-1; i < k; i, k = i+1, k-1 {
		chain[i], chain[k] = chain[k], chain[i]
	}
	return chain
}

// chainBuilder walks an error tree depth first, outermost first.
type chainBuilder struct {
	max    int
	chain  []event.Exception
	parent []int    // index of each entry's parent, -1 for the root
	multi  []bool   // the entry wraps several errors
	source []string // how the parent reached it: "Unwrap()", "Unwrap()[1]"
	group  bool     // some entry wraps several errors
	seen   int
	// panicked marks the next entry as the value of a recovered panic.
	panicked bool
}

func (b *chainBuilder) text(v any) string {
	return values.Truncate(escapeInvalidUTF8(values.Text(v)), b.max)
}

func (b *chainBuilder) add(ex event.Exception, parent int, source string) int {
	if b.panicked {
		handled := false
		ex.Mechanism = &event.Mechanism{Type: "panic", Handled: &handled}
		b.panicked = false
	}
	b.chain = append(b.chain, ex)
	b.parent = append(b.parent, parent)
	b.multi = append(b.multi, false)
	b.source = append(b.source, source)
	return len(b.chain) - 1
}

func (b *chainBuilder) walk(e error, parent int, source string) {
	for e != nil && b.seen < maxExceptions {
		b.seen++
		self := parent
		switch x := e.(type) {
		case safeError, *stack.Error:
			// errlog's own wrappers add nothing a reader needs.
		case *PanicError:
			if _, isErr := x.Value.(error); !isErr {
				b.panicked = true
				self = b.add(event.Exception{Type: valueTypeName(x.Value), Value: b.text(x.Value), Module: valueModule(x.Value)}, parent, source)
			} else {
				b.panicked = true // the wrapped error is the panic value
			}
		default:
			ex := event.Exception{Type: typeName(e), Value: b.text(e), Module: typeModule(e)}
			if _, ok := e.(runtime.Error); ok && b.panicked {
				// A runtime panic is named by its interface, as its crash
				// report is: the runtime's types (runtime.plainError,
				// runtime.boundsError) are no one's to know.
				ex.Type, ex.Module = "runtime.Error", "runtime"
			}
			if len(b.chain) > 0 {
				if own := ownPCsSafe(e); own != nil {
					ex.Stacktrace = &event.Stacktrace{Frames: stack.Frames(own)}
				}
			}
			self = b.add(ex, parent, source)
		}
		many, p, one := unwrapSafe(e)
		if p != "" {
			b.add(event.Exception{Type: typeName(e) + ".Unwrap", Value: "!PANIC: " + values.Truncate(escapeInvalidUTF8(p), b.max)}, self, "Unwrap()")
			return
		}
		if many != nil {
			if self >= 0 {
				b.multi[self] = true
			}
			b.group = true
			for i, x := range many {
				b.walk(x, self, "Unwrap()["+strconv.Itoa(i)+"]")
			}
			return
		}
		e, parent, source = one, self, "Unwrap()"
	}
}

// unwrapSafe returns what e wraps: one error, or several (errors.Join,
// several %w); a panicking Unwrap gives its panic value as text.
func unwrapSafe(e error) (many []error, panicked string, one error) {
	defer func() {
		if p := recover(); p != nil {
			many, panicked, one = nil, values.Text(p), nil
			if panicked == "" {
				panicked = "Unwrap panicked"
			}
		}
	}()
	if u, ok := e.(interface{ Unwrap() []error }); ok {
		return u.Unwrap(), "", nil
	}
	return nil, "", errors.Unwrap(e)
}

func valueTypeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

func valueModule(v any) string {
	if v == nil {
		return ""
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}
