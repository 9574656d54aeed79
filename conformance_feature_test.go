package handshake_test

import (
	"strings"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// featureCases are the rows for BIP434 feature messages the handshake
// cannot take: one at a common version below 70017 and the payloads BIP434
// forbids. By default the verdict is the released Core's (27.x to 31.x: no
// FEATURE branch, so the handshake completes) and the message is listed in
// Ignored; with Options.StrictFeatures it is the verdict of Core with
// BIP434 (master, PR 35221: net_processing.cpp ProcessMessage, FEATURE
// branch; p2p_bip434_feature.py), which disconnects. On v2 the peer's
// feature goes out as one-byte type 37 (bip324's short ID table).
func featureCases(tr string, v2 bool) []conformanceCase {
	released := "ignores it as unsupported before verack"
	if v2 {
		released = "drops one-byte type 37 as an unknown message type"
	}
	// reasonSays checks what the Ignored entry tells of both Cores.
	reasonSays := func(t *testing.T, res handshake.Result) {
		t.Helper()
		if len(res.Features) != 0 {
			t.Errorf("Features = %q, want none", res.Features)
		}
		for _, ig := range res.Ignored {
			if !strings.Contains(ig.Reason, "Core with BIP434 (master, PR 35221) disconnects") ||
				!strings.Contains(ig.Reason, "released Core (27-31) "+released) {
				t.Errorf("reason %q does not say what each Core does (%s)", ig.Reason, released)
			}
		}
	}
	var cases []conformanceCase
	for _, strict := range []bool{false, true} {
		mode := "default/"
		if strict {
			mode = "strict/"
		}
		opts := handshake.Options{StrictFeatures: strict}
		// below70017 and malformed are the expectations in this mode.
		below70017 := conformanceCase{status: handshake.StatusOK,
			ignore: []string{"feature: feature at a common version below 70017; "}, check: reasonSays}
		malformed := conformanceCase{status: handshake.StatusOK,
			ignore: []string{"feature: malformed feature: "}, check: reasonSays}
		if strict {
			below70017 = conformanceCase{status: handshake.StatusPartiallyOK, err: handshake.ErrProtocolViolation}
			malformed = conformanceCase{status: handshake.StatusPartiallyOK, err: handshake.ErrMalformed}
		}

		c := below70017
		c.name, c.v2, c.opts = tr+mode+"feature from a peer below 70017", v2, opts
		c.script = func(c *handshaketest.Conn) error {
			if err := c.WriteMessage(c.Version()); err != nil { // 70016
				return err
			}
			if err := c.WriteCommand("feature", feature("BIP434", nil)); err != nil {
				return err
			}
			return send(c, "verack")
		}
		cases = append(cases, c)

		// Below 70017 the version is judged first, as Core's FEATURE
		// branch does, whatever the payload.
		c = below70017
		c.name, c.v2, c.opts = tr+mode+"malformed feature from a peer below 70017", v2, opts
		c.script = func(c *handshaketest.Conn) error {
			if err := c.WriteMessage(c.Version()); err != nil {
				return err
			}
			if err := c.WriteCommand("feature", feature("abc", nil)); err != nil {
				return err
			}
			return send(c, "verack")
		}
		cases = append(cases, c)

		for _, bad := range []struct {
			name    string
			payload []byte
		}{
			{"ID of 3 bytes", feature("abc", nil)},
			{"ID of 0 bytes", feature("", nil)},
			{"ID of 81 bytes", feature(strings.Repeat("x", 81), nil)},
			{"data of 513 bytes", append(append([]byte{4}, "abcd"...), append([]byte{0xfd, 0x01, 0x02}, make([]byte, 513)...)...)},
			{"trailing byte", append(feature("abcd", nil), 0)},
			{"truncated ID", append([]byte{10}, "abcde"...)},
			{"truncated data", append(append([]byte{4}, "abcd"...), 5, 1, 2)},
			{"no data length", append([]byte{4}, "abcd"...)},
			// Core's ReadCompactSize throws on it; the FEATURE
			// branch catches that as an invalid payload.
			{"non-minimal length", append(append([]byte{0xfd, 4, 0}, "abcd"...), 0)},
		} {
			c := malformed
			c.name, c.v2, c.opts = tr+mode+"malformed feature: "+bad.name, v2, opts
			c.script = func(c *handshaketest.Conn) error {
				if err := c.WriteMessage(versionWith(c, at70017)); err != nil {
					return err
				}
				if err := c.WriteCommand("feature", bad.payload); err != nil {
					return err
				}
				return send(c, "verack")
			}
			cases = append(cases, c)
		}
	}
	// A well-formed feature is taken in strict mode too.
	cases = append(cases, conformanceCase{name: tr + "strict/well-formed feature", v2: v2,
		opts: handshake.Options{StrictFeatures: true}, status: handshake.StatusOK,
		script: func(c *handshaketest.Conn) error {
			if err := c.WriteMessage(versionWith(c, at70017)); err != nil {
				return err
			}
			if err := c.WriteCommand("feature", feature("BIP434", []byte{5})); err != nil {
				return err
			}
			return send(c, "verack")
		},
		check: func(t *testing.T, res handshake.Result) {
			if len(res.Features) != 1 || res.Features[0].ID != "BIP434" {
				t.Errorf("Features = %q", res.Features)
			}
		}})
	return cases
}
