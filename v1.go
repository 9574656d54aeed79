package handshake

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"slices"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
	"github.com/btcsuite/btcd/wire/v2"
)

// The v1 message header: magic, NUL-padded command, payload length, checksum.
const (
	v1HeaderLen = 24
)

// maxVersionPayload is the longest prefix of a version payload we keep: all
// a version decodes from (33 fixed bytes, two 26-byte addresses, a varint
// and a 256-byte user agent). Bitcoin Core ignores bytes after the relay
// flag, so a longer version is read, checksummed and its tail discarded.
var maxVersionPayload = (&wire.MsgVersion{}).MaxPayloadLength(wire.ProtocolVersion)

// message is one message read before the handshake completed.
type message struct {
	cmd string
	// payload is the version's or feature's payload, at most its
	// first keepPayload(cmd) bytes; nil for other commands.
	payload []byte
	size    int    // the payload's length on the wire
	n       int    // bytes read, header included
	drop    string // why Bitcoin Core's transport drops it, or ""
}

// keepPayload is how much of cmd's payload the handshake looks at.
func keepPayload(cmd string) int {
	switch cmd {
	case wire.CmdVersion:
		return int(maxVersionPayload)
	case CmdFeature:
		return maxFeaturePayload + 1 // one more shows it is too long
	}
	return 0
}

// v1Transport frames messages the original way. We read headers ourselves
// rather than through wire.ReadMessage because wire hides the command of
// unknown messages (sendcmpct, sendtxrcncl, ...), which we must record, and
// because it reads up to 32 MiB to discard a message from the wrong network.
type v1Transport struct {
	r     *bufio.Reader
	w     io.Writer
	magic wire.BitcoinNet

	hdr     [v1HeaderLen]byte
	scratch [maxFeaturePayload + 1]byte // the payload prefix we keep
	hasher  hash.Hash                   // created on the first payload longer than we keep
	sum     [32]byte
	wbuf    []byte
	rbuf    []byte // payloads after the handshake (readPayload)
}

// readMessage reads one message of at most limit bytes, header included,
// into m. Only the start of a version or feature payload is kept; the rest
// of every payload is checksummed straight out of the read buffer and
// discarded, so memory does not depend on what a peer claims. As Bitcoin
// Core's V1Transport does, a message with a bad checksum or an invalid
// command is read whole and then dropped (m.drop says why); a wrong magic or
// a length past Core's limit ends the exchange.
func (t *v1Transport) readMessage(limit int, m *message) error {
	*m = message{}
	if limit < v1HeaderLen {
		return fmt.Errorf("%w: no room for another message", ErrLimitExceeded)
	}
	length, valid, err := t.readHeader(m)
	if err != nil {
		return err
	}
	switch {
	case length > wire.MaxProtocolMessageLength:
		return fmt.Errorf("%w: %q claims %d bytes, the maximum is %d", ErrMessageTooLarge, m.cmd, length, wire.MaxProtocolMessageLength)
	case int64(length) > int64(limit-m.n):
		return fmt.Errorf("%w: %q claims %d bytes, %d remain of the budget", ErrLimitExceeded, m.cmd, length, limit-m.n)
	}
	m.size = int(length)
	keep := t.scratch[:min(m.size, keepPayload(m.cmd))]
	got, err := io.ReadFull(t.r, keep)
	m.n += got
	if err != nil {
		return err
	}
	if len(keep) == m.size {
		t.sum = sha256.Sum256(keep)
	} else {
		if t.hasher == nil {
			t.hasher = sha256.New()
		}
		t.hasher.Reset()
		t.hasher.Write(keep)
		for left := m.size - len(keep); left > 0; {
			b, err := t.r.Peek(min(left, t.r.Size()))
			t.hasher.Write(b)
			t.r.Discard(len(b))
			m.n += len(b)
			left -= len(b)
			if err != nil {
				return err
			}
		}
		t.hasher.Sum(t.sum[:0])
	}
	switch t.sum = sha256.Sum256(t.sum[:]); {
	case [4]byte(t.sum[:4]) != [4]byte(t.hdr[20:24]):
		m.drop = "bad checksum"
	case !valid:
		m.drop = "invalid command"
	case len(keep) > 0:
		m.payload = keep
	}
	return nil
}

// readHeader reads and checks a header into m (its command and n),
// returning the claimed payload length and whether the command is valid.
// A command that is not is kept as sent, without its NUL padding.
func (t *v1Transport) readHeader(m *message) (length uint32, valid bool, err error) {
	if _, err := io.ReadFull(t.r, t.hdr[:]); err != nil {
		return 0, false, err
	}
	m.n = v1HeaderLen
	if magic := wire.BitcoinNet(binary.LittleEndian.Uint32(t.hdr[0:4])); magic != t.magic {
		return 0, false, fmt.Errorf("%w: got %s, want %s", ErrWrongNetwork, netName(magic), netName(t.magic))
	}
	m.cmd, valid = parseCommand(t.hdr[4:16])
	if !valid {
		m.cmd = string(bytes.TrimRight(t.hdr[4:16], "\x00"))
	}
	return binary.LittleEndian.Uint32(t.hdr[16:20]), valid, nil
}

// wait returns once a byte has arrived, consuming none, so that a deadline
// passing while the peer is quiet leaves the stream intact.
func (t *v1Transport) wait() error {
	_, err := t.r.Peek(1)
	return err
}

// readPayload reads a whole message of any command after the handshake,
// skipping those Bitcoin Core's V1Transport drops (bad checksum, invalid
// command). It shares readHeader with readMessage but not the payload
// read, on purpose: the handshake keeps a bounded prefix of each payload
// under a byte budget and reports what it dropped, where a Conn needs
// whole payloads to decode and a per-command limit instead of a budget. A payload longer than maxPayload(cmd) fails with
// ErrMessageTooLarge before it is read; the buffer grows as the payload
// arrives rather than to the length the peer claims (see readGrowing). The
// payload is valid until the next call.
func (t *v1Transport) readPayload(maxPayload func(cmd string) int) (string, []byte, error) {
	for {
		var m message
		length, valid, err := t.readHeader(&m)
		if err != nil {
			return "", nil, err
		}
		limit := wire.MaxProtocolMessageLength
		if valid {
			limit = maxPayload(m.cmd)
		}
		if int64(length) > int64(limit) {
			return m.cmd, nil, fmt.Errorf("%w: %q claims %d bytes, the maximum is %d", ErrMessageTooLarge, m.cmd, length, limit)
		}
		payload, err := readGrowing(t.r, t.rbuf[:0], int(length))
		t.rbuf = payload[:0]
		if cap(t.rbuf) > p2p.RetainLimit {
			t.rbuf = nil // a rare large message does not stay with the connection
		}
		if err != nil {
			return m.cmd, nil, err
		}
		sum := sha256.Sum256(payload)
		if sum = sha256.Sum256(sum[:]); [4]byte(sum[:4]) == [4]byte(t.hdr[20:24]) && valid {
			return m.cmd, payload, nil
		}
	}
}

// growStep is how far ahead of the bytes that arrived a read buffer may
// first grow.
const growStep = 4 << 10

// readGrowing appends n bytes from r to buf and returns it. The buffer
// grows as bytes arrive, by the larger of growStep and what it holds
// (Bitcoin Core reserves up to 256 KiB ahead), never to the length a peer
// merely claims: a peer that announces 4 MB and trickles costs what it
// actually sent.
func readGrowing(r io.Reader, buf []byte, n int) ([]byte, error) {
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), max(len(buf), growStep)))
		}
		got, err := r.Read(buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+got]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

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
// NUL padding, as Bitcoin Core's CMessageHeader::IsMessageTypeValid requires
// (twelve NULs, the empty command, pass). Commands of the handshake are
// returned as constants so that reading them allocates nothing.
func parseCommand(b []byte) (string, bool) {
	name, ok := p2p.Command(b, 0x7e)
	if !ok {
		return "", false
	}
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
