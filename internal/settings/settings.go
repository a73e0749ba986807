// Package settings holds the defaults that more than one of errlog's
// packages reads, each written once, and Shared: the settings errlog's
// Handler resolves once (errlog.Options) and hands to every sink it
// builds. A sink built on its own (tracker.New) resolves the same way,
// through Shared.Resolve.
package settings

import (
	"github.com/errlog/errlog/mail"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
)

// Defaults read by more than one package. Each package's own defaults
// are constants of that package; a test checks that every default is
// written once.
const (
	// ErrorLevel is the level at and above which records become events
	// (errlog.Options.ErrorLevel) and carry their stack in the log file
	// (logfile.Options.ErrorLevel).
	ErrorLevel = slog.LevelError
	// IdleTimeout is how long an idle connection is kept for the next
	// burst: mail's, and the tracker's and webhook's HTTP keep-alive.
	IdleTimeout = mail.DefaultIdleTimeout
	// FlushTimeout bounds a flush or a close whose context has no
	// deadline (errlog.DefaultFlushTimeout), and the cleanup of a Handler
	// or a Tracker dropped without Close.
	FlushTimeout = 10 * time.Second
	// ReportInterval is how often the default reporter writes a line per
	// sink.
	ReportInterval = time.Minute
)

// Shared is what every sink of one Handler shares, resolved: the same
// value for each.
type Shared struct {
	// OnError reports a failure (never nil once resolved).
	OnError func(error)
	// Clock is the time of day and every timer of the sinks (never nil
	// once resolved).
	Clock clock.Clock
	// QueueSize bounds the events waiting in each sink's memory queue
	// (> 0 once resolved).
	QueueSize int
	// SpoolDir is the Handler's spool directory; "" for none. Each sink
	// spools in a folder of its own under it.
	SpoolDir string
	// Debug is errlog.Options.Debug.
	Debug bool
	// Environment, Release and ServerName tag every event.
	Environment, Release, ServerName string
}

// Resolve returns s with every zero field that has a default set to it:
// the real clock, the default reporter (one line on stderr per sink, at
// most one a minute each) and delivery's queue size. It is the one place
// these are set, for the Handler and for a sink on its own.
func (s Shared) Resolve() Shared {
	if s.Clock == nil {
		s.Clock = clock.Real()
	}
	if s.OnError == nil {
		s.OnError = RateLimited(os.Stderr, s.Clock.Now, SinkOf)
	}
	s.QueueSize = delivery.QueueSize(s.QueueSize)
	return s
}

// SinkOf names the sink an error of errlog's is about by its text's
// "errlog: sink: " prefix: "tracker", "file"; "" when it has none.
func SinkOf(err error) string {
	rest, ok := strings.CutPrefix(err.Error(), "errlog: ")
	if !ok {
		return ""
	}
	sink, _, ok := strings.Cut(rest, ": ")
	if !ok || !IsSinkName(sink) {
		return ""
	}
	return sink
}

// IsSinkName reports whether s is a word that can name a part: "smtp",
// "tracker", "file", not "3 events dropped".
func IsSinkName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// RateLimited returns a reporter that writes one line to w per sink (as
// sinkOf names it) at most once per ReportInterval, so that a dead sink,
// or a storm of drop reports, cannot flood the console. The line after a
// quiet interval says how many reports of the sink it stands for.
func RateLimited(w io.Writer, now func() time.Time, sinkOf func(error) string) func(error) {
	var mu sync.Mutex
	type state struct {
		last       time.Time
		suppressed int
	}
	sinks := map[string]*state{}
	return func(err error) {
		if err == nil {
			return
		}
		sink := sinkOf(err)
		t := now()
		mu.Lock()
		st := sinks[sink]
		if st == nil {
			st = &state{}
			sinks[sink] = st
		} else if t.Sub(st.last) < ReportInterval {
			st.suppressed++
			mu.Unlock()
			return
		}
		n := st.suppressed
		st.last, st.suppressed = t, 0
		// Written under the lock: two lines of one sink must not
		// interleave, and a write to stderr is short.
		line := err.Error()
		if n > 0 {
			what := " more "
			if sink != "" {
				what += sink + " "
			}
			line += " (and " + strconv.Itoa(n) + what + "reports not shown)"
		}
		_, _ = io.WriteString(w, line+"\n")
		mu.Unlock()
	}
}
