package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd when errlogd bench dies, even by
// SIGKILL, so that no yardstick is left listening.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
