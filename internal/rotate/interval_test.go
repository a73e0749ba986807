package rotate

import (
	"testing"
	"time"
	_ "time/tzdata" // America/New_York on machines without zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBounds(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	plus2 := time.FixedZone("+02", 2*3600)
	india := time.FixedZone("+0530", 5*3600+1800)
	utc := time.UTC
	at := func(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}

	tests := []struct {
		name        string
		t           time.Time
		d           time.Duration
		start, next time.Time
	}{
		{"daily at local midnight", at(plus2, 2024, 3, 10, 15, 4), day,
			at(plus2, 2024, 3, 10, 0, 0), at(plus2, 2024, 3, 11, 0, 0)},
		{"daily just after local midnight, still yesterday in UTC", at(plus2, 2024, 3, 10, 1, 0), day,
			at(plus2, 2024, 3, 10, 0, 0), at(plus2, 2024, 3, 11, 0, 0)},
		{"daily exactly at midnight", at(plus2, 2024, 3, 10, 0, 0), day,
			at(plus2, 2024, 3, 10, 0, 0), at(plus2, 2024, 3, 11, 0, 0)},
		{"daily, 23-hour day (DST starts)", at(ny, 2024, 3, 10, 12, 0), day,
			at(ny, 2024, 3, 10, 0, 0), at(ny, 2024, 3, 11, 0, 0)},
		{"daily, 25-hour day (DST ends)", at(ny, 2024, 11, 3, 23, 59), day,
			at(ny, 2024, 11, 3, 0, 0), at(ny, 2024, 11, 4, 0, 0)},
		{"daily, last day of the year", at(ny, 2024, 12, 31, 23, 0), day,
			at(ny, 2024, 12, 31, 0, 0), at(ny, 2025, 1, 1, 0, 0)},
		{"every 2 days counts days from 1970-01-01", at(utc, 2024, 3, 11, 8, 0), 2 * day,
			at(utc, 2024, 3, 10, 0, 0), at(utc, 2024, 3, 12, 0, 0)},
		{"hourly", at(utc, 2024, 3, 10, 10, 59), time.Hour,
			at(utc, 2024, 3, 10, 10, 0), at(utc, 2024, 3, 10, 11, 0)},
		{"hourly on the boundary", at(utc, 2024, 3, 10, 11, 0), time.Hour,
			at(utc, 2024, 3, 10, 11, 0), at(utc, 2024, 3, 10, 12, 0)},
		{"hourly in a half-hour zone falls at :30", at(india, 2024, 3, 10, 10, 15), time.Hour,
			at(india, 2024, 3, 10, 9, 30), at(india, 2024, 3, 10, 10, 30)},
		{"every 10m", at(utc, 2024, 3, 10, 10, 7), 10 * time.Minute,
			at(utc, 2024, 3, 10, 10, 0), at(utc, 2024, 3, 10, 10, 10)},
		{"every 10m on the boundary", at(utc, 2024, 3, 10, 10, 10), 10 * time.Minute,
			at(utc, 2024, 3, 10, 10, 10), at(utc, 2024, 3, 10, 10, 20)},
		{"every 7m counts from the Unix epoch", time.Unix(7*60*1000+30, 0), 7 * time.Minute,
			time.Unix(7*60*1000, 0), time.Unix(7*60*1001, 0)},
		{"hourly before the epoch", time.Unix(-1, 0), time.Hour,
			time.Unix(-3600, 0), time.Unix(0, 0)},
	}
	for _, tt := range tests {
		tt := tt
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, next := bounds(tt.t, tt.d)
			assert.True(t, tt.start.Equal(start), "start = %v, want %v", start, tt.start)
			assert.True(t, tt.next.Equal(next), "next = %v, want %v", next, tt.next)
			assert.Equal(t, tt.t.Location(), next.Location(), "next keeps t's location")
		})
	}
}
