package main

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
)

// prober visits one node: handshake, ping, getaddr. The seeder needs no
// more of a crawl engine than this, which keeps the engine swappable.
type prober interface {
	probe(ctx context.Context, t target) visit
}

// directProber visits nodes with the handshake library.
type directProber struct {
	opts         handshake.Options
	timeout      time.Duration // for the handshake, and again for ping and getaddr
	allowPrivate bool
}

func (p *directProber) probe(ctx context.Context, t target) visit {
	v := visit{Addr: t.Addr, Time: time.Now().UTC()}
	hctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, res, err := handshake.DialConn(hctx, t.Addr, p.opts)
	fromResult(&v, res)
	if err != nil {
		v.Err = err.Error()
		return v
	}
	defer conn.Close()
	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if rtt, err := ping(actx, conn); err == nil {
		v.PingMS, v.HasPing = float64(rtt.Microseconds())/1000, true
	}
	addrs, _ := handshake.GetAddrs(actx, conn, handshake.AddrOptions{MaxAddrs: wire.MaxAddrPerMsg, Wait: min(p.timeout, handshake.DefaultAddrWait)})
	v.Learned = admissible(addrs, p.allowPrivate)
	return v
}

// fromResult copies what the seeder keeps of a handshake's Result.
func fromResult(v *visit, res handshake.Result) {
	v.Status = res.Status.String()
	if res.Status == handshake.Failed {
		return
	}
	v.Services = uint64(res.Peer.Services)
	v.ProtocolVersion = res.Peer.ProtocolVersion
	v.UserAgent = res.Peer.UserAgent
	v.StartHeight = res.Peer.StartHeight
	v.Transport = res.Transport.String()
	// The commands between version and verack (wtxidrelay, sendaddrv2,
	// ...). BIP434 feature messages are kept in v.Features once the
	// library reports them apart.
	v.Negotiation = res.Features
}

// ping measures a round trip: ping with a random nonce, wait for its pong.
func ping(ctx context.Context, c *handshake.Conn) (time.Duration, error) {
	nonce := rand.Uint64()
	start := time.Now()
	if err := c.WriteMessage(ctx, wire.NewMsgPing(nonce)); err != nil {
		return 0, err
	}
	for {
		m, err := c.ReadMessage(ctx)
		if err != nil {
			return 0, err
		}
		if p, ok := m.(*wire.MsgPong); ok && p.Nonce == nonce {
			return time.Since(start), nil
		}
	}
}

// admissible keeps the gossiped addresses the seeder may visit: IPv4 and
// IPv6 with a port, public unless allowPrivate, so that a hostile peer
// cannot aim the seeder at its operator's own network.
func admissible(addrs []handshake.Addr, allowPrivate bool) []learned {
	out := make([]learned, 0, len(addrs))
	for _, a := range addrs {
		if a.Network != handshake.NetIPv4 && a.Network != handshake.NetIPv6 || a.Port == 0 {
			continue
		}
		ip, err := netip.ParseAddr(a.Host)
		if err != nil || !allowPrivate && !handshake.IsPublic(ip) {
			continue
		}
		ip = ip.Unmap()
		network := "ipv4"
		if !ip.Is4() {
			network = "ipv6"
		}
		out = append(out, learned{Addr: netip.AddrPortFrom(ip, a.Port).String(), Network: network, Services: uint64(a.Services)})
	}
	return out
}

// networkOf names the network of an "ip:port" given by the operator.
func networkOf(addr string) (string, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "", false
	}
	if ap.Addr().Unmap().Is4() {
		return "ipv4", true
	}
	return "ipv6", true
}

// joinPort makes "ip:port" of an address from DNS and the default port.
func joinPort(ip netip.Addr, port string) (string, bool) {
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", false
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)).String(), true
}
