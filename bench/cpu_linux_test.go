package bench

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) this process has used.
func processCPU() (time.Duration, bool) { return rusage(syscall.RUSAGE_SELF) }

// threadCPU is the CPU time the calling OS thread has used: a goroutine's
// own, once it called runtime.LockOSThread.
func threadCPU() (time.Duration, bool) { return rusage(1) } // RUSAGE_THREAD

func rusage(who int) (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
