package errlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/flock"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/values"
	"github.com/errlog/errlog/wire"
)

// Crash reports. A panic that nothing recovers, or a fatal runtime error
// ("concurrent map writes"), ends the process before any handler can see
// it. From Go 1.23 on, runtime/debug.SetCrashOutput has the runtime write
// its crash text to a file of our choosing as well as to stderr: with
// Options.CrashReports, NewHandler gives it a file in the spool's crash
// directory, and the next such NewHandler with the same spool directory
// turns each crash file left by a dead process into a fatal event,
// delivered through the sinks like any other. Close gives the crash
// output back to the Handler that had it before, or to none.
//
// Each process writes its own file, crash-<pid>-<nanoseconds>.txt, and
// holds an flock on it for its lifetime; the kernel drops the lock when the
// process dies, however it dies. So a crash file that can be locked
// belongs to a dead process: empty, it was a clean exit and is deleted;
// otherwise it is a crash report. Replicas sharing one spool therefore
// never take each other's files.

// crashDirName is the spool subdirectory of crash files.
const crashDirName = "crash"

// maxCrashBytes bounds what is read of one crash file: the crashing
// goroutine comes first, the others (GOTRACEBACK=all) only add bulk.
const maxCrashBytes = 1 << 20

// crashFileName names the crash file of a process started at t.
func crashFileName(pid int, t time.Time) string {
	return "crash-" + strconv.Itoa(pid) + "-" + strconv.FormatInt(t.UnixNano(), 10) + ".txt"
}

// crashFilePID returns the pid in a crash file's name; false if name is not one.
func crashFilePID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "crash-")
	if !ok || !strings.HasSuffix(rest, ".txt") {
		return 0, false
	}
	pidText, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	return pid, ok && err == nil
}

// crashOutputs is the runtime's crash output as errlog set it, one entry
// per crash file armed by an open Handler, the last armed on top. It is
// process-wide because debug.SetCrashOutput is: the top entry is the
// runtime's output; when its last Handler closes (or is collected), the
// entry goes and the one below becomes the output again, or none (stderr
// only, the runtime's default) when the list is empty.
var crashOutputs struct {
	sync.Mutex
	list []*crashOutput
}

// crashOutput is one armed crash file.
type crashOutput struct {
	f    *os.File // locked while armed
	refs int      // the Handlers that armed it
}

// startCrashReports picks up the crash files of dead processes and arms
// the runtime's crash output for this one. It runs in NewHandler, after
// the delivery goroutine started, when Options.CrashReports is set with a
// spool directory and at least one event sink.
func (c *core) startCrashReports() {
	o := &c.opts
	if !o.CrashReports || o.SpoolDir == "" || !c.hasSinks || !crashOutputSupported || !flock.Supported {
		return
	}
	// Owned as the tracker's and the mail's folders are: another program
	// given the same spool (one of the same name, with the default
	// spool) must not send this one's crashes to its own project.
	dir := delivery.OwnedDir(filepath.Join(o.SpoolDir, crashDirName), c.crashOwner())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.onError(fmt.Errorf("errlog: crash reports: %w", err))
		return
	}
	c.pickUpCrashes(dir)
	co, err := armCrashOutput(dir, time.Now()) // a name, not a record time: the real clock
	if err != nil {
		c.onError(fmt.Errorf("errlog: crash reports: %w", err))
		return
	}
	c.crashOut = co
}

// crashOwner names where this process's events go: the tracker's DSN
// project and key, the mail's recipients.
func (c *core) crashOwner() string {
	var parts []string
	if t := c.opts.Tracker; t != nil {
		if dsn, err := wire.ParseDSN(t.DSN); err == nil {
			parts = append(parts, "tracker "+dsn.PublicKey+"/"+dsn.ProjectID)
		}
	}
	if m := c.opts.Mail; m != nil && len(m.To) > 0 {
		to := slices.Clone(m.To)
		slices.Sort(to)
		parts = append(parts, "mail "+strings.Join(to, "\n"))
	}
	return strings.Join(parts, "\n")
}

// armCrashOutput makes a new locked crash file in dir the runtime's crash
// output, or shares the one on top when it is in dir already.
func armCrashOutput(dir string, now time.Time) (*crashOutput, error) {
	crashOutputs.Lock()
	defer crashOutputs.Unlock()
	if n := len(crashOutputs.list); n > 0 {
		if top := crashOutputs.list[n-1]; filepath.Dir(top.f.Name()) == dir {
			top.refs++
			return top, nil
		}
	}
	path := filepath.Join(dir, crashFileName(os.Getpid(), now))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock.TryLock(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := setCrashOutput(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	co := &crashOutput{f: f, refs: 1}
	crashOutputs.list = append(crashOutputs.list, co)
	return co, nil
}

// onlyReported reports whether the crash file at path holds only
// Recover's lines: a panic it reported was recovered further up, and the
// process did not crash.
func onlyReported(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	_, rest := splitReported(b)
	return len(rest) == 0
}

// release drops one Handler's hold on co. The last one takes it off the
// list, gives the runtime's crash output back to the entry below when co
// was on top (none when the list is empty), and deletes co's file, empty
// as long as the process has not crashed.
func (co *crashOutput) release() {
	crashOutputs.Lock()
	defer crashOutputs.Unlock()
	if co.refs--; co.refs > 0 {
		return
	}
	list := crashOutputs.list
	i := slices.Index(list, co)
	if i < 0 {
		return
	}
	crashOutputs.list = slices.Delete(list, i, i+1)
	if i == len(crashOutputs.list) { // it was on top
		var prev *os.File
		if n := len(crashOutputs.list); n > 0 {
			prev = crashOutputs.list[n-1].f
		}
		setCrashOutput(prev) //nolint:errcheck // it worked for the same files before
	}
	if fi, err := co.f.Stat(); err == nil && (fi.Size() == 0 || onlyReported(co.f.Name())) {
		os.Remove(co.f.Name())
	}
	co.f.Close()
}

// reportedPrefix starts a line that Recover writes into the armed crash
// file before it panics again with a value it has reported: the crash
// that may follow is not reported a second time (one failure, one
// report). The value is quoted, as the runtime will print it.
const reportedPrefix = "errlog: reported before panicking again: "

// markReported writes v's text into the crash file armed on top, for
// pickUpCrashes to know the crash it may end in as reported.
func markReported(v any) {
	crashOutputs.Lock()
	defer crashOutputs.Unlock()
	if n := len(crashOutputs.list); n > 0 {
		crashOutputs.list[n-1].f.WriteString(reportedPrefix + strconv.Quote(values.Text(v)) + "\n")
	}
}

// splitReported takes Recover's lines out of a crash file's text: the
// values reported already, and the runtime's text.
func splitReported(text []byte) (reported []string, rest []byte) {
	for bytes.HasPrefix(text, []byte(reportedPrefix)) {
		line, after, _ := bytes.Cut(text, []byte("\n"))
		if v, err := strconv.Unquote(string(line[len(reportedPrefix):])); err == nil {
			reported = append(reported, v)
		}
		text = after
	}
	return reported, text
}

// pickUpCrashes turns every crash file of a dead process in dir into an
// event on the delivery queue. The files are deleted once the sinks have
// flushed those events (sent them, or spooled them for the next start), so
// that a start that crashes at once does not lose the crash before it.
// A report sent twice (a crash between the send and the deletion) has the
// same event id both times.
func (c *core) pickUpCrashes(dir string) {
	des, err := os.ReadDir(dir)
	if err != nil {
		c.onError(fmt.Errorf("errlog: crash reports: %w", err))
		return
	}
	var taken []*os.File // locked until their events are flushed
	for _, de := range des {
		pid, ok := crashFilePID(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, de.Name())
		f, err := os.Open(path)
		if err != nil {
			continue // taken by another process meanwhile
		}
		if flock.TryLock(f) != nil || !sameFile(f, path) {
			// Alive, or just delivered and deleted by another process.
			f.Close()
			continue
		}
		text, err := io.ReadAll(io.LimitReader(f, maxCrashBytes))
		if err != nil {
			f.Close()
			c.onError(fmt.Errorf("errlog: crash reports: %w", err))
			continue
		}
		reported, text := splitReported(text)
		if len(text) == 0 || slices.Contains(reported, parseCrash(string(text)).value) {
			// A clean exit; or a crash by a panic Recover reported and
			// panicked again with: told once, before the crash.
			os.Remove(path)
			f.Close()
			continue
		}
		when := c.now()
		if fi, err := f.Stat(); err == nil {
			when = fi.ModTime() // the crash wrote it last
		}
		if !c.enqueueEvent(c.crashEvent(text, pid, when)) {
			f.Close()
			c.onError(fmt.Errorf("errlog: crash reports: queue full, %s left for the next start", path))
			break
		}
		taken = append(taken, f)
	}
	if len(taken) == 0 {
		return
	}
	c.crashes.Add(1)
	go func() {
		defer c.crashes.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(crashFlushTimeout.Load()))
		defer cancel()
		err := c.flush(ctx)
		for _, f := range taken {
			if err == nil {
				os.Remove(f.Name())
			}
			f.Close()
		}
		if err != nil {
			c.onError(fmt.Errorf("errlog: crash reports: kept for the next start: %w", err))
		}
	}()
}

// crashFlushTimeout bounds the wait for the sinks to take crash reports;
// lowered by tests, read on the crash reports' goroutine.
var crashFlushTimeout = func() *atomic.Int64 {
	var d atomic.Int64
	d.Store(int64(DefaultFlushTimeout))
	return &d
}()

// sameFile reports whether f is still the file at path: another process
// may have delivered and deleted it between our open and our lock.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// enqueueEvent hands a finished event to the delivery goroutine, which
// gives it to every sink; false when the queue is full or closed.
func (c *core) enqueueEvent(ev *event.Event) bool {
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	if c.closed.Load() {
		return false
	}
	select {
	case c.jobs <- job{ev: ev}:
		return true
	default:
		return false
	}
}

// crashEvent builds the fatal event of a crash text.
func (c *core) crashEvent(text []byte, pid int, when time.Time) *event.Event {
	cr := parseCrash(string(text))
	sum := sha256.Sum256(text)
	handled := false
	ex := event.Exception{
		Type:  cr.typ,
		Value: values.Truncate(escapeInvalidUTF8(cr.value), c.san.max),
		Mechanism: &event.Mechanism{
			Type:        "panic",
			Description: cr.description,
			Handled:     &handled,
			Data:        map[string]any{"pid": pid, "goroutine": cr.goroutine},
		},
	}
	if cr.createdBy != "" {
		ex.Mechanism.Data["created_by"] = cr.createdBy
	}
	if len(cr.frames) > 0 {
		ex.Stacktrace = &event.Stacktrace{Frames: cr.frames}
	}
	ev := &event.Event{
		// The same crash file always makes the same event, so that a
		// delivery repeated after a second crash is not a second event.
		EventID:     hex.EncodeToString(sum[:16]),
		Timestamp:   when,
		Level:       event.LevelFatal,
		Logger:      "crash",
		Platform:    "go",
		Logentry:    &event.Logentry{Message: values.Truncate(escapeInvalidUTF8(cr.headline), c.san.max)},
		Exception:   []event.Exception{ex},
		Environment: c.opts.Environment,
		Release:     c.opts.Release,
		SDK:         &event.SDK{Name: "errlog.go", Version: Version},
		Extra: map[string]any{
			"crash output": values.Truncate(escapeInvalidUTF8(string(text)), c.san.max),
		},
	}
	c.env.applyTo(ev)
	return ev
}

// crashReport is what parseCrash finds in the runtime's crash text.
type crashReport struct {
	headline    string // "panic: boom", the first line
	typ, value  string
	description string // earlier panics of a panic during a panic, the signal
	goroutine   string // "18"
	createdBy   string // "main.main (/src/main.go:15)": where the goroutine started
	frames      []event.Frame
}

// runtimeErrors are the runtime's panics whose text lacks the "runtime
// error: " prefix although their value is a runtime.Error.
var runtimeErrors = []string{
	"assignment to entry in nil map",
	"close of nil channel",
	"close of closed channel",
	"send on closed channel",
	"makechan: size out of range",
	"runtime: allocation size out of range",
	"arg size to reflect.call more than 1GB",
	"panic called with nil argument", // *runtime.PanicNilError
}

// runtimeErrorPrefixes begin the other runtime.Error texts without
// "runtime error: ": *runtime.TypeAssertionError, and a value method
// called through a nil pointer.
var runtimeErrorPrefixes = []string{"interface conversion: ", "value method "}

// parseCrash reads a crash text as the runtime prints it:
//
//	panic: boom [recovered]
//		panic: again
//	[signal SIGSEGV: segmentation violation ...]
//
//	goroutine 18 [running]:
//	main.(*T).Boom(...)
//		/src/main.go:10 +0x25
//	created by main.main in goroutine 1
//		/src/main.go:15 +0x109
//
// The first goroutine is the one that crashed; the frames are its stack,
// ordered caller to callee, without the runtime's panic machinery on top.
func parseCrash(text string) crashReport {
	var cr crashReport
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], "panic: ") && !strings.HasPrefix(lines[i], "fatal error: ") {
		i++
	}
	if i == len(lines) {
		// A fatal error's message goes to stderr only (golang/go#76859):
		// the crash file starts with the goroutines. Anything else is
		// not the runtime's text.
		// A fault (SIGSEGV at an unmapped address) leaves its signal
		// line before them.
		i = 0
		var signal []string
		for i < len(lines) && (strings.TrimSpace(lines[i]) == "" || strings.HasPrefix(lines[i], "[signal ")) {
			if strings.HasPrefix(lines[i], "[signal ") {
				signal = append(signal, lines[i])
			}
			i++
		}
		// A fatal signal (SIGABRT, SIGQUIT, a SIGSEGV in C code) starts
		// with its name, then "PC=…" and the like, then the goroutines.
		if i < len(lines) && isSignalHeader(lines[i]) {
			cr.value, cr.headline = lines[i], lines[i]
			for i++; i < len(lines) && lines[i] != ""; i++ {
				signal = append(signal, lines[i])
			}
			for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
				i++
			}
		}
		if i == len(lines) || !strings.HasPrefix(lines[i], "goroutine ") && lines[i] != "runtime stack:" {
			cr.typ, cr.value = "crash", strings.TrimSpace(text)
			cr.headline, _, _ = strings.Cut(cr.value, "\n")
			return cr
		}
		cr.typ = "fatal error"
		cr.description = strings.Join(signal, "\n")
	} else {
		i = cr.parseHeader(lines, i)
	}
	// The first goroutine's block, skipping "runtime stack:" (the system
	// stack a fatal error may print first).
	for ; i < len(lines); i++ {
		if g, ok := strings.CutPrefix(lines[i], "goroutine "); ok && strings.HasSuffix(g, ":") {
			cr.goroutine, _, _ = strings.Cut(g, " ")
			i++
			break
		}
	}
	var frames []event.Frame // innermost first, as printed
	for ; i+1 < len(lines) && lines[i] != ""; i++ {
		fn := lines[i]
		if !strings.HasPrefix(lines[i+1], "\t") {
			continue // "...additional frames elided..."
		}
		i++
		file, line := crashFileLine(lines[i])
		if name, ok := strings.CutPrefix(fn, "created by "); ok {
			// Where the goroutine was started is no frame of its stack:
			// a recovered twin of the panic (errlog.Go) has no such
			// frame, and must group with the crash.
			name, _, _ = strings.Cut(name, " in goroutine ")
			cr.createdBy = fmt.Sprintf("%s (%s:%d)", name, file, line)
			continue
		} else if strings.HasSuffix(fn, ")") {
			if k := strings.LastIndexByte(fn, '('); k > 0 {
				fn = fn[:k]
			}
		}
		if fn != "runtime.goexit" {
			frames = append(frames, stack.NewFrame(fn, file, line))
		}
	}
	var innermost event.Frame
	if len(frames) > 0 {
		innermost = frames[0]
	}
	// The runtime's own frames above the application's (gopanic, a map's
	// fatal) say where the runtime noticed, not what went wrong.
	for len(frames) > 1 && isRuntimeFunc(frames[0]) {
		frames = frames[1:]
	}
	for a, b := 0, len(frames)-1; a < b; a, b = a+1, b-1 {
		frames[a], frames[b] = frames[b], frames[a]
	}
	cr.frames = frames
	if cr.value == "" {
		var missing string
		cr.value, missing = guessFatal(innermost)
		cr.headline = "fatal error: " + cr.value
		if cr.description != "" {
			missing = cr.description + "\n" + missing
		}
		cr.description = missing
	}
	return cr
}

// guessFatal names a fatal error whose message the crash file lacks by
// where the runtime stopped.
func guessFatal(innermost event.Frame) (value, description string) {
	const missing = "the runtime's message is not in its crash output (golang/go#76859); the program's stderr has it"
	if strings.HasPrefix(innermost.Module, "internal/runtime/maps") || strings.HasPrefix(innermost.Function, "map") {
		return "concurrent map access",
			"one of: concurrent map writes, concurrent map read and map write, concurrent map iteration and map write; " + missing
	}
	return "fatal error in " + innermost.Module + "." + innermost.Function, missing
}

// parseHeader reads the lines from the first "panic:" or "fatal error:"
// to the blank line before the goroutines, and returns the index of that
// blank line.
func (cr *crashReport) parseHeader(lines []string, i int) int {
	cr.headline = strings.TrimSuffix(lines[i], " [recovered, repanicked]")
	// The header runs to the first blank line; each "panic:" starts a
	// value, other lines continue it (a value with newlines) or are the
	// signal line.
	var values []string
	var signal []string
	fatal := false
	for ; i < len(lines) && lines[i] != ""; i++ {
		l := lines[i]
		switch t := strings.TrimLeft(l, "\t"); {
		case strings.HasPrefix(t, "panic: "):
			v := strings.TrimSuffix(t[len("panic: "):], " [recovered]")
			// Go 1.25 on prints a value recovered and panicked again once.
			v = strings.TrimSuffix(v, " [recovered, repanicked]")
			values = append(values, v)
		case strings.HasPrefix(t, "fatal error: "):
			fatal = true
			values = append(values, t[len("fatal error: "):])
		case strings.HasPrefix(t, "[signal "):
			signal = append(signal, t)
		case len(values) > 0:
			values[len(values)-1] += "\n" + l
		}
	}
	cr.value = values[len(values)-1]
	switch {
	case fatal:
		cr.typ = "fatal error"
	case strings.HasPrefix(cr.value, "runtime error: "):
		cr.typ = "runtime.Error"
	default:
		cr.typ = "panic"
		for _, s := range runtimeErrors {
			if cr.value == s {
				cr.typ = "runtime.Error"
			}
		}
		for _, p := range runtimeErrorPrefixes {
			if strings.HasPrefix(cr.value, p) {
				cr.typ = "runtime.Error"
			}
		}
	}
	var desc []string
	if len(values) > 1 {
		desc = append(desc, "while panicking with: "+strings.Join(values[:len(values)-1], "; "))
	}
	cr.description = strings.Join(append(desc, signal...), "\n")
	return i
}

// isSignalHeader reports whether l is the runtime's first line for a
// fatal signal: "SIGABRT: abort", "SIGSEGV: segmentation violation".
func isSignalHeader(l string) bool {
	name, _, ok := strings.Cut(l, ": ")
	if !ok || len(name) < 4 || !strings.HasPrefix(name, "SIG") {
		return false
	}
	for _, r := range name[3:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func isRuntimeFunc(f event.Frame) bool {
	return f.Module == "runtime" || strings.HasPrefix(f.Module, "internal/runtime/") ||
		(f.Module == "" && f.Function == "panic")
}

// crashFileLine parses "\t/src/main.go:15 +0x109" (and the
// GOTRACEBACK=system form, "… fp=0x… sp=0x… pc=0x…").
func crashFileLine(s string) (string, int) {
	s = strings.TrimLeft(s, "\t")
	if k := strings.Index(s, " +0x"); k >= 0 {
		s = s[:k]
	}
	if k := strings.Index(s, " fp="); k >= 0 {
		s = s[:k]
	}
	colon := strings.LastIndexByte(s, ':')
	if colon < 0 {
		return s, 0
	}
	n, err := strconv.Atoi(s[colon+1:])
	if err != nil {
		return s, 0
	}
	return s[:colon], n
}
