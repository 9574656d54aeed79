package main

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Limits of DNS answers. They bound what any query can make the seed send.
const (
	// DefaultAnswers is how many addresses an answer carries by default:
	// 25 A records fit a 512-byte UDP answer; 25 AAAA records do not,
	// and go over TCP (or EDNS).
	DefaultAnswers = 25
	// maxAnswersLimit caps -answers.
	maxAnswersLimit = 64
	// DefaultTTL is the answers' TTL: short, so that resolvers come back
	// for a fresh sample soon.
	DefaultTTL = 60
	// udpPlain is the largest UDP answer to a query without EDNS (RFC 1035).
	udpPlain = 512
	// udpEDNS is the largest UDP answer whatever EDNS size a query claims:
	// the DNS flag day 2020 size, which avoids IP fragmentation.
	udpEDNS = 1232
	// maxQuery is the largest query read; longer TCP queries close the
	// connection, longer UDP ones are truncated by the read and fail to
	// parse. A real query is well under 300 bytes.
	maxQuery = 1024
	// maxAnswer is the largest answer: 64 AAAA records and a signature,
	// or a signed denial, are well under it.
	maxAnswer = 4096
	// signedRebuild is how often, at most, a signed zone's answers are
	// made anew from the crawl: each new snapshot's address windows are
	// signed again as they are asked for.
	signedRebuild = 10 * time.Second
)

// zone describes what the seed serves.
type zone struct {
	name    dnsmessage.Name // canonical: lower case, trailing dot
	ns      dnsmessage.Name
	mbox    dnsmessage.Name
	ttl     uint32
	answers int
}

// responder answers queries from the current snapshot.
type responder struct {
	zone zone
	keys *keyset // nil: the zone is not signed
	log  *slog.Logger
	snap atomic.Pointer[snapshot]
	cur  atomic.Pointer[prepared]
	// count, when set, counts queries by type and outcome (the metrics).
	count *queryCounts

	mu      sync.Mutex // serializes set
	sigs    sigCache
	rebuilt time.Time
}

// set publishes a snapshot: its answers are prepared at once (for a
// signed zone, at most every signedRebuild once it has nodes to hand out).
func (r *responder) set(s *snapshot) {
	r.snap.Store(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if cur := r.cur.Load(); r.keys != nil && cur != nil && len(cur.snap.v4)+len(cur.snap.v6) > 0 && now.Sub(r.rebuilt) < signedRebuild {
		return
	}
	p, err := prepare(s, r.zone, r.keys, &r.sigs, now)
	if err != nil {
		// Packing and signing fail only on a bug; the last answers
		// stay.
		if r.log != nil {
			r.log.Error("dns: cannot prepare answers", "err", err)
		}
		return
	}
	r.rebuilt = now
	r.cur.Store(p)
}

// Types dnsmessage has no name for.
const (
	typeHINFO  dnsmessage.Type = 13
	typeDNSKEY dnsmessage.Type = 48
)

// answer returns the answer to query in a new buffer; see respond.
func (r *responder) answer(query []byte, udp bool) []byte {
	return r.respond(make([]byte, 0, maxAnswer), query, udp, false)
}

// respond appends to dst (of capacity maxAnswer, for no allocation) the
// answer to query, or returns nil when none is due (the packet is not a
// query, or too broken to name the asker's id). Over UDP an answer is at
// most 512 bytes, or at most 1232 when the query has an EDNS record: a
// larger one is replaced by a truncated one, which sends the client to
// TCP; slip asks for that truncated answer whatever the size (the rate
// limit's slip). An error answer echoes only the question.
func (r *responder) respond(dst, query []byte, udp, slip bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		r.note(0, oDropped)
		return nil
	}
	q, err := p.Question()
	if err != nil {
		r.note(0, oFormErr)
		return r.build(dst, h, nil, dnsmessage.RCodeFormatError, -1, false)
	}
	qt := typeIndex(q.Type)
	if _, err := p.Question(); err != dnsmessage.ErrSectionDone {
		r.note(qt, oFormErr)
		return r.build(dst, h, nil, dnsmessage.RCodeFormatError, -1, false)
	}
	limit, edns, do := udpPlain, -1, 0
	if size, dnssec, ok := ednsOf(&p); ok {
		edns = 0
		limit = min(max(int(size), udpPlain), udpEDNS)
		if dnssec && r.keys != nil {
			edns, do = 1, 1
		}
	}
	if !udp {
		limit = maxAnswer
	}
	if slip {
		r.note(qt, oSlipped)
		return r.build(dst, h, &q, dnsmessage.RCodeSuccess, edns, true)
	}
	if h.OpCode != 0 {
		r.note(qt, oNotImp)
		return r.build(dst, h, &q, dnsmessage.RCodeNotImplemented, edns, false)
	}
	pr := r.cur.Load()
	if pr == nil {
		r.note(qt, oServFail)
		return r.build(dst, h, &q, dnsmessage.RCodeServerFailure, edns, false)
	}
	name, exists, inZone := pr.lookup(&q.Name)
	if !inZone || q.Class != dnsmessage.ClassINET {
		r.note(qt, oRefused)
		return r.build(dst, h, &q, dnsmessage.RCodeRefused, edns, false)
	}
	rcode, outcome := dnsmessage.RCodeSuccess, oNoError
	var an, ns section
	var fam, win int = -1, 0
	switch {
	case !exists:
		rcode, outcome, ns = dnsmessage.RCodeNameError, oNXDomain, pr.nxdomain[name][do]
	case q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeAAAA:
		fam = 0
		if q.Type == dnsmessage.TypeAAAA {
			fam = 1
		}
		n := answerWindows(len(pr.snap.order[fam][name]), pr.size)
		if n == 0 {
			fam, outcome, ns = -1, oNoData, pr.nodata[name][do]
			break
		}
		win = rand.IntN(n)
		if do == 1 {
			sig, err := pr.windowSig(fam, name, win)
			if err != nil {
				r.note(qt, oServFail)
				return r.build(dst, h, &q, dnsmessage.RCodeServerFailure, edns, false)
			}
			an = section{b: sig, n: 1}
		}
	case q.Type == dnsmessage.TypeALL || q.Type == typeHINFO:
		// HINFO too, as the NSEC type bitmaps say it exists.
		an = pr.hinfo[name][do]
	case name == 0 && q.Type == dnsmessage.TypeNS:
		an = pr.ns[do]
	case name == 0 && q.Type == dnsmessage.TypeSOA:
		an = pr.soa[do]
	case name == 0 && q.Type == typeDNSKEY && pr.keys != nil:
		an = pr.dnskey[do]
	default:
		outcome, ns = oNoData, pr.nodata[name][do]
	}
	size := 12 + int(q.Name.Length) + 1 + 4 + len(an.b) + len(ns.b)
	var idx [maxAnswersLimit]uint32
	var addrs []uint32
	if fam >= 0 {
		addrs = window(idx[:0], pr.snap.order[fam][name], win, pr.size)
		size += len(addrs) * len(pr.rr[fam])
	}
	if edns >= 0 {
		size += len(pr.opt[edns].b)
	}
	if size > limit {
		r.note(qt, oTruncated)
		return r.build(dst, h, &q, dnsmessage.RCodeSuccess, edns, true)
	}
	msg := r.build(dst, h, &q, rcode, -1, false)
	if msg == nil {
		r.note(qt, oFormErr)
		return nil
	}
	var count uint16
	if fam >= 0 {
		list := pr.snap.v4
		if fam == 1 {
			list = pr.snap.v6
		}
		rr, at := pr.rr[fam], pr.rdata[fam]
		for _, i := range addrs {
			start := len(msg)
			msg = append(msg, rr...)
			if fam == 0 {
				a := list[i].ip.As4()
				copy(msg[start+at:], a[:])
			} else {
				a := list[i].ip.As16()
				copy(msg[start+at:], a[:])
			}
		}
		count = uint16(len(addrs))
	}
	msg = append(msg, an.b...)
	msg = append(msg, ns.b...)
	var ar uint16
	if edns >= 0 {
		msg = append(msg, pr.opt[edns].b...)
		ar = 1
	}
	// The counts the builder wrote (one question) with the records
	// appended after it.
	binary.BigEndian.PutUint16(msg[6:], count+an.n)
	binary.BigEndian.PutUint16(msg[8:], ns.n)
	binary.BigEndian.PutUint16(msg[10:], ar)
	r.note(qt, outcome)
	return msg
}

// build writes the header and the question (when known) of an answer,
// and the OPT record edns names (-1: none; 0: plain; 1: with DO). TC is
// set only when truncated: the query's TC bit is not copied, since on a
// complete answer it would send the client to retry over TCP.
func (r *responder) build(dst []byte, qh dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, edns int, truncated bool) []byte {
	h := dnsmessage.Header{ID: qh.ID, Response: true, OpCode: qh.OpCode, Authoritative: rcode != dnsmessage.RCodeRefused,
		RecursionDesired: qh.RecursionDesired, Truncated: truncated, RCode: rcode}
	b := dnsmessage.NewBuilder(dst[:0], h)
	err := b.StartQuestions()
	if err == nil && q != nil {
		err = b.Question(*q)
	}
	if err != nil {
		return nil
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	if edns >= 0 {
		if pr := r.cur.Load(); pr != nil {
			msg = append(msg, pr.opt[edns].b...)
			binary.BigEndian.PutUint16(msg[10:], 1)
		}
	}
	return msg
}

// lookup finds a name in the zone: the index in filters of the name
// asked (0: the apex) when it exists, else the index of the name before
// it in DNSSEC's canonical order, whose NSEC denies it. inZone is false
// outside the zone. It does not allocate.
func (p *prepared) lookup(n *dnsmessage.Name) (name int, exists, inZone bool) {
	q := n.Data[:n.Length]
	z := p.names[0]
	switch {
	case len(q) == len(z) && equalFold(q, z):
		return 0, true, true
	case len(q) <= len(z) || q[len(q)-len(z)-1] != '.' || !equalFold(q[len(q)-len(z):], z):
		return 0, false, false
	}
	rel := q[:len(q)-len(z)-1]
	last := rel
	for i := len(rel) - 1; i >= 0; i-- {
		if rel[i] == '.' {
			last = rel[i+1:]
			break
		}
	}
	prev := 0
	for _, i := range p.chain[1:] {
		c := compareFold(last, p.labels[i])
		if c == 0 && len(last) == len(rel) {
			return i, true, true
		}
		if c < 0 {
			break
		}
		prev = i
	}
	return prev, false, true
}

// equalFold reports whether a equals the lower-case b in ASCII letter
// case.
func equalFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// compareFold compares label a, lowered, with the lower-case label b, as
// DNSSEC orders them (RFC 4034 6.1).
func compareFold(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if c := lower(a[i]); c != b[i] {
			if c < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ednsOf returns the UDP size and DO bit of the query's OPT record, if it
// has one.
func ednsOf(p *dnsmessage.Parser) (size uint16, do, ok bool) {
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return 0, false, false
	}
	for {
		h, err := p.AdditionalHeader()
		if err != nil {
			return 0, false, false
		}
		if h.Type == dnsmessage.TypeOPT {
			return uint16(h.Class), h.DNSSECAllowed(), true
		}
		if p.SkipAdditional() != nil {
			return 0, false, false
		}
	}
}
