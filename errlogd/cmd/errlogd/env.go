package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envChecks are the ERRLOGD_* variables whose values must parse: a server,
// unlike the library, does not start on a guess. Each names what it
// accepts, and checks with the parser that reads it (envInt, envDuration),
// so that a value accepted here is the value used.
var envChecks = []struct {
	name, accepts string
	ok            func(string) bool
}{
	{"ERRLOGD_RETENTION_DAYS", "a whole number of days, 0 or more (0: keep events forever)", nonNegInt},
	{"ERRLOGD_MAX_EVENTS_PER_GROUP", "a whole number, 0 or more (0: keep every event)", nonNegInt},
	{"ERRLOGD_MIN_FREE_MB", "a whole number of MiB, 0 or more (0: no check)", nonNegInt},
	{"ERRLOGD_MAIL_DELAY", `a duration such as 30s, 1m or 0 (no digest)`, func(s string) bool { _, ok := parseDelay(s); return ok }},
	{"ERRLOGD_PREFIX", `a URL path such as /dev/error`, func(s string) bool { _, err := normPrefix(s); return err == nil }},
}

func nonNegInt(s string) bool { _, ok := parseNonNegInt(s); return ok }

func parseNonNegInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

func parseDelay(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

// envValue is a variable's value as errlogd reads it: without the blanks
// around it, which an env file or a YAML block easily leaves ("0 ").
func envValue(getenv func(string) string, name string) string {
	return strings.TrimSpace(getenv(name))
}

// envInt is a whole-number variable, def when it is unset. A value that
// does not parse is refused by checkEnv before anything uses it.
func envInt(getenv func(string) string, name string, def int) int {
	if n, ok := parseNonNegInt(envValue(getenv, name)); ok {
		return n
	}
	return def
}

// envDuration is a duration variable, def when it is unset (checkEnv
// refuses one that does not parse).
func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if d, ok := parseDelay(envValue(getenv, name)); ok {
		return d
	}
	return def
}

// checkEnv returns an error naming the first ERRLOGD_* variable set to a
// value errlogd cannot use, and what it accepts.
func checkEnv(getenv func(string) string) error {
	for _, c := range envChecks {
		if v := getenv(c.name); v != "" && !c.ok(envValue(getenv, c.name)) {
			return usageError{fmt.Errorf("errlogd: %s=%q: want %s", c.name, v, c.accepts)}
		}
	}
	return nil
}

// normPrefix makes -prefix a path that starts with a slash and does not
// end with one ("" for the root): "dev/error/" is "/dev/error". A prefix
// with a query, a fragment, spaces or pattern braces is refused.
func normPrefix(p string) (string, error) {
	p = strings.TrimSpace(p)
	if strings.ContainsAny(p, "?#{} \t\\%") {
		return "", usageError{fmt.Errorf("errlogd: -prefix %q: want a URL path such as /dev/error (no query, spaces, braces or %%)", p)}
	}
	p = "/" + strings.Trim(p, "/")
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return strings.TrimSuffix(p, "/"), nil
}
