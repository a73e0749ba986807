// Package stack captures, symbolizes and prints the stacks errlog
// reports, for the handler chain and the sinks alike.
package stack

import (
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/errlog/errlog/event"
)

// Max bounds a captured stack: deeper frames are the runtime's and
// the server's plumbing, and Sentry truncates long traces anyway.
const Max = 64

// Error is errlog's own error wrapper: the error it wraps, plus the
// stack where errlog.WithStack was called.
type Error struct {
	err error
	pcs []uintptr
}

func (e *Error) Error() string { return e.err.Error() }
func (e *Error) Unwrap() error { return e.err }

// Callers returns the program counters of the stack where the error was
// wrapped, innermost first, as github.com/go-errors/errors has it.
func (e *Error) Callers() []uintptr { return e.pcs }

// With returns err annotated with the stack of the caller of its caller
// (errlog.WithStack's caller); nil for nil, and err itself when err
// already carries a stack.
func With(err error) error {
	if err == nil {
		return nil
	}
	if ErrorPCs(err) != nil {
		return err
	}
	var pcs [Max]uintptr
	n := runtime.Callers(3, pcs[:])
	return &Error{err: err, pcs: append([]uintptr(nil), pcs[:n]...)}
}

// ErrorPCs returns the stack carried by err or by any error it wraps, the
// innermost (deepest) one first since it is closest to the cause: errlog's
// own, go-errors' Callers() []uintptr, or github.com/pkg/errors'
// StackTrace() (a slice of uintptr-based frames, read by reflection so that
// errlog does not depend on pkg/errors). nil if none carries one.
func ErrorPCs(err error) (pcs []uintptr) {
	defer func() {
		if recover() != nil { // a panicking StackTrace method is no stack
			pcs = nil
		}
	}()
	var found []uintptr
	walkErrors(err, func(e error) bool {
		if p := OwnPCs(e); p != nil {
			found = p // keep going: a deeper one wins
		}
		return true
	})
	return found
}

func OwnPCs(e error) []uintptr {
	switch s := e.(type) {
	case interface{ Callers() []uintptr }:
		return s.Callers()
	}
	m := reflect.ValueOf(e).MethodByName("StackTrace")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		return nil
	}
	out := m.Call(nil)[0]
	if out.Kind() != reflect.Slice || out.Type().Elem().Kind() != reflect.Uintptr {
		return nil
	}
	pcs := make([]uintptr, out.Len())
	for i := range pcs {
		pcs[i] = uintptr(out.Index(i).Uint())
	}
	return pcs
}

// walkErrors calls f for err and every error it wraps, depth first, up to
// a bound that stops a cyclic chain.
func walkErrors(err error, f func(error) bool) {
	seen := 0
	var walk func(error) bool
	walk = func(e error) bool {
		for e != nil && seen < 64 {
			seen++
			if !f(e) {
				return false
			}
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, x := range u.Unwrap() {
					if !walk(x) {
						return false
					}
				}
				return true
			default:
				e = errors.Unwrap(e)
			}
		}
		return true
	}
	walk(err)
}

// Callers captures the stack of the goroutine that called into errlog,
// starting at the frame whose pc is callerPC (a record's PC) when it is on
// the stack, else at the first frame outside errlog and log/slog.
func Callers(callerPC uintptr, dst []uintptr) []uintptr {
	n := runtime.Callers(2, dst[:cap(dst)])
	pcs := dst[:n]
	if callerPC != 0 {
		for i, pc := range pcs {
			if pc == callerPC {
				return pcs[i:]
			}
		}
	}
	// pc by pc, since one pc can stand for several inlined frames; and
	// through a copy, so that dst (usually an array on the caller's stack)
	// does not escape through runtime.Frames: this path is the rare one.
	for i, pc := range pcs {
		one := []uintptr{pc}
		f, _ := runtime.CallersFrames(one).Next()
		if !isInternalFrame(f.Function, f.File) {
			return pcs[i:]
		}
	}
	return pcs[:0]
}

// isInternalFrame reports whether a frame is errlog's own (outside tests
// and examples) or slog's: frames that say nothing about the application.
// errlog's are known by their file, because a function inlined into the
// application's (a Middleware closure into main) bears the caller's name.
func isInternalFrame(fn, file string) bool {
	if strings.HasPrefix(fn, "log/slog.") || strings.HasPrefix(fn, "log.") {
		return true
	}
	return isOwnFile(file)
}

// ownDir is the directory of errlog's module: this file is in
// internal/stack under it.
var ownDir = func() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return strings.TrimSuffix(file[:strings.LastIndexByte(file, '/')+1], "internal/stack/")
}()

// ownPackages are the folders of errlog's library code under its module's
// root, besides the root itself: not examples, commands or test data.
var ownPackages = []string{"internal", "logfile", "tracker", "mail", "event", "wire"}

// isOwnFile reports whether file is one of errlog's own source files (not
// a test, not in examples/, cmd/ or a test program).
func isOwnFile(file string) bool {
	if ownDir == "" || !strings.HasPrefix(file, ownDir) || strings.HasSuffix(file, "_test.go") || strings.Contains(file, "/testdata/") {
		return false
	}
	first, rest, nested := strings.Cut(file[len(ownDir):], "/")
	return !nested || rest != "" && slices.Contains(ownPackages, first)
}

// PanicPCs returns the stack of a goroutine that is panicking, from inside
// the deferred function that recovered: the frames from the function that
// panicked outwards, with the recovering code and the runtime's panic
// machinery removed.
func PanicPCs() []uintptr {
	var buf [Max + 16]uintptr
	n := runtime.Callers(1, buf[:])
	pcs := buf[:n]
	frames := runtime.CallersFrames(pcs)
	for i := 0; ; i++ {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			out := pcs[i+1:]
			// A runtime error (nil map write, nil dereference, index out
			// of range) panics from inside the runtime: start at the
			// application's frame that caused it.
			for len(out) > 1 {
				f2, _ := runtime.CallersFrames(out[:1]).Next()
				if !strings.HasPrefix(f2.Function, "runtime.") {
					break
				}
				out = out[1:]
			}
			return append([]uintptr(nil), out...)
		}
		if !more {
			return append([]uintptr(nil), pcs...)
		}
	}
}

// frameCache maps a pc to its symbolized frame: the same error logged
// again costs a map lookup per frame instead of a symbol table walk.
var frameCache sync.Map // uintptr -> event.Frame

// Frames symbolizes pcs (innermost first, as runtime.Callers returns
// them) into frames ordered caller to callee, as Sentry wants them.
func Frames(pcs []uintptr) []event.Frame {
	if len(pcs) > Max {
		pcs = pcs[:Max]
	}
	out := make([]event.Frame, 0, len(pcs))
	for _, pc := range pcs {
		if f, ok := frameCache.Load(pc); ok {
			out = append(out, f.(event.Frame))
			continue
		}
		// One pc may stand for several frames when calls were inlined.
		start := len(out)
		frames := runtime.CallersFrames([]uintptr{pc})
		for {
			f, more := frames.Next()
			if f.Function != "" && f.Function != "runtime.goexit" {
				out = append(out, NewFrame(f.Function, f.File, f.Line))
			}
			if !more {
				break
			}
		}
		if len(out)-start == 1 {
			frameCache.Store(pc, out[start])
		}
	}
	// Drop the frames of goroutine start-up, then reverse.
	for len(out) > 0 && out[len(out)-1].Module == "runtime" {
		out = out[:len(out)-1]
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// NewFrame splits a Go function name ("github.com/a/b.(*T).M.func1") into
// its package path (module, in Sentry's words) and function.
func NewFrame(fn, file string, line int) event.Frame {
	pkg, name := SplitFuncName(fn)
	return event.Frame{
		Function: name,
		Module:   pkg,
		Filename: trimGopath(file),
		AbsPath:  file,
		Lineno:   line,
		InApp:    IsInApp(pkg, file),
	}
}

func SplitFuncName(fn string) (pkg, name string) {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return "", fn
	}
	return fn[:slash+1+dot], fn[slash+1+dot+1:]
}

// IsInApp reports whether a frame is the application's own: not the
// standard library (a package path without a dot in its first element,
// other than main), not a dependency (the module cache, vendor, or a
// module at a version, which is how a -trimpath build names a
// dependency's files: "golang.org/x/sync@v0.10.0/errgroup/errgroup.go"),
// and not errlog's.
func IsInApp(pkg, file string) bool {
	if strings.Contains(file, "/pkg/mod/") || strings.Contains(file, "/vendor/") || isOwnFile(file) || event.InVersionedModule(file, "") {
		return false
	}
	first, _, _ := strings.Cut(pkg, "/")
	if !strings.Contains(first, ".") && pkg != "main" && !strings.HasPrefix(pkg, "main.") {
		return false
	}
	if goroot != "" && strings.HasPrefix(file, goroot) {
		return false
	}
	return true
}

var goroot = func() string {
	r := runtime.GOROOT() //nolint:staticcheck // only a hint; package paths decide first
	if r == "" {
		return ""
	}
	return strings.TrimSuffix(r, "/") + "/src/"
}()

// trimGopath shortens a path in the module cache to module@version/file,
// as people read it.
func trimGopath(file string) string {
	if i := strings.LastIndex(file, "/pkg/mod/"); i >= 0 {
		return file[i+len("/pkg/mod/"):]
	}
	if goroot != "" && strings.HasPrefix(file, goroot) {
		return file[len(goroot):]
	}
	return file
}

// AppendStack writes frames (caller to callee) as Go prints a goroutine's
// stack, most recent call first, each line prefixed by indent; with
// source, a frame's context line follows it, as Python prints it.
// AppendFoldedStack is AppendStack for the console: the application's
// frames in full, and each run of two or more frames of other code
// (net/http's serving loop, the runtime) folded into one line, as the
// dashboard shows them: "+7 frames in net/http". A stack without an
// in-app frame is shown whole.
func AppendFoldedStack(dst []byte, frames []event.Frame, indent string, source bool) []byte {
	inApp := 0
	for i := range frames {
		if frames[i].InApp {
			inApp++
		}
	}
	if inApp == 0 || inApp == len(frames) {
		return AppendStack(dst, frames, indent, source)
	}
	for i := len(frames) - 1; i >= 0; {
		if frames[i].InApp {
			dst = AppendStack(dst, frames[i:i+1], indent, source)
			i--
			continue
		}
		j := i
		for j >= 0 && !frames[j].InApp {
			j--
		}
		if i-j == 1 {
			dst = AppendStack(dst, frames[i:i+1], indent, source)
			i--
			continue
		}
		dst = append(dst, indent...)
		dst = append(dst, '+')
		dst = strconv.AppendInt(dst, int64(i-j), 10)
		dst = append(dst, " frames in "...)
		seen := 0
		for k := i; k > j; k-- {
			m := frames[k].Module
			dup := false
			for l := i; l > k; l-- {
				if frames[l].Module == m {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			if seen == 3 {
				dst = append(dst, ", …"...)
				break
			}
			if seen > 0 {
				dst = append(dst, ", "...)
			}
			if m == "" {
				m = "?"
			}
			dst = append(dst, m...)
			seen++
		}
		dst = append(dst, '\n')
		i = j
	}
	return dst
}

func AppendStack(dst []byte, frames []event.Frame, indent string, source bool) []byte {
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		dst = append(dst, indent...)
		if f.Module != "" {
			dst = append(dst, f.Module...)
			dst = append(dst, '.')
		}
		dst = append(dst, f.Function...)
		dst = append(dst, '\n')
		dst = append(dst, indent...)
		dst = append(dst, '\t')
		dst = append(dst, f.AbsPath...)
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(f.Lineno), 10)
		dst = append(dst, '\n')
		if code := strings.TrimSpace(f.ContextLine); source && f.InApp && code != "" {
			dst = append(dst, indent...)
			dst = append(dst, "\t    "...)
			dst = append(dst, code...)
			dst = append(dst, '\n')
		}
	}
	return dst
}
