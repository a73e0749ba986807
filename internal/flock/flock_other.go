//go:build !unix || solaris || aix

package flock

import "os"

// Supported reports whether TryLock can work here.
const Supported = false

// TryLock returns ErrUnsupported.
func TryLock(f *os.File) error { return ErrUnsupported }

// TryLockShared returns ErrUnsupported.
func TryLockShared(f *os.File) error { return ErrUnsupported }

// Lock returns ErrUnsupported.
func Lock(f *os.File) error { return ErrUnsupported }

// Unlock returns ErrUnsupported.
func Unlock(f *os.File) error { return ErrUnsupported }
