package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// prepared is what the query path answers from: a snapshot with every
// answer that does not depend on the asker made ahead, as wire bytes the
// DNS library packed. A query then costs its parse, a copy of its
// question and the copy of prepared bytes: no search of the table, no
// packing of records, no signing but the first time a signed address
// window is asked for.
//
// Sections are packed after a question naming their owner, so that the
// owner of each record is a pointer to the question (offset 12): they
// serve any query whose name is that owner in any letter case. Records
// of another owner (the negative answers' SOA and NSEC) are packed
// without compression, valid after any question.
type prepared struct {
	snap  *snapshot
	size  int // addresses per answer
	names [len(filters)]string
	// labels are the names' first labels in lower case (the apex: ""),
	// chain the name indexes in DNSSEC's canonical order.
	labels [len(filters)][]byte
	chain  [len(filters)]int
	// rr is the packed A and AAAA record whose address a window's
	// records replace; rdata is where the address starts.
	rr    [2][]byte
	rdata [2]int
	keys  *keyset
	now   time.Time
	// Each section in two versions: [0] unsigned, [1] with signatures
	// and denial, for queries with the DO bit when the zone is signed.
	ns, soa, dnskey [2]section
	hinfo, nodata   [len(filters)][2]section
	nxdomain        [len(filters)][2]section // by the name before the asked one
	winSig          [2][len(filters)][]atomic.Pointer[[]byte]
	opt             [2]section // the OPT record, without and with DO
	ttl             uint32
}

// section is prepared records: their bytes and how many there are.
type section struct {
	b []byte
	n uint16
}

// prepare builds the answers of snap for zone z, signed with ks when it
// is not nil; sigs keeps signatures from one snapshot to the next.
func prepare(snap *snapshot, z zone, ks *keyset, sigs *sigCache, now time.Time) (*prepared, error) {
	p := &prepared{snap: snap, size: z.answers, keys: ks, now: now, ttl: z.ttl}
	apex := z.name.String()
	for i, f := range filters {
		if i == 0 {
			p.names[i] = apex
			continue
		}
		l := fmt.Sprintf("x%x", f)
		p.labels[i] = []byte(l)
		p.names[i] = l + "." + apex
	}
	for i := range p.chain {
		p.chain[i] = i
	}
	// The apex first, then its children by their labels (RFC 4034 6.1).
	slices.SortFunc(p.chain[1:], func(a, b int) int { return bytes.Compare(p.labels[a], p.labels[b]) })

	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: z.ttl}
	}
	var err error
	for fam, rr := range []dns.RR{&dns.A{Hdr: hdr(apex, dns.TypeA), A: netip.IPv4Unspecified().AsSlice()},
		&dns.AAAA{Hdr: hdr(apex, dns.TypeAAAA), AAAA: netip.IPv6Unspecified().AsSlice()}} {
		if p.rr[fam], err = packAt(apex, rr); err != nil {
			return nil, err
		}
		p.rdata[fam] = len(p.rr[fam]) - 4 - 12*fam
	}
	soa := &dns.SOA{Hdr: hdr(apex, dns.TypeSOA), Ns: z.ns.String(), Mbox: z.mbox.String(), Serial: snap.serial,
		Refresh: 604800, Retry: 86400, Expire: 2592000, Minttl: z.ttl}
	ns := &dns.NS{Hdr: hdr(apex, dns.TypeNS), Ns: z.ns.String()}
	if p.ns[0], err = sectionAt(apex, ns); err != nil {
		return nil, err
	}
	if p.soa[0], err = sectionAt(apex, soa); err != nil {
		return nil, err
	}
	soaRaw, err := sectionRaw(soa)
	if err != nil {
		return nil, err
	}
	for i, name := range p.names {
		// RFC 8482: ANY gets one small synthesized record, not all.
		h := &dns.HINFO{Hdr: hdr(name, dns.TypeHINFO), Cpu: "RFC8482"}
		if p.hinfo[i][0], err = sectionAt(name, h); err != nil {
			return nil, err
		}
		p.nodata[i][0], p.nxdomain[i][0] = soaRaw, soaRaw
	}
	for do := range p.opt {
		if p.opt[do], err = sectionRaw(opt(do == 1)); err != nil {
			return nil, err
		}
	}
	if ks == nil {
		return p, nil
	}
	return p, p.sign(soa, ns, soaRaw, sigs, now)
}

// sign makes the signed versions of the sections, and the NSEC chain
// that denies the names and types that do not exist.
func (p *prepared) sign(soa *dns.SOA, ns *dns.NS, soaRaw section, sigs *sigCache, now time.Time) error {
	ks := p.keys
	apex := p.names[0]
	signed := func(at string, rrs ...dns.RR) (section, error) {
		sig, err := sigs.get(ks, rrs, now)
		if err != nil {
			return section{}, err
		}
		if at == "" {
			return sectionRaw(append(rrs, sig)...)
		}
		return sectionAt(at, append(rrs, sig)...)
	}
	soaSig, err := ks.sign([]dns.RR{soa}, now) // the serial changes each snapshot
	if err != nil {
		return err
	}
	if p.soa[1], err = sectionAt(apex, soa, soaSig); err != nil {
		return err
	}
	soaRawSigned, err := sectionRaw(soa, soaSig)
	if err != nil {
		return err
	}
	if p.ns[1], err = signed(apex, ns); err != nil {
		return err
	}
	var keys []dns.RR
	for _, k := range ks.dnskeys {
		k := dns.Copy(k).(*dns.DNSKEY)
		if k.Hdr.Ttl == 0 {
			k.Hdr.Ttl = 3600
		}
		keys = append(keys, k)
	}
	if p.dnskey[0], err = sectionAt(apex, keys...); err != nil {
		return err
	}
	if p.dnskey[1], err = signed(apex, keys...); err != nil {
		return err
	}
	nsec := make([]section, len(filters))
	for k, i := range p.chain {
		types := []uint16{dns.TypeHINFO, dns.TypeRRSIG, dns.TypeNSEC}
		if i == 0 {
			types = append(types, dns.TypeNS, dns.TypeSOA, dns.TypeDNSKEY)
		}
		if len(p.snap.order[0][i]) > 0 {
			types = append(types, dns.TypeA)
		}
		if len(p.snap.order[1][i]) > 0 {
			types = append(types, dns.TypeAAAA)
		}
		slices.Sort(types)
		// The TTL of denial: the SOA's minimum (RFC 9077).
		rr := &dns.NSEC{Hdr: dns.RR_Header{Name: p.names[i], Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: soa.Minttl},
			NextDomain: p.names[p.chain[(k+1)%len(p.chain)]], TypeBitMap: types}
		if nsec[i], err = signed("", rr); err != nil {
			return err
		}
		h := &dns.HINFO{Hdr: dns.RR_Header{Name: p.names[i], Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: soa.Hdr.Ttl}, Cpu: "RFC8482"}
		if p.hinfo[i][1], err = signed(p.names[i], h); err != nil {
			return err
		}
	}
	for i := range p.names {
		p.nodata[i][1] = join(soaRawSigned, nsec[i])
		// A name after name i in the canonical order, below the apex:
		// NSEC(i) covers it; the apex's NSEC covers the wildcard (its
		// next name, an x label, sorts after "*").
		p.nxdomain[i][1] = join(soaRawSigned, nsec[i])
		if i != 0 {
			p.nxdomain[i][1] = join(p.nxdomain[i][1], nsec[0])
		}
	}
	for fam := range p.winSig {
		for f := range filters {
			p.winSig[fam][f] = make([]atomic.Pointer[[]byte], answerWindows(len(p.snap.order[fam][f]), p.size))
		}
	}
	sigs.sweep()
	return nil
}

// windowSig returns the packed RRSIG of window w of the family and
// filter, signing it the first time it is asked for.
func (p *prepared) windowSig(fam, f, w int) ([]byte, error) {
	slot := &p.winSig[fam][f][w]
	if b := slot.Load(); b != nil {
		return *b, nil
	}
	list := p.snap.v4
	if fam == 1 {
		list = p.snap.v6
	}
	var idx [maxAnswersLimit]uint32
	var rrset []dns.RR
	for _, i := range window(idx[:0], p.snap.order[fam][f], w, p.size) {
		h := dns.RR_Header{Name: p.names[f], Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: p.ttl}
		if fam == 0 {
			rrset = append(rrset, &dns.A{Hdr: h, A: list[i].ip.AsSlice()})
		} else {
			h.Rrtype = dns.TypeAAAA
			rrset = append(rrset, &dns.AAAA{Hdr: h, AAAA: list[i].ip.AsSlice()})
		}
	}
	sig, err := p.keys.sign(rrset, p.now)
	if err != nil {
		return nil, err
	}
	s, err := sectionAt(p.names[f], sig)
	if err != nil {
		return nil, err
	}
	slot.CompareAndSwap(nil, &s.b)
	return *slot.Load(), nil
}

// opt is the OPT record of every answer to a query with EDNS: the size
// the seed accepts over UDP, and DO when the answer is signed.
func opt(do bool) *dns.OPT {
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(udpEDNS)
	if do {
		o.SetDo()
	}
	return o
}

// sectionAt packs rrs as the answer to a question for owner, and returns
// the records' bytes: names equal to owner become pointers to the
// question.
func sectionAt(owner string, rrs ...dns.RR) (section, error) {
	m := &dns.Msg{Compress: true, Question: []dns.Question{{Name: owner, Qtype: dns.TypeA, Qclass: dns.ClassINET}}, Answer: rrs}
	b, err := m.Pack()
	if err != nil {
		return section{}, fmt.Errorf("pack %s: %w", owner, err)
	}
	return section{b: b[12+len(owner)+1+4:], n: uint16(len(rrs))}, nil
}

// packAt is sectionAt's bytes of one record.
func packAt(owner string, rr dns.RR) ([]byte, error) {
	s, err := sectionAt(owner, rr)
	return s.b, err
}

// sectionRaw packs rrs without compression, valid after any question.
func sectionRaw(rrs ...dns.RR) (section, error) {
	var out []byte
	for _, rr := range rrs {
		buf := make([]byte, dns.Len(rr)+64)
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return section{}, fmt.Errorf("pack %s: %w", dns.TypeToString[rr.Header().Rrtype], err)
		}
		out = append(out, buf[:n]...)
	}
	return section{b: out, n: uint16(len(rrs))}, nil
}

// join is a section of a's records then b's.
func join(a, b section) section {
	return section{b: append(slices.Clip(a.b), b.b...), n: a.n + b.n}
}
