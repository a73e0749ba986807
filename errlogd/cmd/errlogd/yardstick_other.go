//go:build !linux

package main

import "os/exec"

// dieWithParent: only Linux kills a child with its parent; elsewhere
// errlogd bench stops the yardstick when it ends normally.
func dieWithParent(cmd *exec.Cmd) {}
