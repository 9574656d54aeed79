package handshaketest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func startSeed(t *testing.T, records map[string][]netip.Addr) *Seed {
	t.Helper()
	s, err := NewSeed(records)
	if err != nil {
		t.Fatalf("NewSeed: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// manyAddrs returns n distinct IPv4 addresses.
func manyAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	return out
}

func sorted(a []netip.Addr) []netip.Addr {
	a = slices.Clone(a)
	slices.SortFunc(a, netip.Addr.Compare)
	return a
}

func TestSeedLookup(t *testing.T) {
	t.Parallel()
	v4a, v4b := netip.MustParseAddr("1.2.3.4"), netip.MustParseAddr("5.6.7.8")
	v6 := netip.MustParseAddr("2001:db8::1")
	mapped := netip.MustParseAddr("::ffff:9.9.9.9")
	s := startSeed(t, map[string][]netip.Addr{"Seed.Example": {v4a, v6, v4b, mapped}})
	r := s.Resolver()
	ctx := testContext(t)
	tests := []struct {
		network, host string
		want          []netip.Addr
	}{
		{"ip4", "seed.example.", []netip.Addr{v4a, v4b, mapped.Unmap()}},
		{"ip6", "SEED.example.", []netip.Addr{v6}},
		{"ip", "seed.EXAMPLE.", []netip.Addr{v4a, v4b, mapped.Unmap(), v6}},
	}
	for _, tt := range tests {
		got, err := r.LookupNetIP(ctx, tt.network, tt.host)
		if err != nil {
			t.Fatalf("LookupNetIP(%s, %s): %v", tt.network, tt.host, err)
		}
		if !slices.Equal(sorted(got), sorted(tt.want)) {
			t.Errorf("LookupNetIP(%s, %s) = %v, want %v", tt.network, tt.host, got, tt.want)
		}
	}
	for _, q := range s.Queries() {
		if q != "seed.example." {
			t.Errorf("query recorded as %q", q)
		}
	}
}

func TestSeedManyAddressesFallBackToTCP(t *testing.T) {
	t.Parallel()
	want := manyAddrs(500)
	s := startSeed(t, map[string][]netip.Addr{"seed.example.": want})
	got, err := s.Resolver().LookupNetIP(testContext(t), "ip4", "seed.example.")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sorted(got), want) {
		t.Errorf("got %d addresses, want 500", len(got))
	}
}

func TestSeedTruncatesOverUDP(t *testing.T) {
	t.Parallel()
	s := startSeed(t, map[string][]netip.Addr{"big.example.": manyAddrs(500), "small.example.": manyAddrs(3)})
	for _, tt := range []struct {
		name      string
		edns      int // 0: no OPT record
		truncated bool
		answers   int
	}{
		{"big.example.", 0, true, 0},
		{"big.example.", 1232, true, 0},
		{"small.example.", 0, false, 3},
		{"small.example.", 1232, false, 3},
	} {
		h, answers := queryUDP(t, s, tt.name, dnsmessage.TypeA, tt.edns)
		if h.Truncated != tt.truncated || len(answers) != tt.answers || h.RCode != dnsmessage.RCodeSuccess {
			t.Errorf("%s EDNS %d: TC %v, %d answers, %v", tt.name, tt.edns, h.Truncated, len(answers), h.RCode)
		}
	}
	h, answers := queryTCP(t, s, "big.example.", dnsmessage.TypeA)
	if h.Truncated || len(answers) != 500 {
		t.Errorf("TCP: TC %v, %d answers", h.Truncated, len(answers))
	}
	// 65 IPv4 answers fit 1232 bytes but not 512.
	s.Set("mid.example", manyAddrs(65))
	if h, _ := queryUDP(t, s, "mid.example.", dnsmessage.TypeA, 0); !h.Truncated {
		t.Error("65 answers fit in 512 bytes?")
	}
	if h, a := queryUDP(t, s, "mid.example.", dnsmessage.TypeA, 1232); h.Truncated || len(a) != 65 {
		t.Errorf("EDNS 1232: TC %v, %d answers", h.Truncated, len(a))
	}
}

func TestSeedRCodes(t *testing.T) {
	t.Parallel()
	s := startSeed(t, map[string][]netip.Addr{
		"v4only.example.": {netip.MustParseAddr("1.2.3.4")},
		"bad.example.":    {netip.MustParseAddr("1.2.3.4")},
	})
	s.Fail("BAD.example", dnsmessage.RCodeServerFailure)
	for _, tt := range []struct {
		name  string
		qtype dnsmessage.Type
		rcode dnsmessage.RCode
	}{
		{"nope.example.", dnsmessage.TypeA, dnsmessage.RCodeNameError},
		{"v4only.example.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess},
		{"v4only.example.", dnsmessage.TypeTXT, dnsmessage.RCodeSuccess},
		{"bad.example.", dnsmessage.TypeA, dnsmessage.RCodeServerFailure},
	} {
		h, answers := queryUDP(t, s, tt.name, tt.qtype, 0)
		if h.RCode != tt.rcode || len(answers) != 0 {
			t.Errorf("%s %v: %v with %d answers, want %v", tt.name, tt.qtype, h.RCode, len(answers), tt.rcode)
		}
	}

	r := s.Resolver()
	ctx := testContext(t)
	var dnsErr *net.DNSError
	_, err := r.LookupNetIP(ctx, "ip4", "nope.example.")
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("unknown name: %v, want NXDOMAIN", err)
	}
	_, err = r.LookupNetIP(ctx, "ip4", "bad.example.")
	if !errors.As(err, &dnsErr) || dnsErr.IsNotFound || !dnsErr.IsTemporary {
		t.Errorf("failing name: %v, want SERVFAIL", err)
	}
	s.Fail("bad.example.", dnsmessage.RCodeSuccess)
	if _, err := r.LookupNetIP(ctx, "ip4", "bad.example."); err != nil {
		t.Errorf("after clearing the failure: %v", err)
	}
}

func TestSeedQueriesAndSet(t *testing.T) {
	t.Parallel()
	s := startSeed(t, nil)
	r := s.Resolver()
	ctx := testContext(t)
	s.Set("X9.Seed.Example", []netip.Addr{netip.MustParseAddr("1.1.1.1")})
	s.Set("x9.seed.example.", []netip.Addr{netip.MustParseAddr("2.2.2.2")}) // replaces
	got, err := r.LookupNetIP(ctx, "ip4", "x9.SEED.example.")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("2.2.2.2") {
		t.Errorf("LookupNetIP = %v, %v", got, err)
	}
	if !slices.Contains(s.Queries(), "x9.seed.example.") {
		t.Errorf("Queries() = %q", s.Queries())
	}
}

func TestSeedRejectsNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:53", "localhost:0"} {
		if s, err := NewSeedAt(addr, nil); err == nil {
			s.Close()
			t.Errorf("NewSeedAt(%s) succeeded", addr)
		}
	}
}

// query builds a DNS query, with an EDNS0 OPT record advertising edns
// bytes unless edns is 0.
func query(t *testing.T, name string, qtype dnsmessage.Type, edns int) (uint16, []byte) {
	t.Helper()
	id := uint16(time.Now().UnixNano())
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET})
	if edns > 0 {
		b.StartAdditionals()
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(edns, dnsmessage.RCodeSuccess, false)
		b.OPTResource(rh, dnsmessage.OPTResource{})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return id, msg
}

// parseAnswer checks a response's ID and question and returns its header
// and answers.
func parseAnswer(t *testing.T, id uint16, name string, qtype dnsmessage.Type, resp []byte) (dnsmessage.Header, []dnsmessage.Resource) {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		t.Fatalf("unpacking answer: %v", err)
	}
	if m.ID != id || !m.Response || len(m.Questions) != 1 ||
		m.Questions[0].Name.String() != name || m.Questions[0].Type != qtype {
		t.Fatalf("answer %+v does not match query %d %s %v", m.Header, id, name, qtype)
	}
	return m.Header, m.Answers
}

func queryUDP(t *testing.T, s *Seed, name string, qtype dnsmessage.Type, edns int) (dnsmessage.Header, []dnsmessage.Resource) {
	t.Helper()
	c, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	id, msg := query(t, name, qtype, edns)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if limit := max(512, edns); n > limit {
		t.Errorf("%d-byte UDP answer, client accepts %d", n, limit)
	}
	return parseAnswer(t, id, name, qtype, buf[:n])
}

func queryTCP(t *testing.T, s *Seed, name string, qtype dnsmessage.Type) (dnsmessage.Header, []dnsmessage.Resource) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	id, msg := query(t, name, qtype, 0)
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)); err != nil {
		t.Fatal(err)
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	return parseAnswer(t, id, name, qtype, resp)
}

func TestSeedCloseWithOpenTCPConnection(t *testing.T) {
	t.Parallel()
	s, err := NewSeedAt("127.0.0.4:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queryTCP(t, s, "any.example.", dnsmessage.TypeA) // a served connection, then an idle one
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close blocked on an idle TCP connection")
	}
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Close")
	}
}
