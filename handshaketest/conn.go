package handshaketest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Conn is one connection of a fake peer, with helpers to script the peer in
// a Config.Handler. Its methods are not safe for concurrent use, except that
// one goroutine may read while another writes.
type Conn struct {
	nc     net.Conn
	cfg    Config       // with defaults applied
	record func(string) // notes each command read; nil outside a Peer
}

func newConn(nc net.Conn, cfg Config, record func(string)) *Conn {
	if record == nil {
		record = func(string) {}
	}
	return &Conn{nc: nc, cfg: cfg, record: record}
}

// Net returns the underlying connection, for raw access and deadlines.
func (c *Conn) Net() net.Conn { return c.nc }

// ReadMessage reads one v1 message of any command, known to wire or not. It
// fails with ErrBadMagic, ErrBadCommand, ErrPayloadTooLarge (a claimed
// payload above MaxPayload, which is never read) or ErrBadChecksum. Each
// command read is recorded for Peer.Received.
func (c *Conn) ReadMessage() (cmd string, payload []byte, err error) {
	cmd, payload, err = readFrame(c.nc, c.cfg.Net)
	if err != nil {
		return "", nil, err
	}
	c.record(cmd)
	return cmd, payload, nil
}

// ReadVersion reads messages until a version arrives, discarding others as
// Bitcoin Core does before the handshake, and decodes it.
func (c *Conn) ReadVersion() (*wire.MsgVersion, error) {
	v, _, err := c.readVersion()
	return v, err
}

// readVersion is ReadVersion that also returns the raw payload.
func (c *Conn) readVersion() (*wire.MsgVersion, []byte, error) {
	for {
		cmd, payload, err := c.ReadMessage()
		if err != nil {
			return nil, nil, err
		}
		if cmd != wire.CmdVersion {
			continue
		}
		var v wire.MsgVersion
		// BtcDecode needs a *bytes.Buffer to find the optional trailing
		// fields of old versions.
		if err := v.BtcDecode(bytes.NewBuffer(payload), wire.ProtocolVersion, wire.BaseEncoding); err != nil {
			return nil, nil, fmt.Errorf("handshaketest: decoding version: %w", err)
		}
		return &v, payload, nil
	}
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
// (sendcmpct, sendtxrcncl, made-up ones), framed with the configured magic.
// It panics if cmd is longer than 12 bytes, like Frame.
func (c *Conn) WriteCommand(cmd string, payload []byte) error {
	return c.WriteRaw(Frame(c.cfg.Net, cmd, payload))
}

// WriteRaw writes b as is, in a single Write so messages never interleave.
func (c *Conn) WriteRaw(b []byte) error {
	_, err := c.nc.Write(b)
	return err
}

// Version returns the version message this peer announces per its Config,
// with a fresh nonce and the current time.
func (c *Conn) Version() *wire.MsgVersion {
	you := wire.NetAddress{IP: net.IPv6zero}
	if a, ok := c.nc.RemoteAddr().(*net.TCPAddr); ok {
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
