package errlog

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// knbRecord is a WARN record at a fixed time, logged from this line.
// The source is returned as tint writes it: "dir/file.go:line".
func knbRecord(attrs ...slog.Attr) (slog.Record, string) {
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	f, _ := runtime.CallersFrames(pcs[:]).Next()
	src := fmt.Sprintf("%s/%s:%d", filepath.Base(filepath.Dir(f.File)), filepath.Base(f.File), f.Line)
	r := slog.NewRecord(time.Date(2024, 5, 1, 14, 2, 3, 0, time.UTC), slog.LevelWarn, "login failed", pcs[0])
	r.AddAttrs(attrs...)
	return r, src
}

// TimeFormat, AddSource and ReplaceAttr reach the console as tint's and
// slog's options do, and ReplaceAttr the file too, with the groups each
// attribute is in; events keep the attributes as logged.
func TestConsoleAndFileKnobs(t *testing.T) {
	var seen []string
	console, file := &syncBuffer{}, &syncBuffer{}
	h, _, _, sink := newTestHandler(t, Options{
		Console:    console,
		TimeFormat: "2006-01-02 15:04",
		AddSource:  true,
		File:       &logfile.Options{Writer: file, Level: slog.LevelInfo, Format: "%(levelname)s %(message)s"},
		ErrorLevel: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			seen = append(seen, fmt.Sprintf("%v %s", groups, a.Key))
			switch {
			case a.Key == "drop":
				return slog.Attr{}
			case a.Key == "id" && len(groups) > 0:
				return slog.String("id", strings.Join(groups, "/")+":"+a.Value.String())
			case a.Key == "user":
				return slog.String("user", strings.ToUpper(a.Value.String()))
			}
			return a
		},
	})
	r, src := knbRecord(slog.String("user", "ann"), slog.String("drop", "x"),
		slog.Group("req", slog.Int("id", 7), slog.String("drop", "y")), slog.Group("empty", slog.String("drop", "z")))
	require.NoError(t, h.WithGroup("outer").Handle(context.Background(), r))
	flush(t, h)

	assert.Equal(t, "2024-05-01 14:02 WRN "+src+" login failed outer.user=ANN outer.req.id=outer/req:7\n",
		firstLine(console.String()))
	assert.Equal(t, "WARNING login failed outer.user=ANN outer.req.id=outer/req:7\n", firstLine(file.String()))
	assert.Contains(t, seen, "[] time", "the console's built-in attributes are offered too")
	assert.Contains(t, seen, "[outer req] id")

	ev := sink.all()[0]
	assert.Equal(t, "ann", ev.Extra["outer.user"], "events keep the attributes as logged")
	assert.Equal(t, "x", ev.Extra["outer.drop"])
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i+1]
	}
	return s
}

// Dropping the time on the console as slog users do; the default time
// format stays tint's 15:04:05.000 otherwise.
func TestConsoleDropTimeAndDefaultFormat(t *testing.T) {
	console := &syncBuffer{}
	h, _, _, _ := newTestHandler(t, Options{Console: console, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}})
	r, _ := knbRecord(slog.Int("n", 1))
	require.NoError(t, h.Handle(context.Background(), r))
	assert.Equal(t, "WRN login failed n=1\n", console.String())

	console2 := &syncBuffer{}
	h2, _, _, _ := newTestHandler(t, Options{Console: console2})
	require.NoError(t, h2.Handle(context.Background(), r))
	assert.Equal(t, "14:02:03.000 WRN login failed n=1\n", console2.String())
}

// A FileHandler on its own: ReplaceAttr applies to WithAttrs attributes
// (once, when they are added) and to the record's, under WithGroup.
func TestFileHandlerReplaceAttr(t *testing.T) {
	file := &syncBuffer{}
	calls := 0
	fh, err := logfile.New(logfile.Options{Writer: file, Level: slog.LevelInfo, Format: "%(levelname)s %(message)s",
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			calls++
			if a.Key == "password" {
				return slog.String(a.Key, "***")
			}
			if a.Key == "debug" {
				return slog.Attr{}
			}
			return a
		}})
	require.NoError(t, err)
	log := slog.New(fh).With("password", "hunter2", "debug", true).WithGroup("db")
	log.Info("connected", "host", "db1", "password", "pw")
	log.Info("again")
	assert.Equal(t, "INFO connected password=*** db.host=db1 db.password=***\nINFO again password=***\n", file.String())
	assert.Equal(t, 4, calls, "the WithAttrs attributes are replaced once, not per record")
}

// A ReplaceAttr that panics (the application's code) costs the attribute
// its value on the console and in the file, never the logging call.
func TestReplaceAttrPanicDoesNotEscape(t *testing.T) {
	var console bytes.Buffer
	path := filepath.Join(t.TempDir(), "app.log")
	logger := New(Options{Console: &console, File: &logfile.Options{Path: path, Format: "%(message)s"},
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == "user" {
				panic("ReplaceAttr bug")
			}
			return a
		}})
	defer logger.Handler().(*Handler).Close(context.Background())
	require.NotPanics(t, func() { logger.Warn("login", "user", "eve") })
	assert.Contains(t, console.String(), "!PANIC in ReplaceAttr: ReplaceAttr bug")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), "!PANIC in ReplaceAttr: ReplaceAttr bug")
}
