//go:build !linux

package main

import (
	"errors"
	"syscall"
)

// reusePort is refused off Linux: listenUDP binds one socket.
func reusePort(network, address string, c syscall.RawConn) error {
	return errors.New("SO_REUSEPORT: not on this system")
}
