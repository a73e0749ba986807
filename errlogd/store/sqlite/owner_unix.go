//go:build unix && !solaris && !aix

package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// own takes the store's owner lock: an exclusive flock on path (the
// database's path + "-owner"), which the system releases when the process
// ends, however it ends. release closes it; ok is false when another
// process (or another Open in this one) holds it, or it cannot be taken.
// The lock is on a file of its own: closing a descriptor of the database
// file itself would release the POSIX locks SQLite's connections hold on
// it.
func own(path string) (release func(), ok bool) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return func() {}, false
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return func() {}, false
	}
	return func() { f.Close() }, true
}
