//go:build !unix || solaris || aix

package delivery

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dirLock is a lock file created with O_EXCL that holds its owner's pid,
// where flock(2) is missing. A process that dies leaves the file behind;
// the next lockDir takes it over once its pid is gone (or is this process,
// which does not hold it).
type dirLock struct{ path string }

// heldLocks are the lock files this process holds, to tell its own live
// locks from those a dead process with the same pid left.
var heldLocks sync.Map

// lockDir locks dir without waiting; errLocked if another Queue holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockName)
	for try := 0; try < 2; try++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
				return nil, err
			}
			l := &dirLock{path: path}
			heldLocks.Store(path, l)
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if !staleLock(path) {
			return nil, errLocked
		}
		os.Remove(path)
	}
	return nil, errLocked
}

// staleLock reports whether the process that wrote the lock file at path
// is gone.
func staleLock(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		// Its owner may be between creating it and writing its pid.
		info, err := os.Stat(path)
		return err == nil && time.Since(info.ModTime()) > 10*time.Second
	}
	if pid == os.Getpid() {
		_, held := heldLocks.Load(path)
		return !held
	}
	// Windows finds only live processes; where FindProcess finds any pid
	// (Plan 9), the slot stays taken and the next one is used.
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	p.Release()
	return false
}

// release removes the file, then forgets it, unless another Queue of
// this process has locked the path anew in between.
func (l *dirLock) release() {
	os.Remove(l.path)
	heldLocks.CompareAndDelete(l.path, l)
}
