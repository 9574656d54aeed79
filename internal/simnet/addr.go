package simnet

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// OnionPort is the virtual port fake onion services gossip, as Core's
// 8333.
const OnionPort = 8333

// Addr is a gossiped address of any network.
type Addr struct {
	Network handshake.AddrNetwork
	// Addr is the address as a crawl names it: "ip:port",
	// "name.onion:8333", "name.b32.i2p:0".
	Addr     string
	Services wire.ServiceFlag

	id   byte // BIP 155 network id
	raw  []byte
	port uint16
}

// IPAddr is ip:port, IPv4 or IPv6.
func IPAddr(ip netip.Addr, port uint16, s wire.ServiceFlag) Addr {
	a := Addr{Network: handshake.NetIPv4, Services: s, id: 1, raw: ip.AsSlice(), port: port}
	if ip.Is6() {
		a.Network, a.id = handshake.NetIPv6, 2
	}
	a.Addr = net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
	return a
}

// OnionAddr is handshaketest.OnionName(i) on OnionPort.
func OnionAddr(i int, s wire.ServiceFlag) Addr {
	k := handshaketest.OnionKey(i)
	return Addr{Network: handshake.NetTorV3, Services: s, id: 4, raw: k[:], port: OnionPort,
		Addr: net.JoinHostPort(handshaketest.OnionName(i), strconv.Itoa(OnionPort))}
}

// I2PAddr is handshaketest.I2PName(i), port 0 as BIP 155 has it.
func I2PAddr(i int, s wire.ServiceFlag) Addr {
	h := handshaketest.I2PHash(i)
	return Addr{Network: handshake.NetI2P, Services: s, id: 5, raw: h[:],
		Addr: net.JoinHostPort(handshaketest.I2PName(i), "0")}
}

// Host is the address without its port: what a proxy is asked for.
func (a Addr) Host() string {
	h, _, _ := net.SplitHostPort(a.Addr)
	return h
}

// Payload encodes addrs as the payload of an addrv2 message (BIP 155),
// each stamped with when. The entries are written here because wire's
// NetAddressV2 cannot carry I2P; the counts are wire's.
func Payload(addrs []Addr, when time.Time) []byte {
	var b bytes.Buffer
	wire.WriteVarInt(&b, 0, uint64(len(addrs)))
	for _, a := range addrs {
		binary.Write(&b, binary.LittleEndian, uint32(when.Unix()))
		wire.WriteVarInt(&b, 0, uint64(a.Services))
		b.WriteByte(a.id)
		wire.WriteVarInt(&b, 0, uint64(len(a.raw)))
		b.Write(a.raw)
		binary.Write(&b, binary.BigEndian, a.port)
	}
	return b.Bytes()
}
