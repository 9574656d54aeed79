package handshake_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestParseHost(t *testing.T) {
	t.Parallel()
	onion, i2p := handshaketest.OnionName(7), handshaketest.I2PName(7)
	for _, tt := range []struct {
		host string
		want handshake.AddrNetwork
		why  string // for an invalid host, a word of the reason
	}{
		{"1.2.3.4", handshake.NetIPv4, ""},
		{"::ffff:1.2.3.4", handshake.NetIPv4, ""},
		{"2001:db8::1", handshake.NetIPv6, ""},
		{"fc00::1", handshake.NetCJDNS, ""},
		{"fcff:ffff::1", handshake.NetCJDNS, ""},
		{"fd00::1", handshake.NetIPv6, ""},
		{onion, handshake.NetTorV3, ""},
		{strings.ToUpper(onion), handshake.NetTorV3, ""},
		{i2p, handshake.NetI2P, ""},
		{onion[1:], 0, "55 characters"},
		{"expyuzz4wqqyqhjn.onion", 0, "v2"},
		{strings.Repeat("a", 56) + ".onion", 0, "version"},
		{onion[:20] + flip(onion[20]) + onion[21:], 0, "checksum"},
		{strings.Repeat("1", 56) + ".onion", 0, "base32"},
		{i2p[2:], 0, "50 characters"},
		{strings.Repeat("8", 52) + ".b32.i2p", 0, "base32"},
		{i2p[:51] + "b.b32.i2p", 0, "base32"}, // stray bits after the hash
		{"fe80::1%eth0", 0, "zone"},
		{"seed.example.org", 0, "neither"},
	} {
		n, err := handshake.ParseHost(tt.host)
		switch {
		case tt.why == "" && (err != nil || n != tt.want):
			t.Errorf("%s: %v, %v; want %v", tt.host, n, err, tt.want)
		case tt.why != "" && (!errors.Is(err, handshake.ErrInvalidAddress) || !strings.Contains(err.Error(), tt.why)):
			t.Errorf("%s: %v; want ErrInvalidAddress for %s", tt.host, err, tt.why)
		}
	}
}
