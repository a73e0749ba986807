//go:build race

package errlog

import "time"

func init() { pauseBeforeKill = 2 * time.Second }
