package rotate

import "time"

const day = 24 * time.Hour

// bounds returns the interval boundary at or before t and the first one
// after it.
//
// Whole days are counted in t's location, so that a daily log turns over at
// the local midnight people read in it, 23 or 25 hours apart across a
// daylight-saving change, and so that a test clock in a chosen zone decides
// where midnight is without touching time.Local. Any other interval counts
// from the Unix epoch, which keeps hourly and 10-minute boundaries the same
// on every machine (in a zone with a half-hour offset they fall at :30).
func bounds(t time.Time, d time.Duration) (start, next time.Time) {
	if d%day == 0 {
		return dayBounds(t, int64(d/day))
	}
	ns := t.UnixNano()
	s := ns - floorMod(ns, int64(d))
	return time.Unix(0, s).In(t.Location()), time.Unix(0, s+int64(d)).In(t.Location())
}

// dayBounds is bounds for an interval of n days.
func dayBounds(t time.Time, n int64) (start, next time.Time) {
	loc := t.Location()
	y, m, d := t.Date()
	// Days since 1970-01-01 of t's calendar date: exact, since the UTC
	// midnight is a whole number of days from the epoch.
	civil := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	first := civil - floorMod(civil, n)
	start = midnight(first, loc)
	next = midnight(first+n, loc)
	// Where a daylight-saving change skips midnight, time.Date may answer
	// with the hour before it; a next that is not after t would rotate at
	// every write, so step on until it is.
	for !next.After(t) {
		first += n
		next = midnight(first+n, loc)
	}
	return start, next
}

func midnight(civil int64, loc *time.Location) time.Time {
	return time.Date(1970, time.January, 1+int(civil), 0, 0, 0, 0, loc)
}

// floorMod is a mod b in [0, b), also for times before the epoch.
func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
