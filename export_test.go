package handshake

import "net"

// IsProxied reports whether conn is marked as made through a proxy, whose
// address our version must never report as the peer's.
func IsProxied(conn net.Conn) bool {
	_, ok := conn.(proxiedConn)
	return ok
}
