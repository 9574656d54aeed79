package handshake

import (
	"bytes"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/wire/v2"
)

// MaxUnknownPayload bounds the payload of a command wire/v2 has no type for:
// Bitcoin Core's MAX_PROTOCOL_MESSAGE_LENGTH, which bounds every message.
const MaxUnknownPayload = wire.MaxProtocolMessageLength

// UnknownMessage is a message whose command wire/v2 has no type for, such as
// sendcmpct, sendtxrcncl or a command added after it: Conn.ReadMessage
// returns it rather than failing, and Conn.WriteMessage sends it as is.
type UnknownMessage struct {
	Cmd     string
	Payload []byte
}

// BtcDecode reads the rest of r as the payload.
func (m *UnknownMessage) BtcDecode(r io.Reader, _ uint32, _ wire.MessageEncoding) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxUnknownPayload+1))
	if err != nil {
		return err
	}
	if len(b) > MaxUnknownPayload {
		return fmt.Errorf("%w: %s payload over %d bytes", ErrMessageTooLarge, m.Cmd, MaxUnknownPayload)
	}
	m.Payload = b
	return nil
}

// BtcEncode writes the payload.
func (m *UnknownMessage) BtcEncode(w io.Writer, _ uint32, _ wire.MessageEncoding) error {
	_, err := w.Write(m.Payload)
	return err
}

// Command returns Cmd.
func (m *UnknownMessage) Command() string { return m.Cmd }

// MaxPayloadLength returns MaxUnknownPayload.
func (m *UnknownMessage) MaxPayloadLength(uint32) uint32 { return MaxUnknownPayload }

// newMessage returns an empty message of cmd's wire/v2 type, or nil. It is
// wire's own table (unexported there) plus wtxidrelay, which wire/v2 has a
// type for but does not decode.
func newMessage(cmd string) wire.Message {
	switch cmd {
	case wire.CmdVersion:
		return &wire.MsgVersion{}
	case wire.CmdVerAck:
		return &wire.MsgVerAck{}
	case wire.CmdSendAddrV2:
		return &wire.MsgSendAddrV2{}
	case wire.CmdWTxIdRelay:
		return &wire.MsgWTxIdRelay{}
	case wire.CmdGetAddr:
		return &wire.MsgGetAddr{}
	case wire.CmdAddr:
		return &wire.MsgAddr{}
	case wire.CmdAddrV2:
		return &wire.MsgAddrV2{}
	case wire.CmdGetBlocks:
		return &wire.MsgGetBlocks{}
	case wire.CmdBlock:
		return &wire.MsgBlock{}
	case wire.CmdInv:
		return &wire.MsgInv{}
	case wire.CmdGetData:
		return &wire.MsgGetData{}
	case wire.CmdNotFound:
		return &wire.MsgNotFound{}
	case wire.CmdTx:
		return &wire.MsgTx{}
	case wire.CmdPing:
		return &wire.MsgPing{}
	case wire.CmdPong:
		return &wire.MsgPong{}
	case wire.CmdGetHeaders:
		return &wire.MsgGetHeaders{}
	case wire.CmdHeaders:
		return &wire.MsgHeaders{}
	case wire.CmdMemPool:
		return &wire.MsgMemPool{}
	case wire.CmdFilterAdd:
		return &wire.MsgFilterAdd{}
	case wire.CmdFilterClear:
		return &wire.MsgFilterClear{}
	case wire.CmdFilterLoad:
		return &wire.MsgFilterLoad{}
	case wire.CmdMerkleBlock:
		return &wire.MsgMerkleBlock{}
	case wire.CmdReject:
		return &wire.MsgReject{}
	case wire.CmdSendHeaders:
		return &wire.MsgSendHeaders{}
	case wire.CmdFeeFilter:
		return &wire.MsgFeeFilter{}
	case wire.CmdGetCFilters:
		return &wire.MsgGetCFilters{}
	case wire.CmdGetCFHeaders:
		return &wire.MsgGetCFHeaders{}
	case wire.CmdGetCFCheckpt:
		return &wire.MsgGetCFCheckpt{}
	case wire.CmdCFilter:
		return &wire.MsgCFilter{}
	case wire.CmdCFHeaders:
		return &wire.MsgCFHeaders{}
	case wire.CmdCFCheckpt:
		return &wire.MsgCFCheckpt{}
	}
	return nil
}

// maxPayload is the largest payload accepted for cmd at protocol version
// pver: its type's maximum, and never more than Core's message limit.
func maxPayload(cmd string, pver uint32) int {
	switch cmd {
	case wire.CmdPing, wire.CmdPong:
		return 8 // answered on the hot path: no allocation to say so
	}
	m := newMessage(cmd)
	if m == nil {
		return MaxUnknownPayload
	}
	return int(min(m.MaxPayloadLength(pver), wire.MaxProtocolMessageLength))
}

// decodeMessage decodes a payload into its wire/v2 type, or an
// *UnknownMessage holding a copy of it.
func decodeMessage(cmd string, payload []byte, pver uint32) (wire.Message, error) {
	m := newMessage(cmd)
	if m == nil {
		return &UnknownMessage{Cmd: cmd, Payload: bytes.Clone(payload)}, nil
	}
	// A *bytes.Buffer, which wire needs to find the optional trailing
	// fields of some messages (version's relay flag).
	if err := m.BtcDecode(bytes.NewBuffer(payload), pver, wire.LatestEncoding); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, cmd, err)
	}
	return m, nil
}
