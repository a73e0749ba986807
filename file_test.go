package errlog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testClock is an injectable Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// reportLog collects OnDeliveryError reports.
type reportLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *reportLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *reportLog) list() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// TestFileUnwritableAtStart: the log directory cannot be written when the
// program starts. errlog says so once, keeps the console going, tries
// again once a minute, and writes the file as soon as it can; then it says
// how many lines were lost.
func TestFileUnwritableAtStart(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "logs")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600)) // a file where the directory should be: fails for root too
	path := filepath.Join(blocker, "app.log")
	clk := &testClock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	var reports reportLog
	var console syncBuffer
	logger := New(Options{Console: &console, NoColor: true, Now: clk.Now, OnDeliveryError: reports.add,
		File: &logfile.Options{Path: path, Format: "%(levelname)s %(message)s"}})
	h := logger.Handler().(*Handler)
	defer h.Close(context.Background())

	got := reports.list()
	require.Len(t, got, 1, "reported once, at start")
	assert.True(t, strings.HasPrefix(got[0].Error(), "errlog: file: "+path+" cannot be opened, trying again every minute: "), got[0].Error())
	assert.ErrorIs(t, got[0], syscall.ENOTDIR)

	for i := 0; i < 5; i++ {
		logger.Warn("while the directory is missing")
		clk.Add(10 * time.Second)
	}
	assert.Len(t, reports.list(), 1, "the failures in between are counted, not reported")
	assert.Equal(t, 5, strings.Count(console.String(), "while the directory is missing"), "the console goes on")

	require.NoError(t, os.Remove(blocker))
	logger.Warn("fixed, but the minute is not over") // 50 s after the try at start
	clk.Add(10 * time.Second)
	logger.Warn("a minute later")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "WARNING a minute later\n", string(b))
	got = reports.list()
	require.Len(t, got, 2)
	assert.Equal(t, "errlog: file: writing to "+path+" again; 6 lines lost while it failed (open "+path+": not a directory)", strings.Replace(got[1].Error(), "mkdir "+blocker, "open "+path, 1))
	assert.ErrorIs(t, got[1], syscall.ENOTDIR)
}

// TestFileStillUnwritableAtClose: lines lost to a file that never came
// back are reported by Close.
func TestFileStillUnwritableAtClose(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "logs")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	var reports reportLog
	h := NewHandler(Options{Console: io.Discard, OnDeliveryError: reports.add,
		File: &logfile.Options{Path: filepath.Join(blocker, "app.log")}})
	slog.New(h).Error("lost")
	err := h.Close(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "errlog: file: 1 lines lost: ")
	assert.Len(t, reports.list(), 2, "at start and at Close")
}

// TestFileFollowsMovedFile: logrotate (without copytruncate) moves the
// file away; within a second errlog writes to a new file at the path.
func TestFileFollowsMovedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	clk := &testClock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	var reports reportLog
	logger := New(Options{Console: io.Discard, Now: clk.Now, OnDeliveryError: reports.add,
		File: &logfile.Options{Path: path, Format: "%(message)s"}})
	defer logger.Handler().(*Handler).Close(context.Background())
	logger.Warn("one")
	require.NoError(t, os.Rename(path, path+".1"))
	clk.Add(time.Second)
	logger.Warn("two")
	require.NoError(t, os.Remove(path))
	clk.Add(time.Second)
	logger.Warn("three")

	b, err := os.ReadFile(path + ".1")
	require.NoError(t, err)
	assert.Equal(t, "one\n", string(b))
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "three\n", string(b), "the deleted file's successor")
	// "two" went into the file before or after it was deleted: errlog
	// cannot tell which, and says so once; the move is not told.
	require.Len(t, reports.list(), 1)
	assert.Contains(t, reports.list()[0].Error(), "was deleted and made again; up to 1 lines")
}
