package handshaketest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
	"github.com/btcsuite/btcd/wire/v2"
)

// MaxPayload is the largest payload Conn.ReadMessage accepts: Bitcoin
// Core's MAX_PROTOCOL_MESSAGE_LENGTH (wire.MaxProtocolMessageLength).
const MaxPayload = wire.MaxProtocolMessageLength

// Errors returned by Conn.ReadMessage, matched with errors.Is. After
// ErrBadChecksum and ErrBadCommand the message was read whole and the stream
// is intact, as Bitcoin Core keeps the connection after dropping it.
var (
	ErrBadMagic        = errors.New("handshaketest: message from another network")
	ErrBadChecksum     = errors.New("handshaketest: payload checksum mismatch")
	ErrPayloadTooLarge = errors.New("handshaketest: claimed payload too large")
	ErrBadCommand      = errors.New("handshaketest: malformed command name")
)

// Frame returns cmd and payload as one complete v1 message: magic, command
// padded with NULs to 12 bytes, payload length, double-SHA256 checksum,
// payload. It panics if cmd is longer than 12 bytes, which is a bug in the
// calling test rather than something to handle.
func Frame(net wire.BitcoinNet, cmd string, payload []byte) []byte {
	if len(cmd) > wire.CommandSize {
		panic(fmt.Sprintf("handshaketest.Frame: command %q longer than %d bytes", cmd, wire.CommandSize))
	}
	b := make([]byte, wire.MessageHeaderSize, wire.MessageHeaderSize+len(payload))
	binary.LittleEndian.PutUint32(b[0:4], uint32(net))
	copy(b[4:16], cmd)
	binary.LittleEndian.PutUint32(b[16:20], uint32(len(payload)))
	sum := checksum(payload)
	copy(b[20:24], sum[:])
	return append(b, payload...)
}

// checksum is the first four bytes of double-SHA256, as in the v1 header.
func checksum(payload []byte) [4]byte {
	first := sha256.Sum256(payload)
	second := sha256.Sum256(first[:])
	return [4]byte(second[:4])
}

// readFrame reads one message from r, verifying magic, command, length
// bound and checksum. The payload is only read once the header passed, so a
// lying length never makes it allocate.
func readFrame(r io.Reader, net wire.BitcoinNet) (cmd string, payload []byte, err error) {
	var hdr [wire.MessageHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", nil, err
	}
	if magic := wire.BitcoinNet(binary.LittleEndian.Uint32(hdr[0:4])); magic != net {
		return "", nil, fmt.Errorf("%w: magic %v, want %v", ErrBadMagic, magic, net)
	}
	n := binary.LittleEndian.Uint32(hdr[16:20])
	if n > MaxPayload {
		return "", nil, fmt.Errorf("%w: %q claims %d bytes, max %d", ErrPayloadTooLarge, hdr[4:16], n, MaxPayload)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return "", nil, err
	}
	// As Core's V1Transport::GetReceivedMessage: the whole message is
	// read, then the checksum and the command are judged, so that a
	// message failing either is dropped with the stream intact.
	if checksum(payload) != [4]byte(hdr[20:24]) {
		return "", nil, fmt.Errorf("%w: %q", ErrBadChecksum, hdr[4:16])
	}
	if cmd, err = parseCommand(hdr[4:16]); err != nil {
		return "", nil, err
	}
	return cmd, payload, nil
}

// parseCommand accepts printable ASCII followed only by NUL padding, as
// Bitcoin Core does (CMessageHeader::IsMessageTypeValid; twelve NULs, the
// empty command, pass).
func parseCommand(field []byte) (string, error) {
	name, ok := p2p.Command(field, 0x7e)
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrBadCommand, field)
	}
	return string(name), nil
}
