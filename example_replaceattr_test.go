package errlog_test

import (
	"log/slog"
	"os"
	"strings"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/logfile"
)

// ReplaceAttr works as slog's: here it drops the console's time (as
// under systemd, which adds its own) and shortens a value, on the console
// and in the file alike. TimeFormat and AddSource are tint's knobs for the
// console.
func ExampleOptions_replaceAttr() {
	logger := errlog.New(errlog.Options{
		Console: os.Stdout, // not a terminal here: no colour
		File:    &logfile.Options{Writer: os.Stdout, Level: slog.LevelInfo, Format: "file: %(levelname)s %(message)s"},
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			if a.Key == "sha" {
				return slog.String("sha", strings.ToUpper(a.Value.String()[:7]))
			}
			return a
		},
	})
	logger.Info("deployed", "sha", "3f1c2a9d8e7b6a5c")
	// Output:
	// INF deployed sha=3F1C2A9
	// file: INFO deployed sha=3F1C2A9
}
