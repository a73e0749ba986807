package errlog

import (
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/logfile"
)

// sinkEnv is what NewHandler hands to each sink it builds from Options:
// the settings that every sink shares, already defaulted.
type sinkEnv struct {
	// OnError reports a failure (never nil).
	OnError func(error)
	// SpoolDir is Options.SpoolDir ("" for no spool).
	SpoolDir string
	// QueueSize is Options.QueueSize, defaulted (> 0).
	QueueSize int
	// Clock is Options' one clock (never nil): the time of day and every
	// timer of the sinks.
	Clock clock.Clock
	// Formatter is Options.Format and DateFormat, compiled (never nil).
	Formatter *logfile.Formatter
	// Debug is Options.Debug.
	Debug bool
	// Environment, Release and ServerName are the Options' values, the
	// server name defaulted to the host name.
	Environment, Release, ServerName string
}

// withDefaults fills what a sink built on its own (ComposeMail, a test)
// was not given, as NewHandler would, through the same
// settings.Shared.Resolve: the system clock, the default reporter, the
// default queue size; and the default format. NewHandler's sinkEnv is
// already complete, from resolveOptions.
func (e sinkEnv) withDefaults() sinkEnv {
	s := settings.Shared{OnError: e.OnError, Clock: e.Clock, QueueSize: e.QueueSize}.Resolve()
	e.OnError, e.Clock, e.QueueSize = s.OnError, s.Clock, s.QueueSize
	if e.Formatter == nil {
		e.Formatter = defaultFormatter
	}
	return e
}

// defaultFormatter is logfile.DefaultFormat compiled, once.
var defaultFormatter = func() *logfile.Formatter {
	f, err := logfile.NewFormatter("", "")
	if err != nil {
		panic("errlog: the default format does not compile: " + err.Error())
	}
	return f
}()
