// Package p2p holds the small facts of the Bitcoin P2P wire format and of
// its connections that the library's transports and the test peers of
// handshaketest share, so that each has one home: what a command field may
// hold, which errors mean the peer hung up, and how large a buffer a
// connection keeps between messages.
package p2p

import (
	"errors"
	"io"
	"syscall"
)

// CommandLen is the length of a command field: a v1 header's, or a v2
// long-form message type's.
const CommandLen = 12

// RetainLimit is the largest read or write buffer a connection keeps
// between messages: a larger one, grown for one big message, is dropped so
// that thousands of idle connections stay small.
const RetainLimit = 64 << 10

// Command splits a command field into its name, the bytes before the
// first NUL, and reports whether the field is valid: every name byte
// between 0x20 and maxChar, and only NULs after it. Bitcoin Core's v1
// header check (CMessageHeader::IsMessageTypeValid) takes maxChar 0x7e,
// its v2 long-form check (V2Transport::GetMessageType) 0x7f: the two differ
// by that byte. Twelve NULs, the empty name, are valid to both.
func Command(field []byte, maxChar byte) (name []byte, ok bool) {
	end := len(field)
	for i, c := range field {
		if c == 0 {
			end = i
			break
		}
		if c < 0x20 || c > maxChar {
			return nil, false
		}
	}
	for _, c := range field[end:] {
		if c != 0 {
			return nil, false
		}
	}
	return field[:end], true
}

// ValidCommand reports whether cmd may be sent: 1 to CommandLen printable
// ASCII characters, which both transports carry.
func ValidCommand(cmd string) bool {
	if len(cmd) == 0 || len(cmd) > CommandLen {
		return false
	}
	for i := range len(cmd) {
		if cmd[i] < 0x20 || cmd[i] > 0x7e {
			return false
		}
	}
	return true
}

// HungUp reports whether err means that the peer closed or reset the
// connection: an end of stream, a reset, a broken pipe, an aborted
// connection. A connection this side closed (net.ErrClosed) is not the
// peer's doing and is left to the caller.
func HungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}
