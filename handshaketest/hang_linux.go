package handshaketest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Hanging is an address whose connects hang, as most addresses gossiped on
// the real network do: a listener with a listen backlog of zero whose one
// queue slot is taken and which never accepts, so that Linux drops every
// further SYN and a client's connect waits until its own time limit. No
// root is needed.
type Hanging struct {
	f    *os.File // the listening socket
	addr string
}

// NewHanging listens on addr ("ip:port" on loopback; port 0 picks one)
// and fills its accept queue. Call Close when done.
func NewHanging(addr string) (*Hanging, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("handshaketest: hanging address: %w", err)
	}
	if !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("handshaketest: hanging address %q is not IPv4 loopback", addr)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("handshaketest: socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hanging")
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if err := syscall.Bind(fd, sa); err != nil {
		f.Close()
		return nil, fmt.Errorf("handshaketest: bind %s: %w", addr, err)
	}
	// A backlog of 0 holds one connection; past it Linux drops SYNs.
	if err := syscall.Listen(fd, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("handshaketest: listen %s: %w", addr, err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("handshaketest: getsockname: %w", err)
	}
	h := &Hanging{f: f, addr: net.JoinHostPort(ap.Addr().String(), strconv.Itoa(got.(*syscall.SockaddrInet4).Port))}
	// The filler's connection stays queued after its client side closes,
	// so the listener costs one descriptor.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("handshaketest: filling %s: %w", h.addr, err)
	}
	c.Close()
	return h, nil
}

// Addr returns "ip:port".
func (h *Hanging) Addr() string { return h.addr }

// Close closes the listener; connects in progress are then refused.
func (h *Hanging) Close() error {
	if err := h.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
