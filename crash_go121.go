//go:build !go1.23

package errlog

import (
	"errors"
	"os"
)

// crashOutputSupported: runtime/debug.SetCrashOutput exists.
const crashOutputSupported = false

func setCrashOutput(*os.File) error {
	return errors.New("runtime/debug.SetCrashOutput needs Go 1.23")
}
