package store

import (
	"strings"

	"github.com/errlog/errlog/event"
)

// levelNames are the levels Relay accepts, with their other spellings:
// an event's level is shown in lists, mail subjects and alerts, and
// filtered on, so anything else (a typo, or 100 KB of text) is dropped
// for the default, "error", as Relay drops an invalid level.
var levelNames = map[string]event.Level{
	"debug": event.LevelDebug, "trace": event.LevelDebug,
	"info": event.LevelInfo, "log": event.LevelInfo,
	"warning": event.LevelWarning, "warn": event.LevelWarning,
	"error": event.LevelError,
	"fatal": event.LevelFatal, "critical": event.LevelFatal,
}

// NormalLevel is the level stored for an event: one of the five, in
// lower case; "error" when missing or unknown. What reads an event's
// level from its stored JSON (alert mail) reads it through this too.
func NormalLevel(l event.Level) event.Level {
	if len(l) <= len("critical") {
		if v, ok := levelNames[strings.ToLower(strings.TrimSpace(string(l)))]; ok {
			return v
		}
	}
	return event.LevelError
}
