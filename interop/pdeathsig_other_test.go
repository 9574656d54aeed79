//go:build !linux

package interop

import "os/exec"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal; t.Cleanup and TestMain still stop every node.
func setParentDeathSignal(*exec.Cmd) {}
