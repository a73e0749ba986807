//go:build !race

package logfile

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// The allocation budgets: formatting a record costs no allocation once the
// pools, the source cache and the date cache are warm. (The race detector
// allocates, hence the build tag.)

func TestFormatterAllocs(t *testing.T) {
	pc := fmtCallerPC()
	tests := []struct {
		name, format string
		attrs        []slog.Attr
	}{
		{"default", "", nil},
		{"default with attrs", "", []slog.Attr{slog.String("user", "ann"), slog.Int("n", 3), slog.Float64("f", 1.5), slog.Bool("ok", true), slog.Group("g", slog.String("k", "a b"))}},
		{"every field", "%(asctime)s %(created)f %(msecs)03d %(relativeCreated)d %(levelname)-8s %(levelno)d %(pathname)s %(filename)s %(module)s %(funcName)s %(lineno)5d %(message).20s %(name)s %(process)d %(thread)s %(user)s %(g.k)r %(n)x %(f)e %(missing)s",
			[]slog.Attr{slog.String("user", "ann"), slog.Int("n", 3), slog.Float64("f", 1.5), slog.Group("g", slog.String("k", "a b"))}},
	}
	for _, tt := range tests {
		f, err := NewFormatter(tt.format, "")
		if err != nil {
			t.Fatal(err)
		}
		r := slog.NewRecord(time.Now(), slog.LevelWarn, "disk almost full", pc)
		r.AddAttrs(tt.attrs...)
		buf := f.AppendFormat(nil, r)
		if n := testing.AllocsPerRun(100, func() { buf = f.AppendFormat(buf[:0], r) }); n != 0 {
			t.Errorf("%s: AppendFormat allocates %v times", tt.name, n)
		}
	}
}

func TestFileHandlerAllocs(t *testing.T) {
	h, err := New(Options{Writer: io.Discard, Level: slog.LevelInfo})
	if err != nil {
		t.Fatal(err)
	}
	derived := h.WithAttrs([]slog.Attr{slog.String("svc", "api")}).WithGroup("req")
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", fmtCallerPC())
	r.AddAttrs(
		slog.String("method", "GET"),
		slog.String("path", "/api/v1/users"),
		slog.Int("status", 200),
		slog.Duration("elapsed", 1234*time.Microsecond),
		slog.Any("err", io.EOF),
	)
	ctx := context.Background()
	for _, h := range []slog.Handler{h, derived} {
		_ = h.Handle(ctx, r)
		if n := testing.AllocsPerRun(100, func() { _ = h.Handle(ctx, r) }); n != 0 {
			t.Errorf("Handle allocates %v times", n)
		}
	}
}
