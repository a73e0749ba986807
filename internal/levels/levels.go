// Package levels is errlog's one mapping between slog's levels and the
// names other worlds give them, for the handler, the log file and mail.
package levels

import (
	"log/slog"
	"strconv"

	"github.com/errlog/errlog/event"
)

// Table is errlog's one mapping between slog's levels and the names the
// other worlds give them: Python's logging (the file's %(levelname)s),
// the Sentry protocol (events and breadcrumbs), and the labels of mail.
// Every conversion below reads this table.
var Table = [...]struct {
	Slog   slog.Level
	Python string      // logging's levelname; PythonNo gives its number
	Sentry event.Level // an event's or a breadcrumb's "level"
	Mail   string      // a mail's subject and heading
	Short  string      // a breadcrumb's line in mail, aligned
}{
	{slog.LevelDebug, "DEBUG", event.LevelDebug, "DEBUG", "DEBUG"},
	{slog.LevelInfo, "INFO", event.LevelInfo, "INFO", "INFO"},
	{slog.LevelWarn, "WARNING", event.LevelWarning, "WARNING", "WARN"},
	{slog.LevelError, "ERROR", event.LevelError, "ERROR", "ERROR"},
	{slog.LevelError + 4, "CRITICAL", event.LevelFatal, "FATAL", "FATAL"},
}

// PythonNo is Python's level number for l: 20 + 2.5 × l, rounded down, so
// that DEBUG is 10, INFO 20, WARN 30, ERROR 40 and ERROR+4 50.
func PythonNo(l slog.Level) int {
	n := 5 * int(l)
	if n < 0 && n%2 != 0 {
		n--
	}
	return 20 + n/2
}

// PythonName is Python's name for l: a row's name, CRITICAL above it, and
// for the levels in between "Level N", as Python names a level it does
// not know.
func PythonName(l slog.Level) string {
	for i := range Table {
		if Table[i].Slog == l {
			return Table[i].Python
		}
	}
	switch n := PythonNo(l); {
	case l > Table[len(Table)-1].Slog:
		return Table[len(Table)-1].Python
	case n == 0:
		return "NOTSET"
	default:
		return "Level " + strconv.Itoa(n)
	}
}

// Sentry is the Sentry level of a record: that of the highest row at
// or below l (debug below DEBUG).
func Sentry(l slog.Level) event.Level {
	for i := len(Table) - 1; i > 0; i-- {
		if l >= Table[i].Slog {
			return Table[i].Sentry
		}
	}
	return Table[0].Sentry
}

// FromSentry is the slog level of an event's Sentry level; Python's "warn"
// and "critical" are read too, and an unknown level is an error.
func FromSentry(l event.Level) slog.Level {
	for i := range Table {
		if Table[i].Sentry == l {
			return Table[i].Slog
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
