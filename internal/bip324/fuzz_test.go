package bip324

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzResponderBytes feeds our initiator arbitrary bytes as the responder's:
// Handshake must end, succeed only on a valid exchange, and read no more
// than BIP324 and our decoy limits allow.
func FuzzResponderBytes(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0x55}, keyLen))
	f.Add(append(bytes.Repeat([]byte{0x55}, keyLen), make([]byte, 4200)...))
	v1 := v1Prefix(mainnet)
	f.Add(v1[:])
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 64)
		c, err := Handshake(r, io.Discard, Initiator, Config{Magic: mainnet})
		if (c == nil) == (err == nil) {
			t.Fatalf("conn %v with error %v", c, err)
		}
		read := len(data) - unread(r)
		// Key, garbage and terminator, then decoys and the version
		// packet: contents capped in total, each with its overhead.
		bound := keyLen + maxGarbageSearch + DefaultMaxDecoyBytes + (DefaultMaxDecoys+1)*packetExtra
		if read > bound {
			t.Fatalf("read %d bytes, past the bound of %d", read, bound)
		}
	})
}

// FuzzPackets completes a real key exchange, then feeds our initiator
// packets the peer encrypts from the fuzzer's script, so that their tags
// verify and the fuzzer reaches the length checks, decoys and message
// decoding, followed by raw tail bytes. Nothing may panic, and every payload
// stays within the bound asked for.
func FuzzPackets(f *testing.F) {
	version := append([]byte{0}, "version\x00\x00\x00\x00\x00"...)
	f.Add([]byte{0, byte(len(version))}, uint16(0), []byte{})
	f.Add(append([]byte{0, byte(len(version))}, version...), uint16(17), []byte{})
	f.Add([]byte{1, 0, 1, 3, 18, 1, 2, 0, 1, 30}, uint16(4095), []byte{1, 2, 3})
	f.Add([]byte{0, 1, 0}, uint16(4096), []byte{})
	f.Fuzz(func(t *testing.T, script []byte, garbageLen uint16, tail []byte) {
		s := newScript(t, Initiator, mainnet)
		garbage := make([]byte, int(garbageLen)%(MaxGarbageLen+2))
		stream := s.flight(t, garbage)
		// Each packet: a flags byte (bit 0: decoy), a length byte, then
		// that many bytes of contents.
		for len(script) >= 2 {
			ignore, n := script[0]&1 != 0, min(int(script[1]), len(script)-2)
			stream = append(stream, s.packet(t, nil, ignore, script[2:2+n])...)
			script = script[2+n:]
		}
		stream = append(stream, tail...)
		c, _, _, err := s.run(t, stream, s.cfg(mainnet))
		if len(garbage) > MaxGarbageLen {
			if !errors.Is(err, ErrGarbageTooLong) {
				t.Fatalf("%d bytes of garbage: err = %v", len(garbage), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid key exchange failed: %v", err)
		}
		const maxPayload = 64
		for range 300 {
			cmd, payload, err := c.ReadMessage(maxPayload)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPacketTooLarge) &&
					!errors.Is(err, ErrBadTag) && !errors.Is(err, ErrTooManyDecoys) {
					t.Fatalf("unexpected error class: %v", err)
				}
				if c.rerr != nil {
					return // out of step: every later read fails the same
				}
				continue // a bad message in a stream still in step
			}
			if cmd == "" || len(payload) > maxPayload {
				t.Fatalf("message %q with %d bytes of payload", cmd, len(payload))
			}
		}
	})
}
