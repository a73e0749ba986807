package logfile

import (
	"context"
	"errors"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestFileHandlerAloneReturnsEveryFailure: on its own, a Handler has
// nobody to report to but its caller.
func TestFileHandlerAloneReturnsEveryFailure(t *testing.T) {
	h, err := New(Options{Path: "/dev/full", MaxSizeMB: -1})
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer h.Close()
	for i := 0; i < 2; i++ {
		err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelError, "no room", 0))
		assert.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
	}
}
