package handshaketest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/internal/bip324"
)

// Conn is one connection of a fake peer, with helpers to script the peer in
// a Config.Handler. Its methods are not safe for concurrent use, except that
// one goroutine may read while another writes.
type Conn struct {
	nc     net.Conn
	r      io.Reader    // nc, or a buffered reader over it once V2 peeked
	v2     *bip324.Conn // the encrypted channel, once a v2 client connected
	cfg    Config       // with defaults applied
	record func(string) // notes each command read; nil outside a Peer
	addrV2 bool         // the client sent sendaddrv2 (BIP 155)
}

func newConn(nc net.Conn, cfg Config, record func(string)) *Conn {
	if record == nil {
		record = func(string) {}
	}
	return &Conn{nc: nc, r: nc, cfg: cfg, record: record}
}

// acceptV2 answers a v2 client as a BIP324 responder; a client that opened
// with a v1 version message is left to the v1 behaviour.
func (c *Conn) acceptV2() error {
	// The buffer holds a whole first flight of an initiator (key and up to
	// 4,095 bytes of garbage), so that over a synchronous net.Pipe our
	// answer never waits on a client still writing.
	br := bufio.NewReaderSize(c.nc, 8192)
	c.r = br
	// V2GarbageLen means what bip324.Config.GarbageLen means.
	v2, err := bip324.Handshake(br, c.nc, bip324.Responder, bip324.Config{Magic: uint32(c.cfg.net()), GarbageLen: c.cfg.V2GarbageLen})
	if errors.Is(err, bip324.ErrV1Peer) {
		return nil
	}
	c.v2 = v2
	return err
}

// V2 reports whether the client connected over the v2 transport.
func (c *Conn) V2() bool { return c.v2 != nil }

// SessionID returns the BIP324 session id in hex, as Bitcoin Core's
// getpeerinfo shows it, or "" on a v1 connection.
func (c *Conn) SessionID() string {
	if c.v2 == nil {
		return ""
	}
	id := c.v2.SessionID()
	return hex.EncodeToString(id[:])
}

// Net returns the underlying connection, for raw access and deadlines.
func (c *Conn) Net() net.Conn { return c.nc }

// ReadMessage reads one v1 message of any command, known to wire or not. It
// fails with ErrBadMagic, ErrBadCommand, ErrPayloadTooLarge (a claimed
// payload above MaxPayload, which is never read) or ErrBadChecksum. Each
// command read is recorded for Peer.Received.
func (c *Conn) ReadMessage() (cmd string, payload []byte, err error) {
	if c.v2 != nil {
		cmd, payload, err = c.v2.ReadMessage(MaxPayload)
		payload = bytes.Clone(payload) // the v2 buffer is reused by the next read
	} else {
		cmd, payload, err = readFrame(c.r, c.cfg.net())
	}
	if err != nil {
		return "", nil, err
	}
	if cmd == wire.CmdSendAddrV2 {
		c.addrV2 = true
	}
	c.record(cmd)
	return cmd, payload, nil
}

// ReadVersion reads messages until a version that decodes arrives,
// discarding others, and messages dropped for a bad checksum or command, as
// Bitcoin Core does before the handshake.
func (c *Conn) ReadVersion() (*wire.MsgVersion, error) {
	v, _, err := c.readVersion()
	return v, err
}

// Accept answers a client's handshake in its plainest form, for a Handler
// that goes on to test something else: it reads the client's version (as
// ReadVersion does), then sends this peer's Version and a verack, and
// returns the client's version. It sends no feature negotiation, does not
// wait for the client's verack and ignores Config.Delay.
func (c *Conn) Accept() (*wire.MsgVersion, error) {
	v, err := c.ReadVersion()
	if err != nil {
		return nil, err
	}
	if err := c.WriteMessage(c.Version()); err != nil {
		return nil, err
	}
	if err := c.WriteCommand(wire.CmdVerAck, nil); err != nil {
		return nil, err
	}
	return v, nil
}

// readVersion is ReadVersion that also returns the raw payload.
func (c *Conn) readVersion() (*wire.MsgVersion, []byte, error) {
	for {
		cmd, payload, err := c.ReadMessage()
		if dropped(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if cmd != wire.CmdVersion {
			continue
		}
		var v wire.MsgVersion
		// BtcDecode needs a *bytes.Buffer to find the optional trailing
		// fields of old versions. A version that does not decode is
		// dropped and the next one awaited, as Core's exception
		// handler in ProcessMessages does.
		if err := v.BtcDecode(bytes.NewBuffer(payload), wire.ProtocolVersion, wire.BaseEncoding); err != nil {
			continue
		}
		return &v, payload, nil
	}
}

// dropped reports a read error after which Bitcoin Core drops the message
// and keeps the connection: the stream is intact.
func dropped(err error) bool {
	return errors.Is(err, ErrBadChecksum) || errors.Is(err, ErrBadCommand) || errors.Is(err, bip324.ErrMalformed)
}

// WriteMessage encodes msg at the configured protocol version and writes it
// framed with the configured network magic.
func (c *Conn) WriteMessage(msg wire.Message) error {
	return c.writeAt(msg, c.cfg.ProtocolVersion)
}

// encode returns msg's payload at protocol version pver.
func encode(msg wire.Message, pver uint32) ([]byte, error) {
	var buf bytes.Buffer
	if err := msg.BtcEncode(&buf, pver, wire.LatestEncoding); err != nil {
		return nil, fmt.Errorf("handshaketest: encoding %s: %w", msg.Command(), err)
	}
	return buf.Bytes(), nil
}

// WriteCommand writes any command, including ones wire has no type for
// (sendcmpct, sendtxrcncl, made-up ones), framed with the configured magic,
// or encrypted when the client connected over v2. It panics if cmd is
// longer than 12 bytes, like Frame.
func (c *Conn) WriteCommand(cmd string, payload []byte) error {
	if c.v2 != nil {
		return c.v2.WriteMessage(cmd, payload)
	}
	return c.WriteRaw(Frame(c.cfg.net(), cmd, payload))
}

// WritePacket sends one v2 packet with raw contents: the message type
// encoding (one byte ID, or 0 and 12 bytes of command) and the payload, so
// that a test can send types no node would, such as an undecodable one. It
// fails on a v1 connection.
func (c *Conn) WritePacket(contents []byte) error {
	if c.v2 == nil {
		return errors.New("handshaketest: WritePacket needs a v2 connection")
	}
	return c.v2.WriteContents(contents)
}

// WriteClaim writes the start of a cmd message claiming an n-byte payload
// and nothing more: a v1 header (with the checksum of an empty payload),
// or over v2 the encrypted length field of its packet. The caller then
// writes whatever bytes it likes with WriteRaw; over v2 no message can
// follow.
func (c *Conn) WriteClaim(cmd string, n int) error {
	if c.v2 != nil {
		return c.v2.WriteLengthField(1 + 12 + n) // a long-form message type
	}
	hdr := Frame(c.cfg.net(), cmd, nil)
	binary.LittleEndian.PutUint32(hdr[16:20], uint32(n))
	return c.WriteRaw(hdr)
}

// WriteRaw writes b as is, in a single Write so messages never interleave;
// on a v2 connection it bypasses the encryption.
func (c *Conn) WriteRaw(b []byte) error {
	_, err := c.nc.Write(b)
	return err
}

// Version returns the version message this peer announces per its Config,
// with a fresh nonce and the current time. Like Bitcoin Core's
// PushNodeVersion it names the client's address only when that is
// routable, so never on loopback: there addr_recv is [::]:0.
func (c *Conn) Version() *wire.MsgVersion {
	you := wire.NetAddress{IP: net.IPv6zero}
	if a, ok := c.nc.RemoteAddr().(*net.TCPAddr); ok && a.IP.IsGlobalUnicast() && !a.IP.IsPrivate() {
		you = *wire.NewNetAddressIPPort(a.IP, uint16(a.Port), 0)
	}
	// Like Core, the version names our services but not our address.
	me := wire.NetAddress{IP: net.IPv6zero, Services: c.cfg.Services}
	v := wire.NewMsgVersion(&me, &you, rand.Uint64(), c.cfg.StartHeight)
	v.ProtocolVersion = int32(c.cfg.ProtocolVersion)
	v.Services = c.cfg.Services
	v.UserAgent = c.cfg.UserAgent
	v.Timestamp = time.Unix(time.Now().Unix(), 0)
	return v
}
