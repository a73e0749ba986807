package logfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/errlog/errlog/internal/record"
	"github.com/errlog/errlog/internal/testutil"
)

// fileBuffer is a testutil.SyncBuffer that counts Closes, which a Handler must
// never call on a Writer it was given.
type fileBuffer struct {
	testutil.SyncBuffer
	closes atomic.Int32
}

func (b *fileBuffer) Close() error {
	b.closes.Add(1)
	return nil
}

func newTestFileHandler(t testing.TB, o Options) (*Handler, *fileBuffer) {
	t.Helper()
	w := &fileBuffer{}
	o.Writer = w
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.f.loc = time.UTC
	return h, w
}

func TestFileHandlerSlogtest(t *testing.T) {
	h, w := newTestFileHandler(t, Options{
		Format:     "time=%(asctime)s level=%(levelname)s msg=%(message)s",
		DateFormat: "%Y-%m-%dT%H:%M:%S",
		Level:      slog.LevelDebug,
		ErrorLevel: slog.Level(100),
	})
	err := slogtest.TestHandler(h, func() []map[string]any {
		var ms []map[string]any
		for _, line := range strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n") {
			m, err := parseFileLine(line)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			ms = append(ms, m)
		}
		return ms
	})
	if err != nil {
		t.Error(err)
	}
}

// parseFileLine reads a line of key=value pairs, quoted where slog quotes,
// into nested maps by the dots of the keys; a time of "-" is no time.
func parseFileLine(line string) (map[string]any, error) {
	m := map[string]any{}
	for s := line; s != ""; {
		key, rest, err := parseFileToken(s, '=')
		if err != nil {
			return nil, err
		}
		if rest == "" || rest[0] != '=' {
			return nil, fmt.Errorf("no '=' after %q", key)
		}
		val, rest, err := parseFileToken(rest[1:], ' ')
		if err != nil {
			return nil, err
		}
		s = strings.TrimPrefix(rest, " ")
		if key == slog.TimeKey && val == "-" {
			continue
		}
		testutil.SetDotted(m, key, val)
	}
	return m, nil
}

func parseFileToken(s string, end byte) (tok, rest string, err error) {
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", err
		}
		tok, err = strconv.Unquote(q)
		return tok, s[len(q):], err
	}
	if i := strings.IndexByte(s, end); i >= 0 {
		return s[:i], s[i:], nil
	}
	return s, "", nil
}

func TestFileHandlerLines(t *testing.T) {
	at := func(l slog.Level, msg string, attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(fmtTestTime, l, msg, 0)
		r.AddAttrs(attrs...)
		return r
	}
	tests := []struct {
		name    string
		opts    Options
		derive  func(slog.Handler) slog.Handler
		records []slog.Record
		want    string
	}{
		{
			name:    "default format",
			records: []slog.Record{at(slog.LevelWarn, "disk full", slog.Int("free_mb", 12))},
			want:    "2003-07-08 15:29:45,896 WARNING: disk full [in (unknown file):0] free_mb=12\n",
		},
		{
			name:    "below the level",
			records: []slog.Record{at(slog.LevelInfo, "not here")},
			want:    "",
		},
		{
			name:    "level",
			opts:    Options{Level: slog.LevelDebug, Format: "%(levelname)-7s %(message)s"},
			records: []slog.Record{at(slog.LevelDebug, "a"), at(slog.LevelInfo, "b"), at(slog.LevelWarn, "c")},
			want:    "DEBUG   a\nINFO    b\nWARNING c\n",
		},
		{
			name:    "date format",
			opts:    Options{Format: "[%(asctime)s] %(message)s", DateFormat: "%d/%b/%Y %H:%M:%S"},
			records: []slog.Record{at(slog.LevelWarn, "m")},
			want:    "[08/Jul/2003 15:29:45] m\n",
		},
		{
			name: "attrs and groups",
			opts: Options{Format: "%(message)s user=%(user)s"},
			derive: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("user", "ann"), slog.String("svc", "api")}).WithGroup("req").WithAttrs([]slog.Attr{slog.Int("id", 7)})
			},
			records: []slog.Record{at(slog.LevelWarn, "slow", slog.Duration("took", 1500*time.Millisecond), slog.Group("db", slog.String("q", "select 1")))},
			want:    "slow user=ann svc=api req.id=7 req.took=1.5s req.db.q=\"select 1\"\n",
		},
		{
			name:    "named group attr",
			opts:    Options{Format: "%(message)s %(req.id)s"},
			derive:  func(h slog.Handler) slog.Handler { return h.WithGroup("req") },
			records: []slog.Record{at(slog.LevelWarn, "m", slog.Int("id", 9), slog.Int("n", 1))},
			want:    "m 9 req.n=1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh, w := newTestFileHandler(t, tt.opts)
			var h slog.Handler = fh
			if tt.derive != nil {
				h = tt.derive(h)
			}
			for _, r := range tt.records {
				if !h.Enabled(context.Background(), r.Level) {
					continue
				}
				if err := h.Handle(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			if got := w.String(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestFileHandlerDerivedDoNotAlias(t *testing.T) {
	h, w := newTestFileHandler(t, Options{Format: "%(message)s"})
	base := h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).WithAttrs([]slog.Attr{slog.Int("b", 2)})
	h1 := base.WithAttrs([]slog.Attr{slog.Int("c", 3)})
	h2 := base.WithAttrs([]slog.Attr{slog.Int("d", 4)})
	g1 := base.WithGroup("g").WithAttrs([]slog.Attr{slog.Int("e", 5)})
	g2 := base.WithGroup("h").WithAttrs([]slog.Attr{slog.Int("f", 6)})
	ctx := context.Background()
	for _, h := range []slog.Handler{h1, h2, g1, g2, base, h} {
		if err := h.Handle(ctx, slog.NewRecord(fmtTestTime, slog.LevelWarn, "m", 0)); err != nil {
			t.Fatal(err)
		}
	}
	want := "m a=1 b=2 c=3\nm a=1 b=2 d=4\nm a=1 b=2 g.e=5\nm a=1 b=2 h.f=6\nm a=1 b=2\nm\n"
	if got := w.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if h.WithAttrs(nil) != slog.Handler(h) || h.WithGroup("") != slog.Handler(h) {
		t.Error("WithAttrs(nil) or WithGroup(\"\") did not return the handler itself")
	}
}

func TestFileHandlerStack(t *testing.T) {
	h, w := newTestFileHandler(t, Options{Format: "%(levelname)s %(funcName)s: %(message)s"})
	logger := slog.New(h)
	logger.Warn("no stack")
	logger.Error("boom", "n", 1)
	lines := strings.Split(w.String(), "\n")
	if len(lines) < 6 {
		t.Fatalf("output too short:\n%s", w.String())
	}
	if lines[0] != "WARNING TestFileHandlerStack: no stack" || lines[1] != "ERROR TestFileHandlerStack: boom n=1" {
		t.Errorf("lines:\n%s", w.String())
	}
	if lines[2] != strings.TrimSuffix(stackHeader, "\n") {
		t.Errorf("line 3 = %q, want the stack header", lines[2])
	}
	// The innermost frame is the logging call, in this test.
	if want := "  github.com/errlog/errlog/logfile.TestFileHandlerStack"; lines[3] != want {
		t.Errorf("first frame %q, want %q", lines[3], want)
	}
	if !strings.HasPrefix(lines[4], "  \t") || !strings.Contains(lines[4], "logfile/handler_test.go:") {
		t.Errorf("first frame's file %q", lines[4])
	}
	if !strings.HasSuffix(w.String(), "\n") || strings.HasSuffix(w.String(), "\n\n") {
		t.Errorf("output does not end in exactly one newline")
	}

	// ErrorLevel moves the threshold.
	h, w = newTestFileHandler(t, Options{Format: "%(message)s", ErrorLevel: slog.LevelWarn})
	slog.New(h).Warn("w")
	if !strings.Contains(w.String(), stackHeader) {
		t.Errorf("no stack at ErrorLevel WARN:\n%s", w.String())
	}
}

func TestFileHandlerRequest(t *testing.T) {
	h, w := newTestFileHandler(t, Options{Format: "%(remote_addr)s %(method)s %(url)s %(levelname)s: %(message)s"})
	ri := &record.Request{Method: "POST", URL: "https://example.com/login?next=%2F", RemoteAddr: "10.0.0.1:5555"}
	ctx := record.WithRequest(context.Background(), ri)
	logger := slog.New(h)
	logger.WarnContext(ctx, "bad password", "url", "https://idp.example.com/")
	logger.WarnContext(context.Background(), "outside", "method", "CRON")
	want := "10.0.0.1:5555 POST https://example.com/login?next=%2F WARNING: bad password url=https://idp.example.com/\n" +
		"- CRON - WARNING: outside\n"
	if got := w.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFileHandlerDefaults(t *testing.T) {
	opts := Options{Writer: io.Discard}
	before := opts
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(opts, before) {
		t.Errorf("New modified its options: %+v", opts)
	}
	ctx := context.Background()
	if h.Enabled(ctx, slog.LevelInfo) || !h.Enabled(ctx, slog.LevelWarn) {
		t.Error("default level is not WARN")
	}
	if h.f.format != DefaultFormat || h.f.dateFormat != "" {
		t.Errorf("default format %q, %q", h.f.format, h.f.dateFormat)
	}
	if h.errorLevel.Level() != slog.LevelError {
		t.Errorf("default ErrorLevel %v", h.errorLevel)
	}
	lv := new(slog.LevelVar)
	h, _ = New(Options{Writer: io.Discard, Level: lv})
	lv.Set(slog.LevelDebug)
	if !h.Enabled(ctx, slog.LevelDebug) {
		t.Error("Level does not follow a LevelVar")
	}
}

func TestFileHandlerErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no path", Options{}, "errlog: file: Options.Path is empty and there is no Writer"},
		{"bad format", Options{Writer: io.Discard, Format: "%(message)s %(x)q"}, "errlog: file: Format: position 12: unsupported conversion 'q' in %(x)q"},
		{"negative interval", Options{Path: filepath.Join(t.TempDir(), "a.log"), Interval: -time.Hour}, "errlog: file: negative Options.Interval -1h0m0s"},
		{"negative age", Options{Path: filepath.Join(t.TempDir(), "a.log"), MaxAgeDays: -1}, "errlog: file: negative Options.MaxAgeDays -1"},
	}
	for _, tt := range tests {
		h, err := New(tt.opts)
		if err == nil {
			h.Close()
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, err, tt.want)
		}
	}
	var fe *formatError
	if _, err := New(tests[1].opts); !errors.As(err, &fe) {
		t.Errorf("a bad Format's error does not wrap the Formatter's: %v", err)
	}
}

func TestFileHandlerUnwritablePath(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A path under a regular file fails for root too, unlike permissions.
	h, err := New(Options{Path: filepath.Join(notDir, "logs", "app.log")})
	if err == nil {
		h.Close()
		t.Fatal("no error for a path under a regular file")
	}
	if !strings.HasPrefix(err.Error(), "errlog: file: ") || !strings.Contains(err.Error(), notDir) || !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("unclear error: %v", err)
	}
}

func TestFileHandlerFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	h, err := New(Options{Path: "/dev/full", MaxSizeMB: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelError, "no room", 0))
	if err == nil || !strings.HasPrefix(err.Error(), "errlog: file: ") || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Handle on a full disk: %v", err)
	}
}

func TestFileHandlerClose(t *testing.T) {
	h, w := newTestFileHandler(t, Options{Format: "%(message)s"})
	derived := h.WithAttrs([]slog.Attr{slog.Int("a", 1)})
	for i := 0; i < 2; i++ {
		if err := h.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if w.closes.Load() != 0 {
		t.Error("Close closed the caller's Writer")
	}
	err := derived.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelWarn, "late", 0))
	if !errors.Is(err, os.ErrClosed) || !strings.HasPrefix(err.Error(), "errlog: file: ") {
		t.Errorf("Handle after Close: %v", err)
	}

	path := filepath.Join(t.TempDir(), "app.log")
	fh, err := New(Options{Path: path, Format: "%(message)s"})
	if err != nil {
		t.Fatal(err)
	}
	slog.New(fh).Warn("kept")
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "kept\n" {
		t.Errorf("file holds %q", b)
	}
}

// TestFileHandlerRotation has goroutines log across several rotations: no
// line may be lost, split or mixed with another.
func TestFileHandlerRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	h, err := New(Options{
		Path:       path,
		Level:      slog.LevelInfo,
		MaxSizeMB:  1,
		MaxBackups: -1,
		Format:     "%(levelname)s %(message)s",
	})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, perG = 8, 6000
	pad := strings.Repeat("x", 80)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			logger := slog.New(h).With("g", g)
			for i := 0; i < perG; i++ {
				logger.Info("line", "i", i, "pad", pad)
			}
		}(g)
	}
	wg.Wait()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 4 {
		t.Errorf("%d files: expected several rotations", len(entries))
	}
	seen := make(map[[2]int]bool, goroutines*perG)
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		if fi.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over MaxSizeMB", e.Name(), fi.Size())
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var g, i int
			var p string
			if _, err := fmt.Sscanf(sc.Text(), "INFO line g=%d i=%d pad=%s", &g, &i, &p); err != nil || p != pad {
				t.Fatalf("garbled line in %s: %q", e.Name(), sc.Text())
			}
			if seen[[2]int{g, i}] {
				t.Fatalf("line g=%d i=%d twice", g, i)
			}
			seen[[2]int{g, i}] = true
		}
		f.Close()
	}
	if len(seen) != goroutines*perG {
		t.Errorf("%d lines, want %d", len(seen), goroutines*perG)
	}
}

func BenchmarkFileHandler(b *testing.B) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", fmtCallerPC())
	r.AddAttrs(
		slog.String("method", "GET"),
		slog.String("path", "/api/v1/users"),
		slog.Int("status", 200),
		slog.Duration("elapsed", 1234*time.Microsecond),
		slog.Any("err", io.EOF),
	)
	fh, err := New(Options{Writer: io.Discard, Level: slog.LevelInfo})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bh := range []struct {
		name string
		h    slog.Handler
	}{
		{"errlog", fh},
		{"slog-text", slog.NewTextHandler(io.Discard, nil)},
	} {
		h := bh.h
		b.Run(bh.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := h.Handle(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
