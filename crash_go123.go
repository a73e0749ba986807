//go:build go1.23

package errlog

import (
	"os"
	"runtime/debug"
)

// crashOutputSupported: runtime/debug.SetCrashOutput exists.
const crashOutputSupported = true

func setCrashOutput(f *os.File) error {
	return debug.SetCrashOutput(f, debug.CrashOptions{})
}
