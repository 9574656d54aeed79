//go:build linux

package bip324

import (
	"syscall"
	"time"
	"unsafe"
)

const (
	clockProcessCPUTime = 2 // CLOCK_PROCESS_CPUTIME_ID
	clockThreadCPUTime  = 3 // CLOCK_THREAD_CPUTIME_ID
)

func clockCPU(clock uintptr) time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return -1
	}
	return time.Duration(ts.Nano())
}

// threadCPU is the CPU time of the calling OS thread (lock the goroutine to
// it first); processCPU that of the whole process. Both -1 if unavailable.
func threadCPU() time.Duration  { return clockCPU(clockThreadCPUTime) }
func processCPU() time.Duration { return clockCPU(clockProcessCPUTime) }
