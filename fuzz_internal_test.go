package handshake

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// FuzzReadMessage feeds the v1 reader arbitrary bytes under an arbitrary
// budget, message after message as a session does, until it fails. It must
// never panic, never count more than the budget or than it read, never
// keep more of a payload than keepPayload allows, drop exactly the messages
// Bitcoin Core's V1Transport drops, and fail only with one of the package's
// sentinels or an end of stream. Seeds: testdata/fuzz, written
// by TestFuzzSeedCorpus.
func FuzzReadMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, limit uint32) {
		// Up to 8 MiB: past wire.MaxProtocolMessageLength, so that both
		// the per-command maximum and the budget get to refuse.
		left := int(limit % (8 << 20))
		src := bytes.NewReader(data)
		tr := v1Transport{r: bufio.NewReaderSize(src, readBufferSize), magic: wire.MainNet}
		consumed := func() int { return len(data) - src.Len() - tr.r.Buffered() }
		for {
			at := consumed()
			var m message
			err := tr.readMessage(left, &m)
			n, payload, cmd := m.n, m.payload, m.cmd
			read := consumed() - at
			if n < 0 || n > left || n > read {
				t.Fatalf("n = %d with %d left of the budget and %d bytes read", n, left, read)
			}
			if len(payload) > keepPayload(cmd) || len(payload) > len(tr.scratch) {
				t.Fatalf("%d-byte %s payload, past the %d bytes kept", len(payload), cmd, keepPayload(cmd))
			}
			if err != nil {
				if !errors.Is(err, ErrWrongNetwork) && !errors.Is(err, ErrMalformed) &&
					!errors.Is(err, ErrMessageTooLarge) && !errors.Is(err, ErrLimitExceeded) &&
					err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			// A message was read whole: check it against the bytes by hand.
			if n != read {
				t.Fatalf("n = %d, but %d bytes were read", n, read)
			}
			hdr := data[at : at+v1HeaderLen]
			body := data[at+v1HeaderLen : at+n]
			first := sha256.Sum256(body)
			second := sha256.Sum256(first[:])
			name, ok := parseCommand(hdr[4:16])
			sumOK := bytes.Equal(second[:4], hdr[20:24])
			switch {
			case wire.BitcoinNet(binary.LittleEndian.Uint32(hdr)) != wire.MainNet:
				t.Fatalf("accepted magic %x", hdr[:4])
			case int(binary.LittleEndian.Uint32(hdr[16:20])) != len(body) || m.size != len(body):
				t.Fatalf("n = %d, size %d for a header claiming %d", n, m.size, binary.LittleEndian.Uint32(hdr[16:20]))
			case !sumOK && m.drop != "bad checksum":
				t.Fatalf("bad checksum not dropped (drop %q)", m.drop)
			case sumOK && !ok && m.drop != "invalid command":
				t.Fatalf("invalid command %q not dropped (drop %q)", hdr[4:16], m.drop)
			case sumOK && ok && (m.drop != "" || name != cmd):
				t.Fatalf("command %q from header %q, drop %q", cmd, hdr[4:16], m.drop)
			case m.drop != "" && payload != nil:
				t.Fatalf("payload kept for a dropped message")
			case m.drop == "" && keepPayload(cmd) > 0 && !bytes.Equal(payload, body[:min(len(body), keepPayload(cmd))]):
				t.Fatalf("%s payload %x, sent %x", cmd, payload, body)
			case keepPayload(cmd) == 0 && payload != nil:
				t.Fatalf("%s payload returned: only a version's or feature's is kept", cmd)
			}
			left -= n
		}
	})
}

// FuzzDecodeAddrs feeds the addr and addrv2 decoders arbitrary payloads,
// as a peer answering getaddr may send. They must never panic, never return
// room for more addresses than the payload can hold (an addrv2 entry takes
// at least 9 bytes, an addr entry 30), and fail only with ErrMalformed.
func FuzzDecodeAddrs(f *testing.F) {
	f.Add([]byte{0xfd, 0xe8, 0x03}, true)                                   // a count claim and nothing
	f.Add([]byte{1, 0, 0, 0, 0, 1, 1, 4, 203, 0, 113, 7, 0x20, 0x8d}, true) // one IPv4 entry
	f.Add([]byte{0}, false)
	f.Fuzz(func(t *testing.T, payload []byte, v2 bool) {
		cmd, minEntry := wire.CmdAddr, 30
		if v2 {
			cmd, minEntry = wire.CmdAddrV2, 9
		}
		addrs, err := decodeAddrs(cmd, payload, wire.ProtocolVersion)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: %v, want ErrMalformed", cmd, err)
		}
		// The slice is sized by what the payload holds, never by a claim.
		if cap(addrs) > len(payload)/minEntry {
			t.Fatalf("%s: a slice of %d for %d bytes", cmd, cap(addrs), len(payload))
		}
	})
}
