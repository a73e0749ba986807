//go:build unix && !solaris && !aix

package flock

import (
	"errors"
	"os"
	"syscall"
)

// Supported reports whether TryLock can work here.
const Supported = true

// TryLock locks f exclusively without waiting: ErrLocked if another open
// file (of this process or another) holds the lock.
func TryLock(f *os.File) error {
	return lock(f, syscall.LOCK_EX|syscall.LOCK_NB)
}

// TryLockShared takes a shared lock of f without waiting: ErrLocked if
// another open file holds an exclusive one.
func TryLockShared(f *os.File) error {
	return lock(f, syscall.LOCK_SH|syscall.LOCK_NB)
}

// Lock locks f exclusively, waiting for the holder to release it.
func Lock(f *os.File) error {
	return lock(f, syscall.LOCK_EX)
}

// Unlock releases a lock of f; closing f releases it as well.
func Unlock(f *os.File) error {
	return lock(f, syscall.LOCK_UN)
}

func lock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return ErrLocked
		}
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
}
