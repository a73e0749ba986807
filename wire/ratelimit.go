package wire

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRetryAfter is how long a 429 holds events when it does not say.
const DefaultRetryAfter = time.Minute

// RateLimit returns how long a client must hold events after a response
// with this status and these headers; 0 when it need not.
//
// X-Sentry-Rate-Limits, when present, decides: its entries
// "seconds:categories:scope:reason" apply when their categories include
// error or default (the categories of events), or are empty (all). Else a
// 429 holds for its Retry-After, in seconds or as an HTTP date, or
// DefaultRetryAfter when that is missing or malformed.
func RateLimit(status int, h http.Header, now time.Time) time.Duration {
	if s := h.Get("X-Sentry-Rate-Limits"); s != "" {
		return parseRateLimits(s)
	}
	if status != http.StatusTooManyRequests {
		return 0
	}
	return ParseRetryAfter(h.Get("Retry-After"), now)
}

func parseRateLimits(s string) time.Duration {
	var hold time.Duration
	for _, limit := range strings.Split(s, ",") {
		fields := strings.Split(strings.TrimSpace(limit), ":")
		secs, err := strconv.ParseFloat(strings.TrimSpace(fields[0]), 64)
		if err != nil || math.IsNaN(secs) {
			continue
		}
		d := time.Duration(math.Ceil(math.Max(math.Min(secs, 1e9), 0))) * time.Second
		if d > hold && (len(fields) < 2 || appliesToEvents(fields[1])) {
			hold = d
		}
	}
	return hold
}

func appliesToEvents(categories string) bool {
	if strings.TrimSpace(categories) == "" {
		return true
	}
	for _, c := range strings.Split(categories, ";") {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "error", "default":
			return true
		}
	}
	return false
}

// maxRetryAfter caps a hold in seconds, so that it fits a time.Duration.
const maxRetryAfter = 1e9

// ParseRetryAfter reads a Retry-After header: seconds or an HTTP date.
// Missing or malformed, it is DefaultRetryAfter; never negative, and at
// most a billion seconds however many digits it has.
func ParseRetryAfter(s string, now time.Time) time.Duration {
	s = strings.TrimSpace(s)
	// Past int64, ParseInt says ErrRange and returns the largest value:
	// still a number of seconds, a huge one.
	if n, err := strconv.ParseInt(s, 10, 64); (err == nil || errors.Is(err, strconv.ErrRange)) && n >= 0 {
		if n > maxRetryAfter {
			n = maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return DefaultRetryAfter
}
