package main

import (
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzAnswer feeds arbitrary packets to the query path. It must not panic,
// and an answer must respect the documented bounds: over UDP at most 512
// bytes, or 1232 when the packet carries an OPT record; an answer that is
// not NOERROR carries no records but the SOA and OPT; and every answer
// names the query's id.
func FuzzAnswer(f *testing.F) {
	for _, q := range [][]byte{
		mkQuery(f, "seed.example.test.", dnsmessage.TypeA, 0),
		mkQuery(f, "seed.example.test.", dnsmessage.TypeAAAA, 0),
		mkQuery(f, "seed.example.test.", dnsmessage.TypeAAAA, 4096),
		mkQuery(f, "x809.seed.example.test.", dnsmessage.TypeA, 0),
		mkQuery(f, "seed.example.test.", dnsmessage.TypeSOA, 0),
		mkQuery(f, "seed.example.test.", dnsmessage.TypeNS, 512),
		mkQuery(f, "example.com.", dnsmessage.TypeA, 0),
		mkQuery(f, "nope.seed.example.test.", dnsmessage.TypeTXT, 0),
		mkQueryDO(f, "seed.example.test.", dnsmessage.TypeA),
		mkQueryDO(f, "x809.seed.example.test.", dnsmessage.TypeAAAA),
		mkQueryDO(f, "nope.seed.example.test.", dnsmessage.TypeA),
		mkQueryDO(f, "seed.example.test.", typeDNSKEY),
		mkQueryDO(f, "x9.seed.example.test.", dnsmessage.TypeALL),
		{0x12, 0x34},
	} {
		f.Add(q, true)
	}
	plain := &responder{zone: testZone(f)}
	plain.set(testSnapshot())
	// The signing path: queries with DO get signatures and denial.
	signed := &responder{zone: testZone(f), keys: testKeys(f, "ED25519")}
	signed.set(testSnapshot())
	f.Fuzz(func(t *testing.T, q []byte, udp bool) {
		if len(q) > maxQuery {
			q = q[:maxQuery] // the listeners never pass more
		}
		for _, r := range []*responder{plain, signed} {
			checkAnswer(t, q, udp, r.answer(q, udp))
		}
	})
}

// checkAnswer holds an answer to FuzzAnswer's bounds.
func checkAnswer(t *testing.T, q []byte, udp bool, msg []byte) {
	if msg == nil {
		return
	}
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		t.Fatalf("answer does not parse: %v", err)
	}
	if len(q) < 2 || h.ID != uint16(q[0])<<8|uint16(q[1]) || !h.Response {
		t.Fatalf("answer header %+v", h)
	}
	if udp {
		limit := udpPlain
		if hasOPT(q) {
			limit = udpEDNS
		}
		if len(msg) > limit {
			t.Fatalf("UDP answer of %d bytes to a %d-byte query exceeds %d", len(msg), len(q), limit)
		}
	}
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("answer does not unpack: %v", err)
	}
	if len(m.Questions) > 1 {
		t.Fatalf("%d questions echoed", len(m.Questions))
	}
	// Errors carry no records; a signed NXDOMAIN carries the SOA,
	// two NSEC and their signatures.
	if h.RCode != dnsmessage.RCodeSuccess && (len(m.Answers) > 0 || len(m.Authorities) > 6) {
		t.Fatalf("%v answer with %d answers, %d authorities", h.RCode, len(m.Answers), len(m.Authorities))
	}
}

// hasOPT reports whether a packet parses to the point of an OPT record.
func hasOPT(q []byte) bool {
	var p dnsmessage.Parser
	if _, err := p.Start(q); err != nil || p.SkipAllQuestions() != nil {
		return false
	}
	_, _, ok := ednsOf(&p)
	return ok
}
