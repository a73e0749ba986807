//go:build unix && !solaris && !aix

package delivery

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// dirLock is a flock(2) lock on a spool directory's lock file. The lock
// belongs to the open file, so a second Queue of the same process is
// refused as one of another process is, and the kernel drops the lock of a
// process that dies: a crash never leaves a directory locked.
type dirLock struct{ f *os.File }

// lockDir locks dir without waiting; errLocked if another Queue holds it.
func lockDir(dir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return &dirLock{f: f}, nil
}

// release unlocks. The file stays: deleting a lock file lets a process
// that opened it just before lock an orphaned inode while a third one
// locks a new file.
func (l *dirLock) release() {
	l.f.Close()
}
