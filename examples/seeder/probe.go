package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// prober visits a batch of nodes (handshake, getaddr, ping) and reports
// each with emit, visited false for one it did not get to (the seeder is
// stopping). It returns when every target is reported. Keeping the seeder
// behind this keeps the engine swappable.
type prober interface {
	probe(ctx context.Context, ts []target, emit func(v visit, visited bool))
}

// crawlProber visits nodes with the crawl engine, following no gossip: the
// seeder admits gossiped addresses to its own table and schedules them.
type crawlProber struct {
	opts         crawl.Options
	allowPrivate bool
}

// newCrawlProber visits IPv4 and IPv6 nodes directly, and those of the
// networks dialers has a dialer for (onion, I2P, CJDNS) with it: made once
// for the seeder's life, so that Tor's view of its proxies and the I2P
// session last from one batch to the next. Onion and I2P visits keep the
// crawl's longer limits, their circuits taking seconds to build.
func newCrawlProber(hopts handshake.Options, timeout time.Duration, allowPrivate bool, dialers map[handshake.AddrNetwork]handshake.Dialer, caps map[handshake.AddrNetwork]int) *crawlProber {
	l := crawl.Limits{Connect: timeout, Handshake: timeout, GetAddr: timeout, Ping: timeout}
	return &crawlProber{
		opts: crawl.Options{
			Handshake: hopts,
			Limits:    map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: l, handshake.NetIPv6: l, handshake.NetCJDNS: l},
			MaxDepth:  -1,
			Dialers:   dialers,
			// Onion and I2P visits waiting for their proxies' slots
			// must not hold a batch's every worker.
			NetworkConcurrency: caps,
		},
		allowPrivate: allowPrivate,
	}
}

// reaches reports whether the prober can visit addresses of network n.
func (p *crawlProber) reaches(n handshake.AddrNetwork) bool {
	return n == handshake.NetIPv4 || n == handshake.NetIPv6 || p.opts.Dialers[n] != nil
}

func (p *crawlProber) probe(ctx context.Context, ts []target, emit func(visit, bool)) {
	start := make([]crawl.Target, 0, len(ts))
	for _, t := range ts {
		n := networks[t.Network]
		// Services as the node last announced them choose the transport
		// as Bitcoin Core chooses it: v2 to a node advertising P2P_V2.
		start = append(start, crawl.Target{Addr: t.Addr, Network: n, Services: wire.ServiceFlag(t.Services)})
	}
	o := p.opts
	o.Concurrency = len(ts)
	reported := make(map[string]bool, len(ts))
	crawl.Crawl(ctx, o, start, func(r crawl.Result) {
		reported[r.Addr] = true
		var pe *handshake.ProxyError
		switch {
		case errors.Is(r.Err, handshake.ErrProxyDown) && errors.As(r.Err, &pe):
			// Not the node's fault: not counted against it.
			emit(visit{Addr: r.Addr, Network: r.Network.String(), ProxyDown: pe.Proxy}, false)
		case errors.Is(r.Err, crawl.ErrNotVisited):
			emit(visit{Addr: r.Addr}, false)
		case r.Skipped != "":
			// Not dialled and never will be: a failure, so that the
			// schedule backs off rather than offering it again at once.
			emit(visit{Addr: r.Addr, Network: r.Network.String(), Time: r.Time.UTC(), Status: handshake.StatusFailed.String(),
				Err: "skipped: " + r.Skipped, ErrKind: "skipped"}, true)
		default:
			emit(fromCrawl(r, p.allowPrivate, p.reaches), true)
		}
	})
	// Crawl reports every target it admits; should it refuse the batch
	// (invalid options), the targets go back to the table all the same.
	for _, t := range ts {
		if !reported[t.Addr] {
			emit(visit{Addr: t.Addr}, false)
		}
	}
}

// fromCrawl keeps what the seeder needs of a visit.
func fromCrawl(r crawl.Result, allowPrivate bool, reaches func(handshake.AddrNetwork) bool) visit {
	v := visit{Addr: r.Addr, Network: r.Network.String(), Time: r.Time.UTC(), Status: r.Status.String()}
	if r.Handshake != nil {
		fromResult(&v, *r.Handshake)
	}
	if r.Ping > 0 {
		v.PingMS, v.HasPing = float64(r.Ping.Microseconds())/1000, true
	}
	if r.Err != nil {
		v.Err = r.Err.Error()
	}
	if r.Status == handshake.StatusFailed {
		v.ErrKind = handshake.ErrorKind(r.Err)
	}
	v.Learned = admissible(r.Addrs, allowPrivate, reaches)
	return v
}

// fromResult copies what the seeder keeps of a handshake's Result.
func fromResult(v *visit, res handshake.Result) {
	v.Status = res.Status.String()
	if res.Status == handshake.StatusFailed {
		return
	}
	v.Services = uint64(res.Peer.Services)
	v.ProtocolVersion = res.Peer.ProtocolVersion
	v.UserAgent = res.Peer.UserAgent
	v.StartHeight = res.Peer.StartHeight
	v.Transport = res.Transport.String()
	if b, err := json.Marshal(res); err == nil {
		v.Negotiation, v.Features = negotiation(b)
	}
}

// negotiation reads from a Result's JSON the commands the peer sent
// between its version and its verack (wtxidrelay, sendaddrv2, ...) and its
// BIP434 feature messages. It reads the JSON, whose keys are documented
// and stable, rather than the fields, so that it takes both shapes a
// Result has had: "features" as the list of commands, and "negotiation"
// for those with "features" as [{"id": ..., "data": "<hex>"}].
func negotiation(resultJSON []byte) ([]string, []feature) {
	var j struct {
		Negotiation json.RawMessage `json:"negotiation"`
		Features    json.RawMessage `json:"features"`
	}
	if json.Unmarshal(resultJSON, &j) != nil {
		return nil, nil
	}
	var cmds []string
	if j.Negotiation == nil { // the older shape
		json.Unmarshal(j.Features, &cmds)
		return cmds, nil
	}
	var feats []feature
	json.Unmarshal(j.Negotiation, &cmds)
	json.Unmarshal(j.Features, &feats)
	return cmds, feats
}

// networks are the AddrNetworks by the names the table keeps.
var networks = map[string]handshake.AddrNetwork{
	"ipv4": handshake.NetIPv4, "ipv6": handshake.NetIPv6, "onion": handshake.NetTorV3,
	"i2p": handshake.NetI2P, "cjdns": handshake.NetCJDNS,
}

// admissible keeps the gossiped addresses the seeder may visit: those of a
// network it reaches, with a port (I2P's is 0, BIP 155), IPv4 and IPv6
// public unless allowPrivate, so that a hostile peer cannot aim the seeder
// at its operator's own network.
func admissible(addrs []handshake.Addr, allowPrivate bool, reaches func(handshake.AddrNetwork) bool) []learned {
	out := make([]learned, 0, len(addrs))
	for _, a := range addrs {
		if !reaches(a.Network) || (a.Port == 0) != (a.Network == handshake.NetI2P) {
			continue
		}
		addr := net.JoinHostPort(a.Host, strconv.Itoa(int(a.Port)))
		if a.Network == handshake.NetIPv4 || a.Network == handshake.NetIPv6 || a.Network == handshake.NetCJDNS {
			ip, err := netip.ParseAddr(a.Host)
			if err != nil || a.Network != handshake.NetCJDNS && !allowPrivate && !handshake.IsPublic(ip) {
				continue
			}
			addr = netip.AddrPortFrom(ip.Unmap(), a.Port).String()
		}
		out = append(out, learned{Addr: addr, Network: a.Network.String(), Services: uint64(a.Services)})
	}
	return out
}

// networkOf names the network of an address given by the operator,
// "ip:port", "<onion>:port" or "<i2p>:0".
func networkOf(addr string) (string, bool) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false
	}
	n, err := handshake.ParseHost(host)
	port, perr := strconv.ParseUint(ps, 10, 16)
	if err != nil || perr != nil || (port == 0) != (n == handshake.NetI2P) {
		return "", false
	}
	return n.String(), true
}

// normalize writes an address the way the table keys it: IP addresses
// unmapped, names in lower case.
func normalize(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return strings.ToLower(addr)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}
