// Package flock takes advisory, non-blocking locks on open files, for the
// files several processes share: the crash files of errlog's spool and the
// rotation lock of a log file. The lock belongs to the open file, so the
// kernel drops it when its process dies, however it dies: a crash never
// leaves a file locked.
package flock

import "errors"

// ErrLocked is returned by TryLock when another open file holds the lock.
var ErrLocked = errors.New("locked by another process")

// ErrUnsupported is returned where the system has no flock(2).
var ErrUnsupported = errors.New("file locks are not supported on this system")
