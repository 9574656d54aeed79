package main

import (
	"math"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// windows are the reliability windows, as sipa's bitcoin-seeder keeps
// them: 2 hours, 8 hours, a day, a week, a month.
func windows() [5]time.Duration {
	return [5]time.Duration{2 * time.Hour, 8 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
}

// stat is one window's exponentially decaying record of visits: with
// f = exp(-age/window), where age is the time since the previous visit,
// each visit sets rel = rel*f + (ok ? 1-f : 0), count = count*f + 1 and
// weight = weight*f + (1-f). rel is then the share of the window's
// (decayed) time during which the node answered; weight how much of the
// window visits have covered, so that rel - weight + 1 is the
// reliability with the unobserved part counted as good.
type stat struct {
	Rel, Count, Weight float64
}

func (s *stat) update(ok bool, age time.Duration, window time.Duration) {
	f := math.Exp(-age.Seconds() / window.Seconds())
	s.Rel *= f
	if ok {
		s.Rel += 1 - f
	}
	s.Count = s.Count*f + 1
	s.Weight = s.Weight*f + (1 - f)
}

// stats holds the five windows.
type stats [5]stat

// update records a visit at now; last is the previous visit. A first
// visit (last zero) counts for first, the re-test interval, as sipa's
// counts a first visit for its minimum retry time.
func (st *stats) update(ok bool, last, now time.Time, first time.Duration) {
	age := first
	if !last.IsZero() {
		age = max(now.Sub(last), 0)
	}
	w := windows()
	for i := range st {
		st[i].update(ok, age, w[i])
	}
}

// goodPolicy holds the inputs of the good rule that are not the node's own.
type goodPolicy struct {
	defaultPort  uint16
	services     uint64 // bits a good node must announce
	minVersion   uint32
	minHeight    int32 // best height seen, less the lag allowed; 0: no check
	allowPrivate bool  // loopback and private addresses may be good (-demo, tests)
}

// Defaults of the good rule.
const (
	// requiredServices is NODE_NETWORK: a seed exists to hand out nodes
	// that serve the whole chain to nodes starting from nothing.
	requiredServices = 1
	// minGoodVersion is 70001, the version sipa's seeder requires: older
	// nodes predate the messages today's nodes rely on.
	minGoodVersion = 70001
	// heightLag is how far behind the median height of recently
	// reachable nodes a good node may be: about a week of blocks, so that
	// a node still syncing after a long pause is not handed out.
	heightLag = 1000
)

// isGood is the good rule: a node is handed out only when it would help a
// new node and has proven itself. It must listen on the network's default
// port (a DNS answer cannot carry a port), announce the required services,
// be publicly routable, speak a recent protocol, be near the tip, have
// completed our last handshake with it, and have been reliable by sipa's
// thresholds (any one window suffices; a new node needs half of its first
// three visits to succeed).
func (r *record) isGood(p goodPolicy) bool {
	switch {
	case !r.placed(p):
		return false
	case r.LastStatus != "OK" || r.LastSuccess.IsZero():
		return false
	case r.Services&p.services != p.services:
		return false
	case r.ProtocolVersion < p.minVersion:
		return false
	case p.minHeight > 0 && r.StartHeight < p.minHeight:
		return false
	}
	if r.Tries <= 3 && r.Successes*2 >= r.Tries {
		return true
	}
	s := r.Stats
	return s[0].ratio() > 0.85 && s[0].Count > 2 ||
		s[1].ratio() > 0.70 && s[1].Count > 4 ||
		s[2].ratio() > 0.55 && s[2].Count > 8 ||
		s[3].ratio() > 0.45 && s[3].Count > 16 ||
		s[4].ratio() > 0.35 && s[4].Count > 32
}

// placed is the address part of the good rule, by network. IPv4 and IPv6
// (what DNS hands out) must be public and on the default port, since a
// DNS answer cannot carry a port; onion and CJDNS nodes on the default
// port too, as makeseeds.py's fixed seeds are; I2P nodes on port 0, I2P's
// only port (BIP 155). CJDNS's fc00::/8 is private to IP, and onion and
// I2P names are not IP at all: no public check applies to them.
func (r *record) placed(p goodPolicy) bool {
	host, ps, err := net.SplitHostPort(r.Addr)
	if err != nil {
		return false
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return false
	}
	switch r.Network {
	case "ipv4", "ipv6":
		ip, err := netip.ParseAddr(host)
		return err == nil && port == uint64(p.defaultPort) && (p.allowPrivate || handshake.IsPublic(ip))
	case "onion", "cjdns":
		return port == uint64(p.defaultPort)
	case "i2p":
		return port == 0
	}
	return false
}

// ratio is the share of the observed part of the window during which the
// node answered: Rel / Weight. sipa's rule compares Rel itself, which
// cannot exceed Weight = 1 - exp(-observed/window): a node known for less
// than about 4 hours stays under every threshold, so a new node drops out
// of the answers after its third visit until hours have passed, and
// shorter re-test intervals change nothing. Dividing by Weight reads the
// same whatever the interval; the thresholds and counts are sipa's.
func (s stat) ratio() float64 {
	if s.Weight <= 0 {
		return 0
	}
	return s.Rel / s.Weight
}

// ignoreTime is how long sipa's seeder leaves a node that keeps failing
// alone: the worse its record over a long window, the longer.
func (r *record) ignoreTime() time.Duration {
	if r.Good {
		return 0
	}
	s := r.Stats
	switch {
	case s[4].Rel-s[4].Weight+1 < 0.20 && s[4].Count > 2:
		return 10 * 24 * time.Hour
	case s[3].Rel-s[3].Weight+1 < 0.16 && s[3].Count > 2:
		return 3 * 24 * time.Hour
	case s[2].Rel-s[2].Weight+1 < 0.12 && s[2].Count > 2:
		return 8 * time.Hour
	case s[1].Rel-s[1].Weight+1 < 0.08 && s[1].Count > 2:
		return 2 * time.Hour
	}
	return 0
}
