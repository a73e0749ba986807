package errlog

import (
	"time"

	"github.com/errlog/errlog/internal/clock"
)

// nowClock is the system's timers with now as the time of day, for tests
// whose local variables are named clock.
func nowClock(now func() time.Time) clock.Clock { return clock.WithNow(now) }
