package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// testZone is the zone the DNS tests serve.
func testZone(t testing.TB) zone {
	z, err := dnsName("Seed.Example.Test")
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := dnsName("ns.example.test")
	mbox, _ := dnsName("hostmaster.example.test")
	return zone{name: z, ns: ns, mbox: mbox, ttl: DefaultTTL, answers: DefaultAnswers}
}

// testSnapshot holds 40 IPv4 nodes over 20 netgroups, the two of each
// group side by side (so only the netgroup rule spreads a sample), 40 IPv6
// nodes, of
// which the odd ones speak v2 (NODE_P2P_V2, bit 11) and every third is
// pruned (NODE_NETWORK_LIMITED only).
func testSnapshot() *snapshot {
	var good []entry
	for i := range 40 {
		svc := uint64(1 | 8 | 1024)
		if i%2 == 1 {
			svc |= 1 << 11
		}
		if i%3 == 0 {
			svc = 8 | 1024
		}
		good = append(good,
			entry{ip: netip.AddrFrom4([4]byte{203, byte(i / 2), byte(i), 1}), services: svc},
			entry{ip: netip.MustParseAddr(fmt.Sprintf("2001:db8::%x:%x", i%6, i)), services: svc})
	}
	return newSnapshot(good, time.Unix(1795980000, 0))
}

// startDNS serves the test snapshot on a free loopback port.
func startDNS(t *testing.T) (*dnsServer, *responder, map[netip.Addr]uint64) {
	t.Helper()
	r := &responder{zone: testZone(t)}
	snap := testSnapshot()
	r.set(snap)
	svc := make(map[netip.Addr]uint64)
	for _, e := range append(slices.Clone(snap.v4), snap.v6...) {
		svc[e.ip] = e.services
	}
	s, err := listenDNS("127.0.0.1:0", r, slog.New(slog.DiscardHandler), dnsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, r, svc
}

func TestResolverAAndAAAA(t *testing.T) {
	t.Parallel()
	s, _, svc := startDNS(t)
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		network string
		v6      bool
	}{{"ip4", false}, {"ip6", true}} {
		// AAAA answers exceed 512 bytes: Go's resolver gets a truncated
		// answer over UDP and asks again over TCP.
		ips, err := res.LookupNetIP(ctx, c.network, "seed.example.test")
		if err != nil {
			t.Fatalf("%s: %v", c.network, err)
		}
		if len(ips) != DefaultAnswers {
			t.Errorf("%s: %d addresses, want %d", c.network, len(ips), DefaultAnswers)
		}
		for _, ip := range ips {
			if _, ok := svc[ip.Unmap()]; !ok || ip.Unmap().Is4() == c.v6 {
				t.Errorf("%s: answered %v, not a good node of that family", c.network, ip)
			}
		}
	}
}

// query sends one raw query over network (udp or tcp) and parses the answer.
func query(t *testing.T, network, addr string, q []byte) (dnsmessage.Message, int) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var raw []byte
	if network == "udp" {
		if _, err := c.Write(q); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		raw = buf[:n]
	} else {
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(q)))); err != nil {
			t.Fatal(err)
		}
		c.Write(q)
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		raw = make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, raw); err != nil {
			t.Fatal(err)
		}
	}
	var m dnsmessage.Message
	if err := m.Unpack(raw); err != nil {
		t.Fatalf("unpack: %v", err)
	}
	return m, len(raw)
}

func mkQuery(t testing.TB, name string, qt dnsmessage.Type, edns uint16) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x1234, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qt, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	if edns > 0 {
		b.StartAdditionals()
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(int(edns), dnsmessage.RCodeSuccess, false)
		b.OPTResource(rh, dnsmessage.OPTResource{})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestRawQueries(t *testing.T) {
	t.Parallel()
	s, _, svc := startDNS(t)
	soa := func(m dnsmessage.Message) bool {
		return len(m.Authorities) == 1 && m.Authorities[0].Header.Type == dnsmessage.TypeSOA
	}
	cases := []struct {
		name    string
		qname   string
		qtype   dnsmessage.Type
		net     string
		edns    uint16
		rcode   dnsmessage.RCode
		answers int // -1: do not check
		check   func(t *testing.T, m dnsmessage.Message)
	}{
		{name: "x809 wants NETWORK|WITNESS|P2P_V2", qname: "x809.seed.example.test.", qtype: dnsmessage.TypeA, net: "udp",
			rcode: dnsmessage.RCodeSuccess, answers: -1, check: func(t *testing.T, m dnsmessage.Message) {
				if len(m.Answers) == 0 {
					t.Fatal("no answers")
				}
				for _, a := range m.Answers {
					ip := netip.AddrFrom4(a.Body.(*dnsmessage.AResource).A)
					if svc[ip]&0x809 != 0x809 {
						t.Errorf("%v has services %x, lacks 0x809", ip, svc[ip])
					}
				}
			}},
		{name: "upper-case x and zone", qname: "X9.SEED.example.TEST.", qtype: dnsmessage.TypeA, net: "udp", rcode: dnsmessage.RCodeSuccess, answers: -1,
			check: func(t *testing.T, m dnsmessage.Message) {
				if len(m.Answers) == 0 {
					t.Error("no answers")
				}
			}},
		{name: "bits nobody has: NODATA with SOA", qname: "x5.seed.example.test.", qtype: dnsmessage.TypeA, net: "udp",
			rcode: dnsmessage.RCodeSuccess, answers: 0, check: func(t *testing.T, m dnsmessage.Message) {
				if !soa(m) {
					t.Error("no SOA in authority")
				}
			}},
		{name: "bits no filter serves: NXDOMAIN", qname: "x100000.seed.example.test.", qtype: dnsmessage.TypeA, net: "udp",
			rcode: dnsmessage.RCodeNameError, answers: 0, check: func(t *testing.T, m dnsmessage.Message) {
				if !soa(m) {
					t.Error("no SOA in authority")
				}
			}},
		{name: "NS at the apex", qname: "seed.example.test.", qtype: dnsmessage.TypeNS, net: "udp", rcode: dnsmessage.RCodeSuccess, answers: 1,
			check: func(t *testing.T, m dnsmessage.Message) {
				if ns := m.Answers[0].Body.(*dnsmessage.NSResource).NS.String(); ns != "ns.example.test." {
					t.Errorf("NS %s", ns)
				}
			}},
		{name: "SOA at the apex", qname: "seed.example.test.", qtype: dnsmessage.TypeSOA, net: "tcp", rcode: dnsmessage.RCodeSuccess, answers: 1,
			check: func(t *testing.T, m dnsmessage.Message) {
				soa := m.Answers[0].Body.(*dnsmessage.SOAResource)
				if soa.NS.String() != "ns.example.test." || soa.MBox.String() != "hostmaster.example.test." || soa.Serial != 1795980000 || soa.MinTTL != DefaultTTL {
					t.Errorf("SOA %+v", soa)
				}
			}},
		{name: "outside the zone: REFUSED", qname: "example.com.", qtype: dnsmessage.TypeA, net: "udp", rcode: dnsmessage.RCodeRefused, answers: 0},
		{name: "a suffix that is not a label: REFUSED", qname: "badseed.example.test.", qtype: dnsmessage.TypeA, net: "udp", rcode: dnsmessage.RCodeRefused, answers: 0},
		{name: "other name in the zone: NXDOMAIN", qname: "www.seed.example.test.", qtype: dnsmessage.TypeA, net: "udp", rcode: dnsmessage.RCodeNameError, answers: 0,
			check: func(t *testing.T, m dnsmessage.Message) {
				if !soa(m) {
					t.Error("no SOA in authority")
				}
			}},
		{name: "x with a bad hex: NXDOMAIN", qname: "xzz.seed.example.test.", qtype: dnsmessage.TypeA, net: "udp", rcode: dnsmessage.RCodeNameError, answers: 0},
		{name: "two labels under x: NXDOMAIN", qname: "a.x9.seed.example.test.", qtype: dnsmessage.TypeA, net: "udp", rcode: dnsmessage.RCodeNameError, answers: 0},
		{name: "AAAA over UDP without EDNS: truncated", qname: "seed.example.test.", qtype: dnsmessage.TypeAAAA, net: "udp", rcode: dnsmessage.RCodeSuccess, answers: 0,
			check: func(t *testing.T, m dnsmessage.Message) {
				if !m.Truncated {
					t.Error("TC not set")
				}
			}},
		{name: "AAAA over TCP: whole", qname: "seed.example.test.", qtype: dnsmessage.TypeAAAA, net: "tcp", rcode: dnsmessage.RCodeSuccess, answers: DefaultAnswers},
		{name: "AAAA over UDP with EDNS 1232: whole", qname: "seed.example.test.", qtype: dnsmessage.TypeAAAA, net: "udp", edns: 1232, rcode: dnsmessage.RCodeSuccess, answers: DefaultAnswers},
		{name: "A over UDP: whole, one per netgroup", qname: "seed.example.test.", qtype: dnsmessage.TypeA, net: "udp", rcode: dnsmessage.RCodeSuccess, answers: DefaultAnswers,
			check: func(t *testing.T, m dnsmessage.Message) {
				groups := map[byte]int{}
				for _, a := range m.Answers {
					groups[a.Body.(*dnsmessage.AResource).A[1]]++
					if a.Header.TTL != DefaultTTL {
						t.Errorf("TTL %d", a.Header.TTL)
					}
				}
				if len(groups) != 20 { // 20 netgroups: all of them before any repeats
					t.Errorf("%d netgroups in %d answers, want 20", len(groups), len(m.Answers))
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, _ := query(t, c.net, s.Addr(), mkQuery(t, c.qname, c.qtype, c.edns))
			if m.ID != 0x1234 || !m.Response {
				t.Errorf("header %+v", m.Header)
			}
			if m.RCode != c.rcode {
				t.Errorf("rcode %v, want %v", m.RCode, c.rcode)
			}
			if c.answers >= 0 && len(m.Answers) != c.answers {
				t.Errorf("%d answers, want %d", len(m.Answers), c.answers)
			}
			if len(m.Questions) != 1 || m.Questions[0].Type != c.qtype {
				t.Errorf("question not echoed: %+v", m.Questions)
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}

// TestTCPLimits: a TCP client claiming a huge query is hung up on without
// the server reading (or allocating) it.
func TestTCPLimits(t *testing.T) {
	t.Parallel()
	s, _, _ := startDNS(t)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{0xff, 0xff})
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read after a 65535-byte claim: %v, want EOF", err)
	}
}

// TestSnapshotSwap: answers follow the snapshot swapped in.
func TestSnapshotSwap(t *testing.T) {
	t.Parallel()
	s, r, _ := startDNS(t)
	only := netip.MustParseAddr("198.51.100.7")
	r.set(newSnapshot([]entry{{ip: only, services: 1}}, time.Now()))
	m, _ := query(t, "udp", s.Addr(), mkQuery(t, "seed.example.test.", dnsmessage.TypeA, 0))
	if len(m.Answers) != 1 || netip.AddrFrom4(m.Answers[0].Body.(*dnsmessage.AResource).A) != only {
		t.Errorf("answers %+v", m.Answers)
	}
}

// TestTCPConnectionCap: past maxTCPConns open connections, a new one is
// closed at once, and served again once one leaves.
func TestTCPConnectionCap(t *testing.T) {
	t.Parallel()
	s, _, _ := startDNS(t)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range maxTCPConns {
		c, err := dialFrom(s.Addr(), 10+i/maxTCPPerPrefix) // as many prefixes as it takes
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Each of those is served: one query on the last proves the server
	// has taken them all.
	last := conns[len(conns)-1]
	q := mkQuery(t, "seed.example.test.", dnsmessage.TypeSOA, 0)
	last.SetDeadline(time.Now().Add(5 * time.Second))
	last.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
	if _, err := io.ReadFull(last, make([]byte, 2)); err != nil {
		t.Fatalf("connection %d not served: %v", maxTCPConns, err)
	}
	extra, err := dialFrom(s.Addr(), 200) // a prefix of its own
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("connection %d: %v, want EOF", maxTCPConns+1, err)
	}
}

// TestTCPPrefixCap: one client prefix gets maxTCPPerPrefix connections,
// the next is closed at once, and a client of another prefix is served
// meanwhile.
func TestTCPPrefixCap(t *testing.T) {
	t.Parallel()
	s, _, _ := startDNS(t)
	q := mkQuery(t, "seed.example.test.", dnsmessage.TypeSOA, 0)
	frame := append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)
	served := func(c net.Conn) error {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(frame)
		_, err := io.ReadFull(c, make([]byte, 2))
		return err
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range maxTCPPerPrefix + 1 {
		c, err := dialFrom(s.Addr(), 7) // 127.0.7.1, one /24
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		err = served(c)
		if i < maxTCPPerPrefix && err != nil {
			t.Fatalf("connection %d of the prefix not served: %v", i+1, err)
		}
		if i == maxTCPPerPrefix && err == nil {
			t.Errorf("connection %d of one prefix served, want it closed", i+1)
		}
	}
	other, err := dialFrom(s.Addr(), 8)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := served(other); err != nil {
		t.Errorf("another prefix's client: %v, want an answer", err)
	}
}

// dialFrom connects to addr over TCP from 127.0.prefix.1, a client of
// IPv4 /24 number prefix.
func dialFrom(addr string, prefix int) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(prefix), 1)}}
	return d.Dial("tcp", addr)
}

// TestFormErrAndNotImp: two questions, or an opcode other than QUERY.
func TestFormErrAndNotImp(t *testing.T) {
	t.Parallel()
	r := &responder{zone: testZone(t)}
	r.set(testSnapshot())
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7})
	b.StartQuestions()
	for range 2 {
		b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("seed.example.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	}
	two, _ := b.Finish()
	notify := mkQuery(t, "seed.example.test.", dnsmessage.TypeSOA, 0)
	notify[2] |= 4 << 3 // opcode 4, NOTIFY
	for _, c := range []struct {
		name  string
		q     []byte
		rcode dnsmessage.RCode
	}{{"two questions", two, dnsmessage.RCodeFormatError}, {"NOTIFY", notify, dnsmessage.RCodeNotImplemented}} {
		var m dnsmessage.Message
		if err := m.Unpack(r.answer(c.q, true)); err != nil || m.RCode != c.rcode || len(m.Answers) != 0 {
			t.Errorf("%s: %v, %v, %d answers", c.name, err, m.RCode, len(m.Answers))
		}
	}
	if r.answer([]byte{1, 2, 3}, true) != nil {
		t.Error("answered a 3-byte packet")
	}
}

// TestQueryTCBitNotEchoed: a query with the TC bit set gets a complete
// answer without it, since TC would send the client to retry over TCP;
// only an answer cut to fit UDP carries TC.
func TestQueryTCBitNotEchoed(t *testing.T) {
	t.Parallel()
	s, _, _ := startDNS(t)
	for _, c := range []struct {
		name, net, qname string
		qtype            dnsmessage.Type
		truncated        bool
	}{
		{"A over UDP", "udp", "seed.example.test.", dnsmessage.TypeA, false},
		{"AAAA over TCP", "tcp", "seed.example.test.", dnsmessage.TypeAAAA, false},
		{"NXDOMAIN", "udp", "www.seed.example.test.", dnsmessage.TypeA, false},
		{"REFUSED", "udp", "example.com.", dnsmessage.TypeA, false},
		{"AAAA over UDP without EDNS", "udp", "seed.example.test.", dnsmessage.TypeAAAA, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := mkQuery(t, c.qname, c.qtype, 0)
			q[2] |= 0x02 // TC, in the header's flags
			m, _ := query(t, c.net, s.Addr(), q)
			if m.Truncated != c.truncated {
				t.Errorf("TC %v, want %v (%d answers, rcode %v)", m.Truncated, c.truncated, len(m.Answers), m.RCode)
			}
		})
	}
}
