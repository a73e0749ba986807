package errlog

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/errlog/errlog/event"
	"github.com/lmittmann/tint"
)

const (
	ansiFaint = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

// newConsole returns the console sink: tint's coloured text. Levels are
// filtered by the Handler, so tint is given none.
func newConsole(w io.Writer, level slog.Leveler, color bool) slog.Handler {
	return tint.NewHandler(w, &tint.Options{
		Level:      slog.Level(-1 << 20),
		NoColor:    !color,
		TimeFormat: "15:04:05.000",
	})
}

// writeConsole writes r through h and, when the record has one, its stack
// indented under the line. The lock keeps a line and its stack together
// when goroutines log at once.
func (c *core) writeConsole(ctx context.Context, h slog.Handler, r slog.Record, stack []event.Frame) error {
	c.consoleMu.Lock()
	defer c.consoleMu.Unlock()
	if err := h.Handle(ctx, r); err != nil || len(stack) == 0 {
		return err
	}
	bp := consoleBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 16<<10 {
			*bp = (*bp)[:0]
			consoleBufs.Put(bp)
		}
	}()
	b := *bp
	if c.consoleCol {
		b = append(b, ansiFaint...)
	}
	b = appendStack(b, stack, "    ")
	if c.consoleCol {
		b = append(b, ansiReset...)
	}
	*bp = b
	_, err := c.consoleW.Write(b)
	return err
}

var consoleBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
