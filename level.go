package errlog

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/errlog/errlog/event"
)

// levels is errlog's one mapping between slog's levels and the names the
// other worlds give them: Python's logging (the file's %(levelname)s),
// the Sentry protocol (events and breadcrumbs), and the labels of mail.
// Every conversion below reads this table.
var levels = [...]struct {
	slog   slog.Level
	python string      // logging's levelname; levelNo gives its number
	sentry event.Level // an event's or a breadcrumb's "level"
	mail   string      // a mail's subject and heading
	short  string      // a breadcrumb's line in mail, aligned
}{
	{slog.LevelDebug, "DEBUG", event.LevelDebug, "DEBUG", "DEBUG"},
	{slog.LevelInfo, "INFO", event.LevelInfo, "INFO", "INFO"},
	{slog.LevelWarn, "WARNING", event.LevelWarning, "WARNING", "WARN"},
	{slog.LevelError, "ERROR", event.LevelError, "ERROR", "ERROR"},
	{slog.LevelError + 4, "CRITICAL", event.LevelFatal, "FATAL", "FATAL"},
}

// levelNo is Python's level number for l: 20 + 2.5 × l, rounded down, so
// that DEBUG is 10, INFO 20, WARN 30, ERROR 40 and ERROR+4 50.
func levelNo(l slog.Level) int {
	n := 5 * int(l)
	if n < 0 && n%2 != 0 {
		n--
	}
	return 20 + n/2
}

// levelName is Python's name for l: a row's name, CRITICAL above it, and
// for the levels in between "Level N", as Python names a level it does
// not know.
func levelName(l slog.Level) string {
	for i := range levels {
		if levels[i].slog == l {
			return levels[i].python
		}
	}
	switch n := levelNo(l); {
	case l > levels[len(levels)-1].slog:
		return levels[len(levels)-1].python
	case n == 0:
		return "NOTSET"
	default:
		return "Level " + strconv.Itoa(n)
	}
}

// sentryLevel is the Sentry level of a record: that of the highest row at
// or below l (debug below DEBUG).
func sentryLevel(l slog.Level) event.Level {
	for i := len(levels) - 1; i > 0; i-- {
		if l >= levels[i].slog {
			return levels[i].sentry
		}
	}
	return levels[0].sentry
}

// slogLevel is the slog level of an event's Sentry level; Python's "warn"
// and "critical" are read too, and an unknown level is an error.
func slogLevel(l event.Level) slog.Level {
	for i := range levels {
		if levels[i].sentry == l {
			return levels[i].slog
		}
	}
	switch l {
	case "warn":
		return slog.LevelWarn
	case "critical":
		return slog.LevelError + 4
	}
	return slog.LevelError
}

// ParseLevel reads a level as people write it: debug, info, warn, warning,
// error, critical or fatal (ERROR+4), Python's numbers (10, 20, 30, 40, 50), or
// slog's text ("WARN+2").
func ParseLevel(s string) (slog.Level, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for i := range levels {
		if name == strings.ToLower(levels[i].python) || name == string(levels[i].sentry) || name == strings.ToLower(levels[i].short) {
			return levels[i].slog, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n%5 == 0 && n >= 0 && n <= 50 {
		return slog.Level((n - 20) * 2 / 5), nil
	}
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}
