//go:build go1.23 && unix && !solaris && !aix

package errlog

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCrashReportsNextStart crashes a real program three ways, each
// leaving a crash file in the spool, then starts errlog again on that
// spool: the tracker receives one fatal, unhandled panic event per crash,
// with the crashing goroutine's frames, and the files are gone. A third
// start sends nothing again.
func TestCrashReportsNextStart(t *testing.T) {
	bin := buildChild(t, "crasher", false)
	spool := t.TempDir()
	env := append(childEnv(os.Environ()), "ERRLOG_SPOOL_DIR="+spool, "ERRLOG_DSN="+trackertest.DeadDSN(t))
	for _, kind := range []string{"goroutine", "mapwrites", "nilmap"} {
		cmd := exec.Command(bin, kind)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%s: the child must crash\n%s", kind, out)
		require.Equal(t, 2, ee.ExitCode(), "%s\n%s", kind, out)
	}
	files, _ := filepath.Glob(filepath.Join(spool, crashDirName, "crash-*.txt"))
	require.Len(t, files, 3, "one crash file per crashed process")

	f := trackertest.NewFake(t)
	var reports trackertest.ErrLog
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true, OnDeliveryError: reports.Add,
		Tracker: &tracker.Options{DSN: f.DSN(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}})
	t.Cleanup(func() { h.Close(context.Background()) })
	trackertest.WaitFor(t, func() bool { return len(f.Acked()) >= 3 })

	byValue := map[string]*event.Event{}
	for _, ev := range f.Acked() {
		require.Len(t, ev.Exception, 1)
		byValue[ev.Exception[0].Value] = ev
	}
	want := []struct {
		value, typ, culprit, outer string
	}{
		{"boom in a bare goroutine", "panic", "main.explode", "main.main.func1"},
		// The runtime's message is missing from the crash file
		// (golang/go#76859): named by where it stopped.
		{"concurrent map access", "fatal error", "main.main.func2", "main.main.func2"},
		{"assignment to entry in nil map", "runtime.Error", "main.main", "main.main"},
	}
	for _, w := range want {
		ev := byValue[w.value]
		require.NotNil(t, ev, "no event with value %q among %v", w.value, keys(byValue))
		ex := ev.Exception[0]
		assert.Equal(t, event.LevelFatal, ev.Level, w.value)
		assert.Equal(t, w.typ, ex.Type, w.value)
		require.NotNil(t, ex.Mechanism)
		assert.Equal(t, "panic", ex.Mechanism.Type)
		require.NotNil(t, ex.Mechanism.Handled)
		assert.False(t, *ex.Mechanism.Handled)
		require.NotNil(t, ex.Stacktrace, w.value)
		frames := ex.Stacktrace.Frames
		last := frames[len(frames)-1]
		assert.Equal(t, w.culprit, last.Module+"."+last.Function, "%s: innermost frame (runtime frames dropped): %+v", w.value, frames)
		assert.True(t, last.InApp)
		assert.True(t, strings.HasSuffix(last.AbsPath, "testdata/crasher/main.go"), last.AbsPath)
		assert.Greater(t, last.Lineno, 0)
		assert.Equal(t, w.outer, frames[0].Module+"."+frames[0].Function, "%s: outermost frame: %+v", w.value, frames)
		if w.typ == "fatal error" {
			assert.Contains(t, ex.Mechanism.Description, "concurrent map writes")
			assert.Equal(t, "fatal error: concurrent map access", ev.Message())
		} else {
			assert.Contains(t, ev.Extra["crash output"], w.value)
		}
		assert.NotEmpty(t, ev.Contexts["runtime"], "the environment of the restarted program")
	}
	// The goroutine's frames: the closure and explode; the go statement
	// is where it was created, not a frame of its stack.
	boom := byValue["boom in a bare goroutine"].Exception[0]
	g := boom.Stacktrace.Frames
	require.Len(t, g, 2, "%+v", g)
	assert.Equal(t, "main.func1", g[0].Function)
	assert.Contains(t, boom.Mechanism.Data["created_by"], "main.main (")
	// Like any event, with its source lines.
	assert.Equal(t, "\tpanic(msg)", g[1].ContextLine)
	assert.Len(t, g[1].PreContext, 5)

	// The files go once the tracker has the events, by the time Close
	// returns (it waits for the goroutine that hands them over); the armed
	// file of this process stays, empty, until Close gives the crash
	// output back.
	own, _ := filepath.Glob(filepath.Join(spool, crashDirName, "crash-"+strconv.Itoa(os.Getpid())+"-*.txt"))
	require.Len(t, own, 1, "this process's armed file")
	require.NoError(t, h.Close(context.Background()))
	files, _ = filepath.Glob(filepath.Join(spool, crashDirName, "crash-*.txt"))
	assert.Empty(t, files)
	assert.Empty(t, reports.Strings())

	// Another start on the same spool sends nothing more.
	h2 := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true, OnDeliveryError: reports.Add,
		Tracker: &tracker.Options{DSN: f.DSN()}})
	require.NoError(t, h2.Flush(context.Background()))
	require.NoError(t, h2.Close(context.Background()))
	assert.Len(t, f.Acked(), 3)
}

// TestCrashReportsLiveProcess: the crash file of a process that is still
// running is its own, locked; a start beside it leaves it alone.
func TestCrashReportsLiveProcess(t *testing.T) {
	bin := buildChild(t, "crasher", false)
	spool := t.TempDir()
	cmd := exec.Command(bin, "wait")
	cmd.Env = append(childEnv(os.Environ()), "ERRLOG_SPOOL_DIR="+spool, "ERRLOG_DSN="+trackertest.DeadDSN(t))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Wait()
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	childGlob, _ := filepath.Glob(filepath.Join(spool, crashDirName, "crash-"+strconv.Itoa(cmd.Process.Pid)+"-*.txt"))
	require.Len(t, childGlob, 1)

	f := trackertest.NewFake(t)
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true, Tracker: &tracker.Options{DSN: f.DSN()}})
	require.NoError(t, h.Flush(context.Background()))
	require.NoError(t, h.Close(context.Background()))
	assert.Empty(t, f.Acked())
	_, err = os.Stat(childGlob[0])
	assert.NoError(t, err, "the live process's file stays")

	// Once it exits cleanly, its empty file is swept by the next start.
	stdin.Close()
	require.NoError(t, cmd.Wait())
	h = NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true, Tracker: &tracker.Options{DSN: f.DSN()}})
	require.NoError(t, h.Close(context.Background()))
	_, err = os.Stat(childGlob[0])
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Empty(t, f.Acked())
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCrashOutputRestored: Close gives the runtime's crash output back.
// A second Handler with crash reports, opened and closed, leaves the
// crash to the first one's file (and removes its own, empty); a closed
// Handler leaves the runtime with no crash file at all.
func TestCrashOutputRestored(t *testing.T) {
	bin := buildChild(t, "crasher", false)
	spool, spool2 := t.TempDir(), t.TempDir()
	env := append(childEnv(os.Environ()), "ERRLOG_SPOOL_DIR="+spool, "ERRLOG_DSN="+trackertest.DeadDSN(t))
	crash := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v: the child must crash\n%s", args, out)
	}
	crashFiles := func(dir string) []string {
		files, _ := filepath.Glob(filepath.Join(dir, crashDirName, "crash-*.txt"))
		return files
	}

	crash("restore", spool2)
	assert.Empty(t, crashFiles(spool2), "the closed second Handler's file is removed")
	files := crashFiles(spool)
	require.Len(t, files, 1)
	text, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(text), "boom after the second handler closed")
	require.NoError(t, os.Remove(files[0]))

	crash("closed")
	assert.Empty(t, crashFiles(spool), "after Close the runtime writes no crash file")
}

// A crash report is masked as any event is: the runtime's text quotes the
// panic value, and a URL's password in it (masked when Middleware or
// Recover catches the same panic) left the process in the exception, the
// message and the "crash output" extra.
func TestCrashReportMasked(t *testing.T) {
	spool := t.TempDir()
	dir := filepath.Join(spool, crashDirName)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	text := "panic: dial postgres://app:s3cr3t-pw@db.internal/prod: connection refused\n\n" +
		"goroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x25\nexit status 2\n"
	name := crashFileName(999999, time.Now().Add(-time.Hour))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true, Sinks: []EventSink{sink}})
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1, "the crash report")
	b, err := json.Marshal(evs[0])
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t-pw")
	assert.Contains(t, evs[0].Exception[0].Value, "postgres://app:")
	assert.Contains(t, string(b), "db.internal/prod", "the rest of the text is kept")
}
