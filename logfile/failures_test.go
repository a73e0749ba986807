package logfile

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOnErrorToldWhenFileStopsTakingLines: Options.OnError says it
// "is told once when the file stops taking lines". A Handler built with
// logfile.New and used through slog.Logger (which drops Handle's error)
// must tell OnError at the first failure, not only at Close.
func TestOnErrorToldWhenFileStopsTakingLines(t *testing.T) {
	var mu sync.Mutex
	var reports []error
	h, err := New(Options{Path: "/dev/full", MaxSizeMB: -1, OnError: func(e error) {
		mu.Lock()
		reports = append(reports, e)
		mu.Unlock()
	}})
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer h.Close()
	l := slog.New(h)
	for i := 0; i < 3; i++ {
		l.Error("no room")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reports, 1, "OnError is told once when the file stops taking lines: %v", reports)
	assert.Contains(t, reports[0].Error(), "no space left on device")
}

// TestNamedAttrCannotForgeLine: an attribute the template does not
// name is quoted (slog's TextHandler rule), so a newline in a
// user-controlled value cannot start a line of its own; the same value
// named by the template (%(user)s) is written raw and forges a line.
func TestNamedAttrCannotForgeLine(t *testing.T) {
	var buf strings.Builder
	for _, format := range []string{"%(levelname)s %(message)s", "%(levelname)s %(message)s user=%(user)s"} {
		buf.Reset()
		h, err := New(Options{Writer: &buf, Format: format})
		require.NoError(t, err)
		slog.New(h).Warn("login failed", "user", "eve\nCRITICAL admin logged in")
		assert.Equal(t, 1, strings.Count(buf.String(), "\n"), "format %q: one record, one line; got %q", format, buf.String())
	}
}

// TestReplaceAttrPanicDoesNotEscape: logging must never crash the
// application; a ReplaceAttr that panics on some attribute (a nil
// dereference on an odd value) must cost that attribute, not the
// logging goroutine, as a panicking LogValue or Hook.Field does.
func TestReplaceAttrPanicDoesNotEscape(t *testing.T) {
	var buf strings.Builder
	h, err := New(Options{Writer: &buf, Format: "%(message)s", ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "boom" {
			panic("ReplaceAttr bug")
		}
		return a
	}})
	require.NoError(t, err)
	assert.NotPanics(t, func() { slog.New(h).Warn("still logged", "boom", 1, "k", "v") })
	assert.Contains(t, buf.String(), "still logged")
}

type flakyWriter struct{ fail bool }

func (w *flakyWriter) Write(p []byte) (int, error) {
	if w.fail {
		return 0, errors.New("pipe broke")
	}
	return len(p), nil
}

// TestWriterReportNamesIt: the reports of a Writer's failures name
// something; they said "writing to  again" (an empty path).
func TestWriterReportNamesIt(t *testing.T) {
	var reports []string
	w := &flakyWriter{fail: true}
	h, err := New(Options{Writer: w, OnError: func(e error) { reports = append(reports, e.Error()) }})
	require.NoError(t, err)
	slog.New(h).Warn("lost")
	w.fail = false
	slog.New(h).Warn("back")
	require.NotEmpty(t, reports)
	last := reports[len(reports)-1]
	assert.Contains(t, last, "again; 1 lines lost")
	assert.NotContains(t, last, "writing to  again", last)
}
