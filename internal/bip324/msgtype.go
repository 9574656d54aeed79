package bip324

import (
	"fmt"
	"strconv"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
)

// commandSize is the length of a long-form message type (as in v1 headers).
const commandSize = p2p.CommandLen

// shortIDs is the table of one-byte message type IDs. IDs 1-28 are BIP324's
// that Bitcoin Core implements (its V2_MESSAGE_IDS); btcd's wire/v2 knows the
// same IDs except 3, 4, 10 and 20, the compact-block messages it does not
// implement. 29-32 are assigned by BIP324 to Erlay (BIP330) messages that no
// node implements yet: they are decoded but never sent (those commands go
// out in long form). 37 is BIP434's feature message, sent and received.
// 33-36 are unassigned.
var shortIDs = [...]string{
	1: "addr", 2: "block", 3: "blocktxn", 4: "cmpctblock",
	5: "feefilter", 6: "filteradd", 7: "filterclear", 8: "filterload",
	9: "getblocks", 10: "getblocktxn", 11: "getdata", 12: "getheaders",
	13: "headers", 14: "inv", 15: "mempool", 16: "merkleblock",
	17: "notfound", 18: "ping", 19: "pong", 20: "sendcmpct",
	21: "tx", 22: "getcfilters", 23: "cfilter", 24: "getcfheaders",
	25: "cfheaders", 26: "getcfcheckpt", 27: "cfcheckpt", 28: "addrv2",
	29: "reqrecon", 30: "sketch", 31: "reqsketchext", 32: "reconcildiff",
	37: "feature",
}

// maxSendShortID is the highest of BIP324's own IDs we send; featureID is
// sent too.
const (
	maxSendShortID = 28
	featureID      = 37
)

var (
	shortIDByCmd = func() map[string]byte {
		m := make(map[string]byte, maxSendShortID+1)
		for id := 1; id <= maxSendShortID; id++ {
			m[shortIDs[id]] = byte(id)
		}
		m[shortIDs[featureID]] = featureID
		return m
	}()

	// idNames maps every first byte of packet contents to a command, so
	// that decoding allocates nothing.
	idNames = func() (t [256]string) {
		for id := 1; id < 256; id++ {
			if id < len(shortIDs) && shortIDs[id] != "" {
				t[id] = shortIDs[id]
			} else {
				t[id] = "shortid-" + strconv.Itoa(id)
			}
		}
		return t
	}()

	// longCmds interns the long-form commands seen around a handshake.
	longCmds = func() map[string]string {
		m := map[string]string{}
		for _, s := range []string{
			"version", "verack", "wtxidrelay", "sendaddrv2", "sendheaders",
			"getaddr", "reject", "sendtxrcncl", "alert",
		} {
			m[s] = s
		}
		for _, s := range shortIDs[1:] {
			if s != "" {
				m[s] = s
			}
		}
		return m
	}()
)

// ShortID returns the one-byte BIP324 message type ID WriteMessage uses for
// cmd, if it has one.
func ShortID(cmd string) (byte, bool) {
	id, ok := shortIDByCmd[cmd]
	return id, ok
}

// typeLen is the encoded length of cmd's message type.
func typeLen(cmd string) int {
	if _, ok := shortIDByCmd[cmd]; ok {
		return 1
	}
	return 1 + commandSize
}

// checkCommand reports whether cmd can be sent.
func checkCommand(cmd string) error {
	if _, ok := shortIDByCmd[cmd]; ok {
		return nil
	}
	if !p2p.ValidCommand(cmd) {
		return fmt.Errorf("bip324: command %q: want 1 to %d printable ASCII characters", cmd, commandSize)
	}
	return nil
}

// appendType appends cmd's message type encoding (checkCommand passed).
func appendType(dst []byte, cmd string) []byte {
	if id, ok := shortIDByCmd[cmd]; ok {
		return append(dst, id)
	}
	dst = append(dst, 0)
	dst = append(dst, cmd...)
	var pad [commandSize]byte
	return append(dst, pad[:commandSize-len(cmd)]...)
}

// decodeContents splits packet contents into command and payload, with
// Bitcoin Core's rules for long-form types (V2Transport::GetMessageType):
// bytes 0x20 to 0x7f, then only zero padding; twelve zeros, the empty
// command, pass.
func decodeContents(b []byte) (cmd string, payload []byte, err error) {
	if len(b) == 0 {
		return "", nil, fmt.Errorf("%w: empty packet contents", ErrMalformed)
	}
	if b[0] != 0 {
		return idNames[b[0]], b[1:], nil
	}
	if len(b) < 1+commandSize {
		return "", nil, fmt.Errorf("%w: %d bytes of contents, too short for a long message type", ErrMalformed, len(b))
	}
	field := b[1 : 1+commandSize]
	name, ok := p2p.Command(field, 0x7f) // v2 takes 0x7f, v1 does not
	if !ok {
		return "", nil, fmt.Errorf("%w: invalid message type %q", ErrMalformed, field)
	}
	if s, ok := longCmds[string(name)]; ok {
		cmd = s
	} else {
		cmd = string(name)
	}
	return cmd, b[1+commandSize:], nil
}
