package handshake

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

func TestWithDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4":           "1.2.3.4:8333",
		"1.2.3.4:18444":     "1.2.3.4:18444",
		"::1":               "[::1]:8333",
		"[::1]":             "[::1]:8333",
		"[::1]:1":           "[::1]:1",
		"seed.example.org":  "seed.example.org:8333",
		"2001:db8::7":       "[2001:db8::7]:8333",
		"node.example:8333": "node.example:8333",
	} {
		if got := withDefaultPort(in, "8333"); got != want {
			t.Errorf("withDefaultPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"version\x00\x00\x00\x00\x00", "version", true},
		{"sendcmpct\x00\x00\x00", "sendcmpct", true},
		{"abcdefghijkl", "abcdefghijkl", true},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "", true}, // valid in Core: IsMessageTypeValid
		{"ver\x00sion\x00\x00\x00\x00", "", false},
		{"vers\xffon\x00\x00\x00\x00\x00", "", false},
		{"ping\n\x00\x00\x00\x00\x00\x00\x00", "", false},
	} {
		got, ok := parseCommand([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseCommand(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestAppendVersionMatchesWire holds our version encoding to wire/v2's,
// byte for byte, framing included.
func TestAppendVersionMatchesWire(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		v := wire.MsgVersion{
			ProtocolVersion: int32(70001 + r.IntN(100)),
			Services:        wire.ServiceFlag(r.Uint64()),
			Timestamp:       time.Unix(r.Int64N(1<<40), 0),
			AddrYou:         wire.NetAddress{IP: net.IPv4(byte(i), 2, 3, 4), Port: uint16(r.Uint32()), Services: wire.ServiceFlag(r.Uint64())},
			AddrMe:          wire.NetAddress{IP: net.ParseIP("2001:db8::1"), Port: uint16(r.Uint32())},
			Nonce:           r.Uint64(),
			UserAgent:       strings.Repeat("u", r.IntN(wire.MaxUserAgentLen+1)),
			LastBlock:       r.Int32(),
			DisableRelayTx:  r.IntN(2) == 0,
		}
		if i == 0 {
			v.AddrYou.IP, v.AddrMe.IP = nil, nil // unknown addresses encode as zeros
		}
		var want bytes.Buffer
		if err := wire.WriteMessage(&want, &v, uint32(v.ProtocolVersion), wire.TestNet3); err != nil {
			t.Fatal(err)
		}
		tr := v1Transport{magic: wire.TestNet3}
		if n := tr.queueVersion(&v); n != want.Len() || !bytes.Equal(tr.wbuf, want.Bytes()) {
			t.Fatalf("case %d: queueVersion = %x (n %d),\nwire writes    %x", i, tr.wbuf, n, want.Bytes())
		}
	}
}

func TestAppendVarInt(t *testing.T) {
	for _, n := range []uint64{0, 1, 0xfc, 0xfd, 0xffff, 0x10000, 0xffffffff, 0x100000000, 1<<64 - 1} {
		var want bytes.Buffer
		wire.WriteVarInt(&want, 0, n)
		if got := appendVarInt(nil, n); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendVarInt(%d) = %x, want %x", n, got, want.Bytes())
		}
	}
}

func TestIsPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"1.1.1.1": true, "2001:4860::8888": true, "::ffff:8.8.8.8": true,
		"127.0.0.1": false, "10.1.2.3": false, "192.168.0.1": false, "172.16.0.1": false,
		"169.254.1.1": false, "100.64.0.1": false, "0.1.2.3": false, "224.0.0.1": false,
		"::1": false, "fe80::1": false, "fc00::1": false, "::": false, "0.0.0.0": false,
		"::ffff:192.168.1.1": false,
		"198.18.0.1":         false, "198.19.255.1": false, "255.255.255.255": false, "ff02::1": false,
		"203.0.113.7": true, "2001:db8::1": true, // documentation: nobody's network
	} {
		if got := IsPublic(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsPublic(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestAddrV2CountClaimAllocatesLittle: an addrv2 payload claiming 1,000
// entries in three bytes is malformed, and finding out costs bytes in
// proportion to the payload, not to the claim.
func TestAddrV2CountClaimAllocatesLittle(t *testing.T) {
	payload := []byte{0xfd, 0xe8, 0x03} // CompactSize 1,000, then nothing
	const runs = 100
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := decodeAddrV2(payload); err == nil {
			t.Fatal("a truncated addrv2 decoded")
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 1024 {
		t.Errorf("%d bytes allocated per call for a 3-byte payload", per)
	}
}
