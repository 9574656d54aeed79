package handshake

import (
	"errors"
	"fmt"
)

// Sentinels for failures through a proxy (Tor's SOCKS5 port, an I2P
// router's SAM bridge), matched with errors.Is. A *ProxyError carries one of
// ErrProxyDown and ErrProxyRefused, and the proxy's own answer as a
// SOCKSReply or a SAMResult.
var (
	// ErrProxyDown reports a proxy that cannot be used at all: nothing
	// listens at its address, it does not speak SOCKS5 (or SAM), it hung
	// before answering our greeting, or it refused our credentials. It says
	// nothing about the address asked for, which was never tried.
	ErrProxyDown = errors.New("proxy down")

	// ErrProxyRefused reports a working proxy that could not reach the
	// address asked for and said why: its reply code (a SOCKSReply) or
	// result (a SAMResult) is in the same chain.
	ErrProxyRefused = errors.New("proxy could not connect")

	// ErrInvalidAddress reports an address that cannot name a node: an onion
	// name of the wrong length, with a bad checksum or version, an I2P name
	// that is not 52 base32 characters, or an I2P address with a port other
	// than 0. Such an address is never dialled.
	ErrInvalidAddress = errors.New("invalid address")
)

// SOCKSReply is a SOCKS5 reply code (RFC 1928 section 6), with Tor's
// extended codes for onion services (Tor's proposal 304), which Tor sends
// on a SocksPort with the ExtendedErrors flag.
// Each code is an error, so errors.Is(err, handshake.SOCKSOnionNotFound)
// tells an offline onion service from a slow one (a context error) or an
// unreachable proxy (ErrProxyDown).
type SOCKSReply byte

// The reply codes a SOCKS5 proxy, Tor among them, gives for a failed
// CONNECT. The names follow Bitcoin Core's Socks5ErrorString.
const (
	SOCKSGeneralFailure        SOCKSReply = 0x01
	SOCKSNotAllowed            SOCKSReply = 0x02
	SOCKSNetworkUnreachable    SOCKSReply = 0x03
	SOCKSHostUnreachable       SOCKSReply = 0x04
	SOCKSConnectionRefused     SOCKSReply = 0x05
	SOCKSTTLExpired            SOCKSReply = 0x06 // Tor: the stream timed out
	SOCKSCommandNotSupported   SOCKSReply = 0x07
	SOCKSAddressNotSupported   SOCKSReply = 0x08
	SOCKSOnionNotFound         SOCKSReply = 0xF0 // descriptor not found: the service is offline or never existed
	SOCKSOnionInvalid          SOCKSReply = 0xF1 // descriptor invalid
	SOCKSOnionIntroFailed      SOCKSReply = 0xF2 // every introduction point failed
	SOCKSOnionRendezvousFailed SOCKSReply = 0xF3
	SOCKSOnionMissingAuth      SOCKSReply = 0xF4 // the service wants client authorization
	SOCKSOnionWrongAuth        SOCKSReply = 0xF5
	SOCKSOnionBadAddress       SOCKSReply = 0xF6 // Tor rejected the name as malformed
	SOCKSOnionIntroTimeout     SOCKSReply = 0xF7
)

// socksReplies are the known codes' kinds and descriptions.
var socksReplies = map[SOCKSReply][2]string{
	SOCKSGeneralFailure:        {"socks-general-failure", "general failure"},
	SOCKSNotAllowed:            {"socks-not-allowed", "connection not allowed"},
	SOCKSNetworkUnreachable:    {"socks-network-unreachable", "network unreachable"},
	SOCKSHostUnreachable:       {"socks-host-unreachable", "host unreachable"},
	SOCKSConnectionRefused:     {"socks-refused", "connection refused"},
	SOCKSTTLExpired:            {"socks-ttl-expired", "TTL expired"},
	SOCKSCommandNotSupported:   {"socks-command-not-supported", "protocol error"},
	SOCKSAddressNotSupported:   {"socks-address-not-supported", "address type not supported"},
	SOCKSOnionNotFound:         {"onion-not-found", "onion service descriptor can not be found"},
	SOCKSOnionInvalid:          {"onion-descriptor-invalid", "onion service descriptor is invalid"},
	SOCKSOnionIntroFailed:      {"onion-intro-failed", "onion service introduction failed"},
	SOCKSOnionRendezvousFailed: {"onion-rendezvous-failed", "onion service rendezvous failed"},
	SOCKSOnionMissingAuth:      {"onion-missing-auth", "onion service missing client authorization"},
	SOCKSOnionWrongAuth:        {"onion-wrong-auth", "onion service wrong client authorization"},
	SOCKSOnionBadAddress:       {"onion-bad-address", "onion service invalid address"},
	SOCKSOnionIntroTimeout:     {"onion-intro-timeout", "onion service introduction timed out"},
}

// Error describes the code as Bitcoin Core does, with the code in hex.
func (r SOCKSReply) Error() string {
	if s, ok := socksReplies[r]; ok {
		return fmt.Sprintf("socks5 reply 0x%02x: %s", byte(r), s[1])
	}
	return fmt.Sprintf("socks5 reply 0x%02x: unknown", byte(r))
}

// Kind is the code's stable short name for counting, such as
// "onion-not-found"; "socks-unknown-code" for a code not listed above.
func (r SOCKSReply) Kind() string {
	if s, ok := socksReplies[r]; ok {
		return s[0]
	}
	return "socks-unknown-code"
}

// SAMResult is the RESULT= of an I2P router's SAM 3.1 reply (to NAMING
// LOOKUP or STREAM CONNECT), such as "CANT_REACH_PEER". Each is an error, so
// errors.Is(err, handshake.SAMCantReachPeer) works as for SOCKSReply.
type SAMResult string

// The SAM results that say why an I2P destination could not be reached.
const (
	SAMCantReachPeer SAMResult = "CANT_REACH_PEER" // no answer from the destination
	SAMTimeout       SAMResult = "TIMEOUT"
	SAMKeyNotFound   SAMResult = "KEY_NOT_FOUND" // NAMING LOOKUP: no lease set, the destination is offline
	SAMInvalidKey    SAMResult = "INVALID_KEY"
	SAMPeerNotFound  SAMResult = "PEER_NOT_FOUND"
	SAMInvalidID     SAMResult = "INVALID_ID" // our session is gone; the next dial makes a new one
	SAMI2PError      SAMResult = "I2P_ERROR"
)

func (r SAMResult) Error() string { return "sam result " + string(r) }

// Kind is the result's stable short name for counting, such as
// "i2p-cant-reach-peer"; "i2p-other" for a result not listed above.
func (r SAMResult) Kind() string {
	switch r {
	case SAMCantReachPeer:
		return "i2p-cant-reach-peer"
	case SAMTimeout:
		return "i2p-timeout"
	case SAMKeyNotFound:
		return "i2p-not-found"
	case SAMInvalidKey:
		return "i2p-invalid-key"
	case SAMPeerNotFound:
		return "i2p-peer-not-found"
	case SAMInvalidID:
		return "i2p-invalid-id"
	case SAMI2PError:
		return "i2p-error"
	}
	return "i2p-other"
}

// ProxyError is the typed error of a connection through a proxy that
// failed at the proxy: the proxy was down (Err wraps ErrProxyDown) or
// answered that it could not reach Addr (Err wraps ErrProxyRefused, and
// Reply or SAM holds its answer). It is in the chain of the *Error a Dial
// through SOCKS5, Tor or I2P returns; find it with errors.As. A connection
// that timed out while the proxy was still trying is not a ProxyError but a
// context error, as any slow connect.
type ProxyError struct {
	Proxy string     // the proxy's address, "host:port"
	Addr  string     // the address asked for
	Reply SOCKSReply // the SOCKS5 reply code; 0 when none
	SAM   SAMResult  // the SAM result; "" when none
	Err   error      // ErrProxyDown or ErrProxyRefused, wrapping any cause
}

func (e *ProxyError) Error() string {
	msg := fmt.Sprintf("proxy %s: %s: %v", e.Proxy, e.Addr, e.Err)
	switch {
	case e.Reply != 0:
		msg += ": " + e.Reply.Error()
	case e.SAM != "":
		msg += ": " + e.SAM.Error()
	}
	return msg
}

// Unwrap returns Err and, when set, Reply or SAM, so that errors.Is finds
// the sentinel and the code.
func (e *ProxyError) Unwrap() []error {
	errs := []error{e.Err}
	if e.Reply != 0 {
		errs = append(errs, e.Reply)
	}
	if e.SAM != "" {
		errs = append(errs, e.SAM)
	}
	return errs
}

// Kind is the failure's stable short name: "proxy-down", the Reply's or
// the SAM result's Kind, or "proxy-refused".
func (e *ProxyError) Kind() string {
	switch {
	case errors.Is(e.Err, ErrProxyDown):
		return "proxy-down"
	case e.Reply != 0:
		return e.Reply.Kind()
	case e.SAM != "":
		return e.SAM.Kind()
	}
	return "proxy-refused"
}
