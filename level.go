package errlog

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/errlog/errlog/internal/levels"
)

// ParseLevel reads a level as people write it: debug, info, warn, warning,
// error, critical or fatal (ERROR+4), Python's numbers (10, 20, 30, 40, 50), or
// slog's text ("WARN+2").
func ParseLevel(s string) (slog.Level, error) {
	s = strings.TrimSpace(s)
	name := strings.ToLower(s)
	for i := range levels.Table {
		if name == strings.ToLower(levels.Table[i].Python) || name == string(levels.Table[i].Sentry) || name == strings.ToLower(levels.Table[i].Short) {
			return levels.Table[i].Slog, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n%5 == 0 && n >= 0 && n <= 50 {
		return slog.Level((n - 20) * 2 / 5), nil
	}
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}
