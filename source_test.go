package errlog

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// thisFileLines returns the lines of this test file, read independently
// of the cache under test.
func thisFileLines(t *testing.T) (string, []string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return file, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// callerLine is the line it is called on.
func callerLine() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

func TestSourceCacheRealFile(t *testing.T) {
	file, want := thisFileLines(t)
	c := newSrcCache(srcCacheBytes, nil)
	for i := 0; i < 100; i++ {
		require.Equal(t, want, c.file(file))
	}
	assert.EqualValues(t, 1, c.reads.Load(), "a file is read once")
	assert.Equal(t, want[9], c.line(file, 10))
	assert.Equal(t, "", c.line(file, 0))
	assert.Equal(t, "", c.line(file, len(want)+1))
}

func TestSourceCacheMissingFile(t *testing.T) {
	c := newSrcCache(srcCacheBytes, nil)
	frames := []event.Frame{
		{Function: "f", AbsPath: "/nonexistent/app/main.go", Lineno: 3, InApp: true},
		{Function: "g", AbsPath: "example.invalid/app/main.go", Lineno: 3, InApp: true}, // -trimpath, another module
		{Function: "h", AbsPath: t.TempDir(), Lineno: 1, InApp: true},                   // a directory
	}
	for i := 0; i < 3; i++ {
		c.addToFrames(frames)
		c.fillLines(frames)
	}
	for _, f := range frames {
		assert.Empty(t, f.ContextLine, f.AbsPath)
		assert.Nil(t, f.PreContext)
		assert.Nil(t, f.PostContext)
	}
	assert.Zero(t, c.reads.Load())
	assert.Len(t, c.files, 3, "remembered, not tried again")
}

// TestSourceCacheBound: the cache keeps at most its budget, drops the
// least recently used file first, and never reads a file larger than half
// of it.
func TestSourceCacheBound(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		line := strings.Repeat("x", 99) + "\n" // 100 bytes, 116 counted
		require.NoError(t, os.WriteFile(p, []byte(strings.Repeat(line, n)), 0o600))
		return p
	}
	a, b, c3 := write("a.go", 10), write("b.go", 10), write("c.go", 10) // ~1.2 KB each
	big := write("big.go", 20)                                          // 2,000 bytes > max/2
	c := newSrcCache(3000, nil)
	c.file(a)
	c.file(b)
	c.file(a) // a is now more recent than b
	c.file(c3)
	assert.LessOrEqual(t, c.size, c.max)
	assert.Contains(t, c.files, a)
	assert.NotContains(t, c.files, b, "the least recently used goes first")
	assert.Contains(t, c.files, c3)
	assert.EqualValues(t, 3, c.reads.Load())
	c.file(b)
	assert.EqualValues(t, 4, c.reads.Load(), "read again once evicted")
	assert.Nil(t, c.file(big))
	assert.EqualValues(t, 4, c.reads.Load(), "too large: never read")
	assert.LessOrEqual(t, c.size, c.max)
}

func TestMaskSourceLine(t *testing.T) {
	m, err := newMasker(MaskOptions{Keys: []string{"password", "token", "secret"}})
	require.NoError(t, err)
	with := "***"
	for _, tt := range []struct{ in, want string }{
		{`	password := "hunter2"`, `	password := "***"`},
		{`	cfg.Password = "a \"quoted\" pw" // the admin's`, `	cfg.Password = "***" // the admin's`},
		{"	const apiToken = `raw`", "	const apiToken = `***`"},
		{`	login(user, "hunter2") // no key on this line`, `	login(user, "hunter2") // no key on this line`},
		{`	pin, secret := 1234, lookup("x")`, `	pin, secret := ***, lookup("***")`},
		{`	secretKey2 := "k"`, `	secretKey2 := "***"`},
		{`	db, _ := sql.Open("pg", "postgres://u:pw@db/app")`, `	db, _ := sql.Open("pg", "***")`},
		{`	dsn := "https://key@o1.ingest.sentry.io/1"`, `	dsn := "***"`},
		{`	get("https://example.com/a@b")`, `	get("https://example.com/a@b")`},
		{`	password := "runs on`, `	password := "***`},
		{`	password = ""`, `	password = ""`},
	} {
		assert.Equal(t, tt.want, maskSourceLine(tt.in, m.mentionsKey, with), tt.in)
	}
}

// TestSourceContextEvent: an event's in-app frames get the line and five
// lines around it, read from the real file; library frames the line only.
func TestSourceContextEvent(t *testing.T) {
	file, lines := thisFileLines(t)
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}})
	defer h.Close(context.Background())
	line := callerLine() + 1
	slog.New(h).Error("source context", "err", errors.New("boom"))
	require.NoError(t, h.Flush(context.Background()))
	evs := sink.all()
	require.Len(t, evs, 1)
	frames := evs[0].Frames()
	f := frames[len(frames)-1]
	require.Equal(t, file, f.AbsPath)
	require.Equal(t, line, f.Lineno)
	assert.Equal(t, lines[line-1], f.ContextLine, "tabs kept")
	assert.Equal(t, lines[line-6:line-1], f.PreContext)
	assert.Equal(t, lines[line:line+5], f.PostContext)
	for _, lib := range frames[:len(frames)-1] {
		assert.False(t, lib.InApp)
		assert.Nil(t, lib.PreContext, lib.Function)
		assert.Nil(t, lib.PostContext, lib.Function)
		if _, err := os.Stat(lib.AbsPath); err == nil {
			assert.NotEmpty(t, lib.ContextLine, "%s: a library frame gets its line", lib.Function)
		}
	}
	raw, err := evs[0].MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"context_line":`)
	assert.Contains(t, string(raw), `"pre_context":[`)
}

func TestSourceContextOff(t *testing.T) {
	sink := &captureSink{}
	var console syncBuffer
	h := NewHandler(Options{Console: &console, NoColor: true, SourceContext: SourceOff, Sinks: []EventSink{sink}})
	defer h.Close(context.Background())
	slog.New(h).Error("no source")
	require.NoError(t, h.Flush(context.Background()))
	for _, f := range sink.all()[0].Frames() {
		assert.Empty(t, f.ContextLine)
	}
	assert.NotContains(t, console.String(), `slog.New(h).Error("no source")`)
	assert.Nil(t, h.c.src, "no file is read")
}

// TestSourceContextFileAndMailLayout checks the log file and the mail,
// line by line: the code line under each in-app frame, indented, as
// Python prints it; none under library frames.
func TestSourceContextFileAndMailLayout(t *testing.T) {
	file, lines := thisFileLines(t)
	var out syncBuffer
	mailDir := t.TempDir()
	h := NewHandler(Options{Console: io.Discard, File: &logfile.Options{Writer: &out, Format: "%(levelname)s %(message)s"},
		Mail: &MailOptions{Dir: mailDir, To: []string{"ops@example.com"}}})
	defer h.Close(context.Background())
	line := callerLine() + 1
	slog.New(h).Error("layout")
	require.NoError(t, h.Flush(context.Background()))
	code := strings.TrimSpace(lines[line-1])
	require.Equal(t, `slog.New(h).Error("layout")`, code)

	got := strings.Split(out.String(), "\n")
	require.GreaterOrEqual(t, len(got), 7, out.String())
	assert.Equal(t, []string{
		"ERROR layout",
		"Stack (most recent call first):",
		"  github.com/errlog/errlog.TestSourceContextFileAndMailLayout",
		"  \t" + file + ":" + strconv.Itoa(line),
		"  \t    " + code,
		"  testing.tRunner",
	}, got[:6])
	assert.NotContains(t, got[6], "\t    ", "no code line under a library frame")

	emls, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
	require.Len(t, emls, 1)
	b, err := os.ReadFile(emls[0])
	require.NoError(t, err)
	m := parseMail(t, b)
	text := strings.Split(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n")
	i := 0
	for i < len(text) && text[i] != "Stack trace (most recent call first):" {
		i++
	}
	require.Less(t, i+5, len(text), m.Text)
	assert.Equal(t, []string{
		"  github.com/errlog/errlog.TestSourceContextFileAndMailLayout",
		"      " + file + ":" + strconv.Itoa(line),
		"        " + code,
		"  testing.tRunner",
	}, text[i+1:i+5])
	assert.NotEqual(t, "        ", text[i+6][:min(8, len(text[i+6]))], "no code line under a library frame")
	assert.Contains(t, m.HTML, html.EscapeString(code))
}

func TestSourceContextConsole(t *testing.T) {
	for _, tt := range []struct {
		mode SourceMode
		want bool
	}{{SourceDefault, false}, {SourceOn, true}, {SourceOff, false}} {
		var console syncBuffer
		h := NewHandler(Options{Console: &console, NoColor: true, SourceContext: tt.mode})
		slog.New(h).Error("console")
		h.Close(context.Background())
		assert.Equal(t, tt.want, strings.Contains(console.String(), "    \t    slog.New(h).Error(\"console\")\n"),
			"mode %d (the buffer is no terminal):\n%s", tt.mode, console.String())
	}
}

func TestFromEnvSourceContext(t *testing.T) {
	for v, want := range map[string]SourceMode{"": SourceDefault, "false": SourceOff, "0": SourceOff, "true": SourceOn, "maybe": SourceDefault} {
		lookup := func(name string) (string, bool) {
			if name == "ERRLOG_SOURCE_CONTEXT" && v != "" {
				return v, true
			}
			return "", false
		}
		assert.Equal(t, want, fromEnv(lookup, io.Discard).SourceContext, "ERRLOG_SOURCE_CONTEXT=%q", v)
	}
}

// TestSourceContextTrimpath runs a program built with -trimpath, whose
// frames name files by module path: the source is found from the main
// module's directory, and not at all from elsewhere.
func TestSourceContextTrimpath(t *testing.T) {
	bin := buildChild(t, "crasher", true)
	wd, err := os.Getwd()
	require.NoError(t, err)
	src, err := os.ReadFile(filepath.Join(wd, "testdata", "crasher", "main.go"))
	require.NoError(t, err)
	lines := strings.Split(string(src), "\n")
	lineNo := 0
	for i, l := range lines {
		if strings.Contains(l, `slog.Error("source line under test"`) {
			lineNo = i + 1
		}
	}
	require.NotZero(t, lineNo)

	run := func(dir string) (*event.Event, string) {
		f := trackertest.NewFake(t)
		logFile := filepath.Join(t.TempDir(), "app.log")
		cmd := exec.Command(bin, "source")
		cmd.Dir = dir
		cmd.Env = append(childEnv(os.Environ()), "ERRLOG_DSN="+f.DSN(), "ERRLOG_SPOOL_DIR="+t.TempDir(),
			"ERRLOG_FILE="+logFile, "ERRLOG_FORMAT=%(message)s")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		evs := f.Acked()
		require.Len(t, evs, 1)
		b, err := os.ReadFile(logFile)
		require.NoError(t, err)
		return evs[0], string(b)
	}

	ev, logText := run(filepath.Join(wd, "testdata", "crasher")) // go.mod is two levels up
	frames := ev.Frames()
	fr := frames[len(frames)-1]
	require.Equal(t, "failHere", fr.Function)
	require.Equal(t, "github.com/errlog/errlog/testdata/crasher/main.go", fr.AbsPath, "a -trimpath path")
	require.Equal(t, lineNo, fr.Lineno)
	assert.Equal(t, lines[lineNo-1], fr.ContextLine)
	require.Len(t, fr.PreContext, 5)
	assert.Equal(t, "\ttoken := \"**************\"", fr.PreContext[3], "a literal on a line naming a masked key")
	assert.Equal(t, "\tn := len(token)", fr.PreContext[4])
	assert.Equal(t, lines[lineNo:lineNo+5], fr.PostContext)
	assert.Contains(t, logText, "  main.failHere\n  \tgithub.com/errlog/errlog/testdata/crasher/main.go:"+strconv.Itoa(lineNo)+
		"\n  \t    "+strings.TrimSpace(lines[lineNo-1])+"\n")

	// Run from elsewhere, the source cannot be found: no lines, no error.
	ev, logText = run(t.TempDir())
	frames = ev.Frames()
	fr = frames[len(frames)-1]
	assert.Equal(t, "failHere", fr.Function)
	assert.Empty(t, fr.ContextLine)
	assert.NotContains(t, logText, "\t    ")
}

// BenchmarkErrorToFile measures what an ERROR costs the caller with the
// log file (stack and, with source, the code lines under it), after the
// first occurrence: compare on and off in the same run.
func BenchmarkErrorToFile(b *testing.B) {
	for _, mode := range []struct {
		name string
		m    SourceMode
	}{{"source=off", SourceOff}, {"source=on", SourceDefault}} {
		b.Run(mode.name, func(b *testing.B) {
			h := NewHandler(Options{Console: io.Discard, SourceContext: mode.m,
				File: &logfile.Options{Writer: io.Discard}})
			defer h.Close(context.Background())
			logger := slog.New(h)
			err := errors.New("card declined")
			logger.Error("payment failed", "err", err, "order", 1234) // the first occurrence reads the file
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				logger.Error("payment failed", "err", err, "order", 1234)
			}
		})
	}
}

// BenchmarkSourceFillLines is what source lines add to an ERROR's cost to
// the caller after the first occurrence: one cache lookup per in-app
// frame of the stack (here: this function and the testing runner's).
func BenchmarkSourceFillLines(b *testing.B) {
	var buf [stack.Max]uintptr
	frames := stack.Frames(stack.Callers(0, buf[:0]))
	c := newSrcCache(srcCacheBytes, nil)
	c.fillLines(frames)
	inApp := 0
	for _, f := range frames {
		if f.InApp {
			inApp++
		}
	}
	b.ReportMetric(float64(inApp), "in-app-frames")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.fillLines(frames)
	}
}
