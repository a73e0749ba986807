//go:build !go1.23

package errlog

import "os"

// crashOutputSupported: runtime/debug.SetCrashOutput exists.
const crashOutputSupported = false

func setCrashOutput(*os.File) error { return errCrashUnsupported }
