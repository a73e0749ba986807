//go:build go1.23 && unix && !solaris && !aix

package errlog

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCrashChild runs testdata/crashprog with args on spool, sending to
// dsn, and returns its exit code.
func runCrashChild(t *testing.T, bin, spool, dsn string, args ...string) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(childEnv(os.Environ()), "ERRLOG_SPOOL_DIR="+spool, "ERRLOG_DSN="+dsn, "ERRLOG_MAIL_TO=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	require.True(t, ok, "%v\n%s", err, out)
	return ee.ExitCode()
}

// nextStartEvents starts errlog on spool with a live fake tracker and
// returns what it sends: crash reports and the spooled backlog.
func nextStartEvents(t *testing.T, spool string, f *trackertest.Fake, want int) []*event.Event {
	t.Helper()
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true,
		Tracker: &tracker.Options{DSN: f.DSN(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}})
	deadline := time.Now().Add(5 * time.Second)
	for len(f.Acked()) < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, h.Close(context.Background()))
	return f.Acked()
}

// A runtime panic whose text lacks "runtime error: " (a failed type
// assertion, panic(nil), makechan) is a runtime.Error: recovered by
// errlog.Go it is reported as type runtime.Error, but the same panic
// crashing the program is typed "panic" from its crash file, so the two
// make two groups, against docs/grouping.md ("a panic recovered by
// errlog.Go … and the same panic crashing the program … are one group").
func TestCrashGroupsWithRecoveredRuntimeError(t *testing.T) {
	bin := buildChild(t, "crashprog", false)
	for _, kind := range []string{"plain", "typeassert", "nilpanic", "makechan"} {
		f := trackertest.NewFake(t)
		require.Equal(t, 0, runCrashChild(t, bin, t.TempDir(), f.DSN(), "recover", kind))
		rec := f.Acked()
		require.Len(t, rec, 1, kind)
		spool := t.TempDir()
		require.Equal(t, 2, runCrashChild(t, bin, spool, trackertest.DeadDSN(t), "crash", kind))
		cr := nextStartEvents(t, spool, trackertest.NewFake(t), 1)
		require.Len(t, cr, 1, kind)
		if rec[0].Exception[0].Type == "runtime.Error" {
			assert.Equal(t, "runtime.Error", cr[0].Exception[0].Type, "%s: the exception type", kind)
		}
		assert.Equal(t, rec[0].GroupKey(), cr[0].GroupKey(), "%s: recovered and crashed, one group", kind)
	}
}

// A SIGSEGV at an unmapped address (unsafe, cgo) is a fatal error whose
// "fatal error: fault" line goes to stderr only: the crash file starts
// with the "[signal SIGSEGV …]" line. It is reported as type "crash",
// the whole crash text as its value and no stack at all.
func TestCrashReportFaultAddress(t *testing.T) {
	bin := buildChild(t, "crashprog", false)
	spool := t.TempDir()
	require.Equal(t, 2, runCrashChild(t, bin, spool, trackertest.DeadDSN(t), "fault"))
	cr := nextStartEvents(t, spool, trackertest.NewFake(t), 1)
	require.Len(t, cr, 1)
	ex := cr[0].Exception[0]
	assert.Equal(t, "fatal error", ex.Type)
	assert.Contains(t, ex.Mechanism.Description, "SIGSEGV")
	require.NotNil(t, ex.Stacktrace, "the crashing goroutine's frames")
	last := ex.Stacktrace.Frames[len(ex.Stacktrace.Frames)-1]
	assert.Equal(t, "main.main", last.Module+"."+last.Function)
	assert.NotContains(t, ex.Value, "goroutine 1", "the value is not the whole crash text")
}

// A panic the program recovers and panics again with: since Go 1.25 the
// runtime prints it once, as "panic: v [recovered, repanicked]". The
// crash report kept the runtime's note in its value and title. (Through
// errlog.Recover, which reports it first, the crash is not reported
// again: TestRecoverRepanicOneReport.)
func TestCrashReportRepanicValue(t *testing.T) {
	bin := buildChild(t, "crashprog", false)
	spool := t.TempDir()
	require.Equal(t, 2, runCrashChild(t, bin, spool, trackertest.DeadDSN(t), "crash", "repanicplain"))
	evs := nextStartEvents(t, spool, trackertest.NewFake(t), 1)
	require.Len(t, evs, 1, "the crash report")
	assert.Equal(t, "repanicked boom", evs[0].Exception[0].Value)
	assert.NotContains(t, evs[0].Message(), "repanicked]")
}

// A crash report picked up by a start whose tracker is down is sent by
// the start after, once.
func TestCrashReportTrackerDownAtNextStart(t *testing.T) {
	bin := buildChild(t, "crashprog", false)
	spool := t.TempDir()
	require.Equal(t, 2, runCrashChild(t, bin, spool, trackertest.DeadDSN(t), "crash", "plain"))
	defer crashFlushTimeout.Store(crashFlushTimeout.Swap(int64(500 * time.Millisecond)))
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true,
		Tracker: &tracker.Options{DSN: trackertest.DeadDSN(t)}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	t.Logf("close: %v", h.Close(ctx))
	f := trackertest.NewFake(t)
	evs := nextStartEvents(t, spool, f, 2)
	for _, ev := range evs {
		t.Logf("%s %s %s", ev.EventID, ev.Level, ev.Message())
	}
	require.NotEmpty(t, evs)
	ids := map[string]bool{}
	for _, ev := range evs {
		ids[ev.EventID] = true
	}
	assert.Len(t, ids, 1, "one crash, one event id")
}

// A process ended by a signal (SIGABRT, SIGQUIT from an operator, a
// SIGSEGV in C code) leaves a crash file that starts "SIGABRT: abort",
// then "PC=…": reported as type "crash" with the whole crash text (all
// goroutines) as its value and no stack, not as the guide's "panic,
// runtime.Error or fatal error".
func TestCrashReportSignal(t *testing.T) {
	bin := buildChild(t, "crashprog", false)
	spool := t.TempDir()
	require.Equal(t, 2, runCrashChild(t, bin, spool, trackertest.DeadDSN(t), "abort"))
	cr := nextStartEvents(t, spool, trackertest.NewFake(t), 1)
	require.Len(t, cr, 1)
	ex := cr[0].Exception[0]
	assert.Contains(t, []string{"panic", "runtime.Error", "fatal error"}, ex.Type)
	assert.Equal(t, "SIGABRT: abort", ex.Value)
	assert.NotContains(t, ex.Value, "goroutine ", "the value is not the whole crash text")
	assert.NotNil(t, ex.Stacktrace)
}

// The first panic of a panic during a panic is quoted in the mechanism's
// description: masked too?
func TestCrashReportMaskedDescription(t *testing.T) {
	spool := t.TempDir()
	dir := filepath.Join(spool, crashDirName)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	text := "panic: dial postgres://app:s3cr3t-pw@db.internal/prod: connection refused [recovered]\n\tpanic: cleanup failed\n\n" +
		"goroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x25\nexit status 2\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, crashFileName(999999, time.Now().Add(-time.Hour))), []byte(text), 0o600))
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true, Sinks: []EventSink{sink}})
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	b, err := json.Marshal(evs[0])
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t-pw")
	assert.Contains(t, evs[0].Exception[0].Mechanism.Description, "while panicking with: dial postgres://app:")
}

// Two programs of one name share the default spool directory; since the
// configuration fixes each one's tracker and mail folders are owned by
// its DSN or recipients, "so that neither sends the other's backlog"
// (defaultSpoolDir). The crash folder is not: the shop's crash is sent by
// the blog, to the blog's project, with the blog's release and
// environment, and the shop's own next start never sees it.
func TestCrashReportOtherProgramsSpool(t *testing.T) {
	bin := buildChild(t, "crashprog", false)
	spool := t.TempDir()
	// The shop (project 42) crashes while its tracker is down.
	require.Equal(t, 2, runCrashChild(t, bin, spool, trackertest.DeadDSN(t), "crash", "plain"))
	// The blog, another project, starts on the same spool.
	blog := trackertest.NewFake(t)
	blogDSN := strings.TrimSuffix(blog.DSN(), "/42") + "/7" // the same key, as the fake wants
	h := NewHandler(Options{Console: io.Discard, SpoolDir: spool, CrashReports: true, Release: "blog@1.0",
		Tracker: &tracker.Options{DSN: blogDSN}})
	require.NoError(t, h.Flush(context.Background()))
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, h.Close(context.Background()))
	for _, ev := range blog.Acked() {
		t.Logf("the blog's tracker got %q (release %s)", ev.Message(), ev.Release)
	}
	assert.Empty(t, blog.Acked(), "the shop's crash went to the blog's project")
	// The shop's next start sends it to the shop's project.
	shop := trackertest.NewFake(t)
	assert.Len(t, nextStartEvents(t, spool, shop, 1), 1, "the shop's crash, to the shop")
}

// errlog.Recover reports a panic, then panics again: the program crashes,
// and its crash file would be a second report of the same failure at the
// next start, a second mail (one failure, one report).
func TestRecoverRepanicOneReport(t *testing.T) {
	bin := buildChild(t, "crashprog", false)
	spool, mails := t.TempDir(), t.TempDir()
	cmd := exec.Command(bin, "crash", "repanic")
	cmd.Env = append(childEnv(os.Environ()), "ERRLOG_SPOOL_DIR="+spool, "ERRLOG_MAIL_DIR="+mails, "ERRLOG_MAIL_TO=ops@example.com")
	_ = cmd.Run()
	first, _ := filepath.Glob(filepath.Join(mails, "*"))
	t.Logf("mails after the crash: %v", first)
	cmd = exec.Command(bin, "recover", "plain") // the next start, a clean run
	cmd.Env = append(childEnv(os.Environ()), "ERRLOG_SPOOL_DIR="+spool, "ERRLOG_MAIL_DIR="+mails, "ERRLOG_MAIL_TO=ops@example.com")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	all, _ := filepath.Glob(filepath.Join(mails, "*"))
	var about []string
	for _, m := range all {
		b, _ := os.ReadFile(m)
		if strings.Contains(string(b), "repanicked boom") {
			about = append(about, filepath.Base(m))
		}
	}
	for _, m := range about {
		b, _ := os.ReadFile(filepath.Join(mails, m))
		subj, _, _ := strings.Cut(string(b[strings.Index(string(b), "Subject:"):]), "\n")
		t.Logf("%s: %s", m, subj)
	}
	assert.Len(t, about, 1, "mails about the one repanicked panic: %v", about)
}
