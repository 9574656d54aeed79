package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
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

func newCrawlProber(hopts handshake.Options, timeout time.Duration, allowPrivate bool) *crawlProber {
	l := crawl.Limits{Connect: timeout, Handshake: timeout, GetAddr: timeout, Ping: timeout}
	return &crawlProber{
		opts: crawl.Options{
			Handshake: hopts,
			Limits:    map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: l, handshake.NetIPv6: l},
			MaxDepth:  -1,
		},
		allowPrivate: allowPrivate,
	}
}

func (p *crawlProber) probe(ctx context.Context, ts []target, emit func(visit, bool)) {
	start := make([]crawl.Target, 0, len(ts))
	for _, t := range ts {
		n := handshake.NetIPv4
		if t.Network == "ipv6" {
			n = handshake.NetIPv6
		}
		// Services as the node last announced them choose the transport
		// as Bitcoin Core chooses it: v2 to a node advertising P2P_V2.
		start = append(start, crawl.Target{Addr: t.Addr, Network: n, Services: wire.ServiceFlag(t.Services)})
	}
	o := p.opts
	o.Concurrency = len(ts)
	reported := make(map[string]bool, len(ts))
	crawl.Crawl(ctx, o, start, func(r crawl.Result) {
		reported[r.Addr] = true
		switch {
		case errors.Is(r.Err, crawl.ErrNotVisited):
			emit(visit{Addr: r.Addr}, false)
		case r.Skipped != "":
			// Not dialled and never will be: a failure, so that the
			// schedule backs off rather than offering it again at once.
			emit(visit{Addr: r.Addr, Time: r.Time.UTC(), Status: handshake.StatusFailed.String(), Err: "skipped: " + r.Skipped}, true)
		default:
			emit(fromCrawl(r, p.allowPrivate), true)
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
func fromCrawl(r crawl.Result, allowPrivate bool) visit {
	v := visit{Addr: r.Addr, Time: r.Time.UTC(), Status: r.Status.String()}
	if r.Handshake != nil {
		fromResult(&v, *r.Handshake)
	}
	if r.Ping > 0 {
		v.PingMS, v.HasPing = float64(r.Ping.Microseconds())/1000, true
	}
	if r.Err != nil {
		v.Err = r.Err.Error()
	}
	v.Learned = admissible(r.Addrs, allowPrivate)
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
	if err != nil || ap.Port() == 0 {
		return "", false
	}
	if ap.Addr().Unmap().Is4() {
		return "ipv4", true
	}
	return "ipv6", true
}

// normalize writes an "ip:port" the way the table keys it.
func normalize(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return addr
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}
