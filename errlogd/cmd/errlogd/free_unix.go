//go:build unix

package main

import "syscall"

// freeSpace returns the bytes available to unprivileged users on dir's
// file system.
func freeSpace(dir string) (uint64, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, err
	}
	return uint64(s.Bavail) * uint64(s.Bsize), nil
}
