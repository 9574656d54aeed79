package main

import (
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

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
	snap atomic.Pointer[snapshot]
	// observe, when set, is told each query's type and outcome (for the
	// metrics); outcome is one of noerror, nodata, nxdomain, refused,
	// formerr, notimp, truncated, dropped.
	observe func(qtype, outcome string)
}

func (r *responder) note(qtype, outcome string) {
	if r.observe != nil {
		r.observe(qtype, outcome)
	}
}

// answer returns the answer to query, or nil when none is due (the packet
// is not a query, or too broken to name the asker's id). Over UDP an
// answer is at most 512 bytes, or at most 1232 when the query has an EDNS
// record: a large answer is replaced by a truncated one, which sends the
// client to TCP. An error answer echoes only the question.
func (r *responder) answer(query []byte, udp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		r.note("", "dropped")
		return nil
	}
	q, err := p.Question()
	if err != nil {
		r.note("", "formerr")
		return r.build(h, nil, dnsmessage.RCodeFormatError, false, nil, false)
	}
	qtype := typeName(q.Type)
	if _, err := p.Question(); err != dnsmessage.ErrSectionDone {
		r.note(qtype, "formerr")
		return r.build(h, nil, dnsmessage.RCodeFormatError, false, nil, false)
	}
	limit, edns := udpPlain, false
	if size, ok := ednsSize(&p); ok {
		edns = true
		limit = min(max(int(size), udpPlain), udpEDNS)
	}
	if !udp {
		limit = 65535
	}
	if h.OpCode != 0 {
		r.note(qtype, "notimp")
		return r.build(h, &q, dnsmessage.RCodeNotImplemented, edns, nil, false)
	}
	want, inZone, exists := r.lookup(q.Name)
	if !inZone || q.Class != dnsmessage.ClassINET {
		r.note(qtype, "refused")
		return r.build(h, &q, dnsmessage.RCodeRefused, edns, nil, false)
	}
	if !exists {
		r.note(qtype, "nxdomain")
		return r.build(h, &q, dnsmessage.RCodeNameError, edns, r.soa, false)
	}
	apex := want == 0 && len(q.Name.String()) == len(r.zone.name.String())
	var fill func(*dnsmessage.Builder) error
	outcome := "noerror"
	switch {
	case q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeAAAA:
		var buf [maxAnswersLimit]netip.Addr
		addrs := r.snap.Load().sample(q.Type == dnsmessage.TypeAAAA, want, buf[:0:r.zone.answers])
		fill = func(b *dnsmessage.Builder) error { return r.addrs(b, q, addrs) }
		if len(addrs) == 0 {
			outcome, fill = "nodata", r.soa
		}
	case apex && q.Type == dnsmessage.TypeNS:
		fill = r.nsAnswer
	case apex && q.Type == dnsmessage.TypeSOA:
		fill = r.soaAnswer
	default:
		outcome, fill = "nodata", r.soa
	}
	msg := r.build(h, &q, dnsmessage.RCodeSuccess, edns, fill, false)
	if len(msg) > limit {
		outcome = "truncated"
		msg = r.build(h, &q, dnsmessage.RCodeSuccess, edns, nil, true)
	}
	r.note(qtype, outcome)
	return msg
}

// lookup maps a name to the services an answer must have: the apex wants
// none, "x<hex>." the bits of <hex>, as Bitcoin Core asks (x9, x49, x809,
// ...). inZone is false outside the zone; exists false for other names.
func (r *responder) lookup(name dnsmessage.Name) (want uint64, inZone, exists bool) {
	n := strings.ToLower(name.String())
	z := r.zone.name.String()
	if n == z {
		return 0, true, true
	}
	if !strings.HasSuffix(n, "."+z) {
		return 0, false, false
	}
	label := n[:len(n)-len(z)-1]
	if len(label) < 2 || len(label) > 17 || label[0] != 'x' || strings.Contains(label, ".") {
		return 0, true, false
	}
	v, err := strconv.ParseUint(label[1:], 16, 64)
	if err != nil {
		return 0, true, false
	}
	return v, true, true
}

// ednsSize returns the UDP size of the query's OPT record, if it has one.
func ednsSize(p *dnsmessage.Parser) (uint16, bool) {
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return 0, false
	}
	for {
		h, err := p.AdditionalHeader()
		if err != nil {
			return 0, false
		}
		if h.Type == dnsmessage.TypeOPT {
			return uint16(h.Class), true
		}
		if p.SkipAdditional() != nil {
			return 0, false
		}
	}
}

// build writes an answer: the header, the question (when known), what fill
// adds, and an OPT record when the query had one. TC is set only when
// truncated: the query's TC bit is not copied, since on a complete answer it
// would send the client to retry over TCP.
func (r *responder) build(qh dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, edns bool, fill func(*dnsmessage.Builder) error, truncated bool) []byte {
	h := dnsmessage.Header{ID: qh.ID, Response: true, OpCode: qh.OpCode, Authoritative: rcode != dnsmessage.RCodeRefused,
		RecursionDesired: qh.RecursionDesired, Truncated: truncated, RCode: rcode}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
	b.EnableCompression()
	err := b.StartQuestions()
	if err == nil && q != nil {
		err = b.Question(*q)
	}
	if err == nil && fill != nil {
		err = fill(&b)
	}
	if err == nil && edns {
		err = b.StartAdditionals()
		if err == nil {
			var rh dnsmessage.ResourceHeader
			if err = rh.SetEDNS0(udpEDNS, dnsmessage.RCodeSuccess, false); err == nil {
				err = b.OPTResource(rh, dnsmessage.OPTResource{})
			}
		}
	}
	if err != nil {
		return nil
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

func (r *responder) rrHeader(name dnsmessage.Name, t dnsmessage.Type) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: name, Type: t, Class: dnsmessage.ClassINET, TTL: r.zone.ttl}
}

func (r *responder) addrs(b *dnsmessage.Builder, q dnsmessage.Question, addrs []netip.Addr) error {
	if err := b.StartAnswers(); err != nil {
		return err
	}
	for _, a := range addrs {
		var err error
		if a.Is4() {
			err = b.AResource(r.rrHeader(q.Name, dnsmessage.TypeA), dnsmessage.AResource{A: a.As4()})
		} else {
			err = b.AAAAResource(r.rrHeader(q.Name, dnsmessage.TypeAAAA), dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *responder) nsAnswer(b *dnsmessage.Builder) error {
	if err := b.StartAnswers(); err != nil {
		return err
	}
	return b.NSResource(r.rrHeader(r.zone.name, dnsmessage.TypeNS), dnsmessage.NSResource{NS: r.zone.ns})
}

func (r *responder) soaAnswer(b *dnsmessage.Builder) error {
	if err := b.StartAnswers(); err != nil {
		return err
	}
	return r.soaRecord(b)
}

// soa puts the SOA in the authority section, as negative answers carry it
// (RFC 2308), so resolvers know how long to remember them.
func (r *responder) soa(b *dnsmessage.Builder) error {
	if err := b.StartAuthorities(); err != nil {
		return err
	}
	return r.soaRecord(b)
}

func (r *responder) soaRecord(b *dnsmessage.Builder) error {
	var serial uint32
	if s := r.snap.Load(); s != nil {
		serial = s.serial
	}
	return b.SOAResource(r.rrHeader(r.zone.name, dnsmessage.TypeSOA), dnsmessage.SOAResource{
		NS: r.zone.ns, MBox: r.zone.mbox, Serial: serial,
		Refresh: 604800, Retry: 86400, Expire: 2592000, MinTTL: r.zone.ttl,
	})
}

// typeName names a query type for the metrics, from a fixed set so that
// queries cannot grow the metric's label values.
func typeName(t dnsmessage.Type) string {
	switch t {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeNS, dnsmessage.TypeSOA,
		dnsmessage.TypeTXT, dnsmessage.TypeMX, dnsmessage.TypeCNAME, dnsmessage.TypeALL:
		return strings.TrimPrefix(t.String(), "Type")
	}
	return "other"
}
