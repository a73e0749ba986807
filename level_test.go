package errlog

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/levels"
)

// TestLevels is the table of every name errlog gives a level: each
// column is read by one sink, and a change to one row shows here.
func TestLevels(t *testing.T) {
	tests := []struct {
		l      slog.Level
		python string
		no     int
		sentry event.Level
		mail   string
		crumb  string
	}{
		{slog.LevelDebug - 4, "NOTSET", 0, event.LevelDebug, "DEBUG", "DEBUG"},
		{slog.LevelDebug - 1, "Level 7", 7, event.LevelDebug, "DEBUG", "DEBUG"},
		{slog.LevelDebug, "DEBUG", 10, event.LevelDebug, "DEBUG", "DEBUG"},
		{-1, "Level 17", 17, event.LevelDebug, "DEBUG", "DEBUG"},
		{slog.LevelInfo, "INFO", 20, event.LevelInfo, "INFO", "INFO"},
		{1, "Level 22", 22, event.LevelInfo, "INFO", "INFO"},
		{slog.LevelWarn, "WARNING", 30, event.LevelWarning, "WARNING", "WARN"},
		{slog.LevelError - 1, "Level 37", 37, event.LevelWarning, "WARNING", "WARN"},
		{slog.LevelError, "ERROR", 40, event.LevelError, "ERROR", "ERROR"},
		{slog.LevelError + 2, "Level 45", 45, event.LevelError, "ERROR", "ERROR"},
		{slog.LevelError + 4, "CRITICAL", 50, event.LevelFatal, "FATAL", "FATAL"},
		{slog.LevelError + 12, "CRITICAL", 70, event.LevelFatal, "FATAL", "FATAL"},
	}
	for _, tt := range tests {
		if got := levels.PythonName(tt.l); got != tt.python {
			t.Errorf("levels.PythonName(%v) = %q, want %q", tt.l, got, tt.python)
		}
		if got := levels.PythonNo(tt.l); got != tt.no {
			t.Errorf("levels.PythonNo(%v) = %d, want %d", tt.l, got, tt.no)
		}
		s := levels.Sentry(tt.l)
		if s != tt.sentry {
			t.Errorf("levels.Sentry(%v) = %q, want %q", tt.l, s, tt.sentry)
		}
	}
	// Every row round-trips through each of its names.
	for _, row := range levels.Table {
		if got := levels.FromSentry(row.Sentry); got != row.Slog {
			t.Errorf("levels.FromSentry(%q) = %v, want %v", row.Sentry, got, row.Slog)
		}
		for _, name := range []string{row.Python, string(row.Sentry), row.Short, " " + row.Mail + "\n"} {
			if got, err := ParseLevel(name); err != nil || got != row.Slog {
				t.Errorf("ParseLevel(%q) = %v, %v; want %v", name, got, err, row.Slog)
			}
		}
		if got, err := ParseLevel(strconv.Itoa(levels.PythonNo(row.Slog))); err != nil || got != row.Slog {
			t.Errorf("ParseLevel(%d) = %v, %v; want %v", levels.PythonNo(row.Slog), got, err, row.Slog)
		}
	}
	// Names from outside the table.
	for in, want := range map[event.Level]slog.Level{"warn": slog.LevelWarn, "critical": slog.LevelError + 4, "": slog.LevelError, "bogus": slog.LevelError} {
		if got := levels.FromSentry(in); got != want {
			t.Errorf("levels.FromSentry(%q) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]slog.Level{"WARN+2": slog.LevelWarn + 2, "35": slog.LevelWarn + 2, "0": slog.LevelDebug - 4} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("ParseLevel(loud): no error")
	}
}
