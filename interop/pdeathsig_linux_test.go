package interop

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill the node if the test binary dies
// without running its cleanups (a panic, a -timeout, a SIGKILL), so that no
// btcd outlives the run. The signal follows the OS thread that started the
// child; Go only retires threads whose goroutine locked them, which nothing
// here does.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
