package main

import (
	"syscall"

	sys "golang.org/x/sys/unix"
)

// reusePort sets SO_REUSEPORT, so that several UDP sockets share one port
// and the kernel spreads the queries over them.
func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = sys.SetsockoptInt(int(fd), sys.SOL_SOCKET, sys.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
