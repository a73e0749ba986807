package errlog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFileAfterCloseReportedOnce: records logged after Close (a
// goroutine still logging during shutdown) cannot reach the closed file.
// One failure, one report: not one OnDeliveryError per record.
func TestFileAfterCloseReportedOnce(t *testing.T) {
	rep := &reportLog{}
	h := NewHandler(Options{Console: io.Discard, SourceContext: SourceOff, OnDeliveryError: rep.add,
		File: &logfile.Options{Path: filepath.Join(t.TempDir(), "app.log"), Format: "%(message)s"}})
	l := slog.New(h)
	l.Warn("before Close")
	assert.NoError(t, h.Close(context.Background()))
	for i := 0; i < 100; i++ {
		l.Warn("after Close")
	}
	got := rep.list()
	require.NotEmpty(t, got)
	assert.LessOrEqual(t, len(got), 1, "%d reports; the first: %v", len(got), got[0])
}

// TestBadFormatKeepsFile: a bad Options.Format is reported and the
// default used, for the file too; a valid File.DateFormat next to it
// must not switch the file off (it did: the file inherited the bad
// template and logfile.New refused it).
func TestBadFormatKeepsFile(t *testing.T) {
	for _, fo := range []logfile.Options{{}, {DateFormat: "%H:%M:%S"}} {
		rep := &reportLog{}
		path := filepath.Join(t.TempDir(), "app.log")
		fo.Path = path
		h := NewHandler(Options{Console: io.Discard, Format: "%(message", OnDeliveryError: rep.add, File: &fo})
		slog.New(h).Warn("hello")
		require.NoError(t, h.Close(context.Background()))
		b, err := os.ReadFile(path)
		require.NoError(t, err, "DateFormat %q: the file is off; reports: %v", fo.DateFormat, rep.list())
		assert.Contains(t, string(b), "hello")
		assert.Len(t, rep.list(), 1, "the bad template, reported once: %v", rep.list())
	}
}

// TestDeletedFileLinesCounted: an operator deletes the log file
// (rm, or a logrotate without copytruncate whose rotated copy is
// removed). Until the next check of the path, up to a second later,
// lines go to the deleted file: they are lost, and nothing counts or
// reports them ("count what you drop").
func TestDeletedFileLinesCounted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	clk := &testClock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	rep := &reportLog{}
	logger := New(Options{Console: io.Discard, Now: clk.Now, OnDeliveryError: rep.add,
		File: &logfile.Options{Path: path, Format: "%(message)s"}})
	defer logger.Handler().(*Handler).Close(context.Background())
	logger.Warn("one")
	require.NoError(t, os.Remove(path))
	logger.Warn("two: into the deleted file")
	logger.Warn("three: into the deleted file")
	clk.Add(time.Second)
	logger.Warn("four")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "four\n", string(b))
	require.Len(t, rep.list(), 1, "two lines vanished with no report and no count")
	assert.Contains(t, rep.list()[0].Error(), "up to 3 lines")

	// Moved away (logrotate without copytruncate): the lines are in the
	// moved file, nothing is lost or told.
	require.NoError(t, os.Rename(path, path+".1"))
	logger.Warn("five: into the moved file")
	clk.Add(time.Second)
	logger.Warn("six")
	assert.Len(t, rep.list(), 1, "a moved file is not a deleted one: %v", rep.list())
	b, err = os.ReadFile(path + ".1")
	require.NoError(t, err)
	assert.Equal(t, "four\nfive: into the moved file\n", string(b))
}
