//go:build race

package errlog

import "time"

func init() { pauseBeforeKill = 2 * time.Second }

// raceDetector is set under -race, where each HTTP round trip costs ten
// times as much: load tests scale down so that they stay in budget.
const raceDetector = true
