package errlog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/require"
)

// TestFIFOWithoutReaderDoesNotBlock: the rotate package documents
// FIFOs as supported paths ("written to but never rotated"). A FIFO
// whose reader (a log shipper) is not running must not hang NewHandler:
// logging must never block the application.
func TestFIFOWithoutReaderDoesNotBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan *Handler, 1)
	go func() {
		done <- NewHandler(Options{Console: io.Discard, OnDeliveryError: func(error) {},
			File: &logfile.Options{Path: path, Format: "%(message)s"}})
	}()
	select {
	case h := <-done:
		slog.New(h).Warn("no reader")
		h.Close(context.Background())
	case <-time.After(3 * time.Second):
		t.Fatal("NewHandler blocked for 3 s opening a FIFO that has no reader")
	}
}

// TestFIFOWithReader: a FIFO with its reader running gets the lines.
func TestFIFOWithReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(path) // blocks until a writer opens, reads until it closes
		got <- string(b)
	}()
	time.Sleep(100 * time.Millisecond) // the reader opens first
	h := NewHandler(Options{Console: io.Discard, OnDeliveryError: func(err error) { t.Error(err) },
		File: &logfile.Options{Path: path, Format: "%(message)s"}})
	slog.New(h).Warn("through the pipe")
	require.NoError(t, h.Close(context.Background()))
	select {
	case s := <-got:
		require.Equal(t, "through the pipe\n", s)
	case <-time.After(5 * time.Second):
		t.Fatal("the reader got nothing")
	}
}
