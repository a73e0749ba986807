package errlog

import "github.com/errlog/errlog/internal/clock"

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
	Formatter *Formatter
	// Debug is Options.Debug.
	Debug bool
	// Environment, Release and ServerName are the Options' values, the
	// server name defaulted to the host name.
	Environment, Release, ServerName string
}

// withDefaults fills what a sink built on its own (NewTracker, a test)
// was not given, as NewHandler would: the system clock, the default
// reporter, the default queue size and format. NewHandler's sinkEnv is
// already complete, from Options.withDefaults.
func (e sinkEnv) withDefaults() sinkEnv {
	if e.Clock == nil {
		e.Clock = clock.Real()
	}
	if e.OnError == nil {
		e.OnError = defaultOnError(e.Clock.Now)
	}
	if e.QueueSize <= 0 {
		e.QueueSize = defaultQueueSize
	}
	if e.Formatter == nil {
		e.Formatter = defaultFormatter
	}
	return e
}

// defaultFormatter is DefaultFormat compiled, once.
var defaultFormatter = func() *Formatter {
	f, err := NewFormatter(DefaultFormat, "")
	if err != nil {
		panic("errlog: DefaultFormat does not compile: " + err.Error())
	}
	return f
}()
