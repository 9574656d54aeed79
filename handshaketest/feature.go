package handshaketest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// appendFeature appends a BIP434 feature payload: the ID and the data,
// each after its CompactSize length.
func appendFeature(b []byte, f Feature) []byte {
	buf := bytes.NewBuffer(b)
	wire.WriteVarBytes(buf, 0, []byte(f.ID)) // a bytes.Buffer never fails
	wire.WriteVarBytes(buf, 0, f.Data)
	return buf.Bytes()
}

// badFeatures reports features BIP434 does not allow.
func badFeatures(fs []Feature) bool {
	for _, f := range fs {
		if len(f.ID) < 4 || len(f.ID) > 80 || len(f.Data) > 512 {
			return true
		}
	}
	return false
}

// checkFeature is what Core with BIP434 (master, PR 35221) does with a
// client's feature message before verack: at a common version below
// 70017 it disconnects ("feature received with incompatible version"),
// and so it does when the payload does not parse ("invalid feature
// payload"); a well-formed feature of an unknown ID is ignored. Releases
// without BIP434 never call it: to them feature is an unsupported
// message before verack.
func checkFeature(pver uint32, payload []byte) error {
	if pver < featureVersion {
		return fmt.Errorf("handshaketest: feature received with incompatible version %d", pver)
	}
	_, err := parseFeature(payload)
	return err
}

// parseFeature decodes a feature payload as BIP434 requires: an ID of 4 to
// 80 bytes, data of at most 512, nothing after.
func parseFeature(p []byte) (Feature, error) {
	var f Feature
	for i, max := range [2]int{80, 512} {
		n, size := readCompactSize(p)
		if size == 0 || n > uint64(max) || n > uint64(len(p)-size) {
			return Feature{}, errors.New("handshaketest: invalid feature payload")
		}
		field := p[size : size+int(n)]
		p = p[size+int(n):]
		if i == 0 {
			f.ID = string(field)
		} else {
			f.Data = field
		}
	}
	if len(p) != 0 || len(f.ID) < 4 {
		return Feature{}, fmt.Errorf("handshaketest: invalid feature payload (id of %d bytes, %d trailing bytes)", len(f.ID), len(p))
	}
	return f, nil
}

// readCompactSize decodes a minimally encoded CompactSize, returning 0, 0
// when it is truncated or not minimal.
func readCompactSize(p []byte) (n uint64, size int) {
	if len(p) == 0 {
		return 0, 0
	}
	switch p[0] {
	case 0xfd:
		if len(p) < 3 {
			return 0, 0
		}
		n, size = uint64(p[1])|uint64(p[2])<<8, 3
		if n < 0xfd {
			return 0, 0
		}
		return n, size
	case 0xfe, 0xff:
		return 0, 0 // longer than any valid feature field
	}
	return uint64(p[0]), 1
}
