//go:build unix

package rotate

import (
	"os"
	"syscall"
)

// openFIFO is the flag a FIFO is opened with: without a reader, an open
// for writing fails at once (ENXIO) instead of blocking until one comes.
const openFIFO = syscall.O_NONBLOCK

// unlinked reports whether f's file has no name left: deleted, not moved.
func unlinked(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0
}
