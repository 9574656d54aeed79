package handshake

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"

	"github.com/btcsuite/btcd/wire/v2"
)

// The v1 message header: magic, NUL-padded command, payload length, checksum.
const (
	v1HeaderLen  = 24
	v1CommandLen = 12
)

// maxVersionPayload is the largest version message wire/v2 decodes: 33 fixed
// bytes, two 26-byte addresses, a varint and a 256-byte user agent.
var maxVersionPayload = (&wire.MsgVersion{}).MaxPayloadLength(wire.ProtocolVersion)

// v1Transport frames messages the original way. We read headers ourselves
// rather than through wire.ReadMessage because wire hides the command of
// unknown messages (sendcmpct, sendtxrcncl, ...), which we must record, and
// because it reads up to 32 MiB to discard a message from the wrong network.
type v1Transport struct {
	r     *bufio.Reader
	w     io.Writer
	magic wire.BitcoinNet

	hdr     [v1HeaderLen]byte
	scratch [512]byte // holds every payload we keep; larger ones are streamed
	hasher  hash.Hash // created on the first payload too large for scratch
	sum     [32]byte
	wbuf    []byte
	rbuf    []byte // payloads after the handshake (readPayload)
}

// readMessage reads one message of at most limit bytes, header included.
// Only a version payload is returned; others are checked and discarded
// without buffering them, so memory does not depend on what a peer claims.
func (t *v1Transport) readMessage(limit int) (cmd string, payload []byte, n int, err error) {
	if limit < v1HeaderLen {
		return "", nil, 0, fmt.Errorf("%w: no room for another message", ErrLimitExceeded)
	}
	cmd, length, n, err := t.readHeader()
	if err != nil {
		return cmd, nil, n, err
	}
	switch {
	case cmd == wire.CmdVersion && length > maxVersionPayload:
		return cmd, nil, n, fmt.Errorf("%w: version claims %d bytes, the maximum is %d", ErrMessageTooLarge, length, maxVersionPayload)
	case length > wire.MaxProtocolMessageLength:
		return cmd, nil, n, fmt.Errorf("%w: %s claims %d bytes, the maximum is %d", ErrMessageTooLarge, cmd, length, wire.MaxProtocolMessageLength)
	case int64(length) > int64(limit-n):
		return cmd, nil, n, fmt.Errorf("%w: %s claims %d bytes, %d remain of the budget", ErrLimitExceeded, cmd, length, limit-n)
	}
	sum := &t.sum
	if int(length) <= len(t.scratch) {
		payload = t.scratch[:length]
		if got, err := io.ReadFull(t.r, payload); err != nil {
			return cmd, nil, n + got, err
		}
		*sum = sha256.Sum256(payload)
	} else {
		if t.hasher == nil {
			t.hasher = sha256.New()
		}
		t.hasher.Reset()
		for left := int(length); left > 0; {
			chunk := t.scratch[:min(left, len(t.scratch))]
			if got, err := io.ReadFull(t.r, chunk); err != nil {
				return cmd, nil, n + int(length) - left + got, err
			}
			t.hasher.Write(chunk)
			left -= len(chunk)
		}
		t.hasher.Sum(sum[:0])
	}
	n += int(length)
	if *sum = sha256.Sum256(sum[:]); [4]byte(sum[:4]) != [4]byte(t.hdr[20:24]) {
		return cmd, nil, n, fmt.Errorf("%w: bad checksum on %s", ErrMalformed, cmd)
	}
	if cmd != wire.CmdVersion {
		payload = nil
	}
	return cmd, payload, n, nil
}

// readHeader reads and checks a header, returning its command, its claimed
// payload length and the bytes read.
func (t *v1Transport) readHeader() (cmd string, length uint32, n int, err error) {
	if _, err := io.ReadFull(t.r, t.hdr[:]); err != nil {
		return "", 0, 0, err
	}
	if magic := wire.BitcoinNet(binary.LittleEndian.Uint32(t.hdr[0:4])); magic != t.magic {
		return "", 0, v1HeaderLen, fmt.Errorf("%w: got %s, want %s", ErrWrongNetwork, netName(magic), netName(t.magic))
	}
	cmd, ok := parseCommand(t.hdr[4:16])
	if !ok {
		return "", 0, v1HeaderLen, fmt.Errorf("%w: invalid command %q", ErrMalformed, t.hdr[4:16])
	}
	return cmd, binary.LittleEndian.Uint32(t.hdr[16:20]), v1HeaderLen, nil
}

// wait returns once a byte has arrived, consuming none, so that a deadline
// passing while the peer is quiet leaves the stream intact.
func (t *v1Transport) wait() error {
	_, err := t.r.Peek(1)
	return err
}

// readPayload reads a whole message of any command after the handshake. A
// payload longer than maxPayload(cmd) fails with ErrMessageTooLarge before
// it is read, so a peer's claim never sizes a buffer beyond that bound. The
// payload is valid until the next call.
func (t *v1Transport) readPayload(maxPayload func(cmd string) int) (string, []byte, error) {
	cmd, length, _, err := t.readHeader()
	if err != nil {
		return "", nil, err
	}
	if m := maxPayload(cmd); int64(length) > int64(m) {
		return cmd, nil, fmt.Errorf("%w: %s claims %d bytes, the maximum is %d", ErrMessageTooLarge, cmd, length, m)
	}
	if cap(t.rbuf) < int(length) {
		t.rbuf = make([]byte, length)
	}
	payload := t.rbuf[:length]
	if _, err := io.ReadFull(t.r, payload); err != nil {
		return cmd, nil, err
	}
	if cap(t.rbuf) > retainLimit {
		t.rbuf = nil // a rare large message does not stay with the connection
	}
	sum := sha256.Sum256(payload)
	if sum = sha256.Sum256(sum[:]); [4]byte(sum[:4]) != [4]byte(t.hdr[20:24]) {
		return cmd, nil, fmt.Errorf("%w: bad checksum on %s", ErrMalformed, cmd)
	}
	return cmd, payload, nil
}

// retainLimit is the largest read buffer a connection keeps between
// messages.
const retainLimit = 64 << 10

func (t *v1Transport) queue(cmd string, payload []byte) int {
	at := t.appendHeader(cmd)
	t.wbuf = append(t.wbuf, payload...)
	t.sealHeader(at)
	return len(t.wbuf) - at
}

func (t *v1Transport) queueVersion(v *wire.MsgVersion) int {
	at := t.appendHeader(wire.CmdVersion)
	t.wbuf = appendVersion(t.wbuf, v)
	t.sealHeader(at)
	return len(t.wbuf) - at
}

func (t *v1Transport) write() (int, error) {
	n, err := t.w.Write(t.wbuf)
	t.wbuf = t.wbuf[:0]
	return n, err
}

// appendHeader appends a header whose length and checksum sealHeader fills
// in once the payload follows it.
func (t *v1Transport) appendHeader(cmd string) int {
	at := len(t.wbuf)
	var hdr [v1HeaderLen]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(t.magic))
	copy(hdr[4:16], cmd)
	t.wbuf = append(t.wbuf, hdr[:]...)
	return at
}

func (t *v1Transport) sealHeader(at int) {
	hdr, payload := t.wbuf[at:at+v1HeaderLen], t.wbuf[at+v1HeaderLen:]
	binary.LittleEndian.PutUint32(hdr[16:20], uint32(len(payload)))
	sum := sha256.Sum256(payload)
	sum = sha256.Sum256(sum[:])
	copy(hdr[20:24], sum[:4])
}

// appendVersion appends a version message's payload. Encoding it here
// rather than with MsgVersion.BtcEncode saves the allocations wire's
// io.Writer-based encoder makes per field, which were most of a handshake's;
// TestAppendVersionMatchesWire holds the two to the same bytes. Layout:
// version, services, timestamp, addr_recv and addr_from (services, 16-byte
// IP, big-endian port), nonce, user agent as a var string, start height,
// relay.
func appendVersion(b []byte, v *wire.MsgVersion) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(v.ProtocolVersion))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Services))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Timestamp.Unix()))
	for _, na := range [2]*wire.NetAddress{&v.AddrYou, &v.AddrMe} {
		b = binary.LittleEndian.AppendUint64(b, uint64(na.Services))
		var ip [16]byte
		copy(ip[:], na.IP.To16())
		b = append(b, ip[:]...)
		b = binary.BigEndian.AppendUint16(b, na.Port)
	}
	b = binary.LittleEndian.AppendUint64(b, v.Nonce)
	b = appendVarInt(b, uint64(len(v.UserAgent)))
	b = append(b, v.UserAgent...)
	b = binary.LittleEndian.AppendUint32(b, uint32(v.LastBlock))
	relay := byte(1)
	if v.DisableRelayTx {
		relay = 0
	}
	return append(b, relay)
}

// appendVarInt appends a CompactSize integer.
func appendVarInt(b []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xff), n)
}

// parseCommand returns the command of a v1 header: printable ASCII followed by
// NUL padding, as Bitcoin Core requires. Commands of the handshake are
// returned as constants so that reading them allocates nothing.
func parseCommand(b []byte) (string, bool) {
	end := len(b)
	for i, c := range b {
		if c == 0 {
			end = i
			break
		}
		if c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	if end == 0 {
		return "", false
	}
	for _, c := range b[end:] {
		if c != 0 {
			return "", false
		}
	}
	name := b[:end]
	for _, known := range knownCommands {
		if string(name) == known {
			return known, true
		}
	}
	return string(name), true
}

// knownCommands are the commands a node sends around the handshake.
var knownCommands = [...]string{
	wire.CmdVersion, wire.CmdVerAck, wire.CmdWTxIdRelay, wire.CmdSendAddrV2,
	"sendtxrcncl", wire.CmdSendHeaders, "sendcmpct", wire.CmdPing,
	wire.CmdPong, wire.CmdFeeFilter, wire.CmdGetHeaders, wire.CmdGetAddr,
	wire.CmdAddr, wire.CmdAddrV2, wire.CmdInv,
}

// netName names a network magic for error messages.
func netName(m wire.BitcoinNet) string {
	switch m {
	case wire.MainNet:
		return "mainnet"
	case wire.TestNet3:
		return "testnet3"
	case wire.TestNet4:
		return "testnet4"
	case wire.SigNet:
		return "signet"
	case wire.TestNet:
		return "regtest"
	case wire.SimNet:
		return "simnet"
	}
	return fmt.Sprintf("unknown magic 0x%08x", uint32(m))
}
