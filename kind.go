package handshake

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// ErrorKind names the kind of a failure in a short, stable word for
// counting, as crawl.Summary, metrics and reports do. It returns "" for a
// nil error and otherwise one of:
//
//	proxy-down               the proxy could not be used (ErrProxyDown)
//	socks-*, onion-*         a SOCKS5 reply (SOCKSReply.Kind), Tor's onion codes among them
//	i2p-*                    an I2P router's SAM result (SAMResult.Kind)
//	proxy-refused            another refusal by a proxy
//	invalid-address          ErrInvalidAddress
//	no-dialer                ErrNoDialer
//	timeout                  a time limit ended the call (context.DeadlineExceeded)
//	canceled                 the caller's context was canceled
//	refused                  the node refused the connection
//	unreachable              no route to the node's host or network
//	peer-closed              the node hung up before the handshake completed (ErrPeerClosed)
//	v1-only                  ErrV1Only (when v2 was forced)
//	wrong-network            ErrWrongNetwork
//	malformed                ErrMalformed
//	too-large                ErrMessageTooLarge
//	limit                    ErrLimitExceeded
//	protocol-violation       ErrProtocolViolation
//	self-connection          ErrSelfConnection
//	too-old                  ErrPeerTooOld
//	invalid-options          ErrInvalidOptions
//	other                    anything else
func ErrorKind(err error) string {
	if err == nil {
		return ""
	}
	var pe *ProxyError
	if errors.As(err, &pe) {
		return pe.Kind()
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "other"
}

// errorKinds are ErrorKind's classes, first match wins.
var errorKinds = [...]struct {
	err  error
	kind string
}{
	{ErrProxyDown, "proxy-down"},
	{ErrProxyRefused, "proxy-refused"},
	{ErrInvalidAddress, "invalid-address"},
	{ErrNoDialer, "no-dialer"},
	{ErrInvalidOptions, "invalid-options"},
	{ErrWrongNetwork, "wrong-network"},
	{ErrSelfConnection, "self-connection"},
	{ErrPeerTooOld, "too-old"},
	{ErrMessageTooLarge, "too-large"},
	{ErrLimitExceeded, "limit"},
	{ErrMalformed, "malformed"},
	{ErrProtocolViolation, "protocol-violation"},
	{ErrV1Only, "v1-only"},
	{ErrPeerClosed, "peer-closed"},
	{context.DeadlineExceeded, "timeout"},
	{os.ErrDeadlineExceeded, "timeout"},
	{context.Canceled, "canceled"},
	{syscall.ECONNREFUSED, "refused"},
	{syscall.EHOSTUNREACH, "unreachable"},
	{syscall.ENETUNREACH, "unreachable"},
	{syscall.ECONNRESET, "peer-closed"},
}
