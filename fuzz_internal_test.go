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
// return a payload past the version maximum, and fail only with one of the
// package's sentinels or an end of stream. Seeds: testdata/fuzz, written
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
			cmd, payload, n, err := tr.readMessage(left)
			read := consumed() - at
			if n < 0 || n > left || n > read {
				t.Fatalf("n = %d with %d left of the budget and %d bytes read", n, left, read)
			}
			if len(payload) > int(maxVersionPayload) || len(payload) > len(tr.scratch) {
				t.Fatalf("%d-byte payload, past the %d-byte maximum", len(payload), maxVersionPayload)
			}
			if err != nil {
				if payload != nil {
					t.Fatalf("payload returned with error %v", err)
				}
				if !errors.Is(err, ErrWrongNetwork) && !errors.Is(err, ErrMalformed) &&
					!errors.Is(err, ErrMessageTooLarge) && !errors.Is(err, ErrLimitExceeded) &&
					err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			// A message was accepted: check it against the bytes by hand.
			if n != read {
				t.Fatalf("n = %d, but %d bytes were read", n, read)
			}
			hdr := data[at : at+v1HeaderLen]
			body := data[at+v1HeaderLen : at+n]
			first := sha256.Sum256(body)
			second := sha256.Sum256(first[:])
			name, ok := parseCommand(hdr[4:16])
			switch {
			case wire.BitcoinNet(binary.LittleEndian.Uint32(hdr)) != wire.MainNet:
				t.Fatalf("accepted magic %x", hdr[:4])
			case !ok || name != cmd:
				t.Fatalf("command %q from header %q", cmd, hdr[4:16])
			case int(binary.LittleEndian.Uint32(hdr[16:20])) != len(body):
				t.Fatalf("n = %d for a header claiming %d", n, binary.LittleEndian.Uint32(hdr[16:20]))
			case !bytes.Equal(second[:4], hdr[20:24]):
				t.Fatalf("accepted a bad checksum")
			case cmd == wire.CmdVersion && !bytes.Equal(payload, body):
				t.Fatalf("version payload %x, sent %x", payload, body)
			case cmd != wire.CmdVersion && payload != nil:
				t.Fatalf("%s payload returned: only a version's is kept", cmd)
			}
			left -= n
		}
	})
}
