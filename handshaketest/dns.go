package handshaketest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS limits of RFC 1035 and RFC 6891.
const (
	dnsUDPMin    = 512   // UDP payload every client accepts
	dnsEDNSSize  = 1232  // payload size we advertise back, the DNS flag day value
	dnsTTL       = 60    // seconds; seeds use short TTLs
	dnsMaxListen = 10    // attempts to find a port free for both UDP and TCP
	dnsMaxMsg    = 65535 // largest message, bounded by TCP's 2-byte length
)

// Seed is a fake DNS seed: an authoritative DNS server on loopback, UDP and
// TCP on the same port, answering A and AAAA queries from a table of names.
// Unknown names get NXDOMAIN; known names without an address of the asked
// type get NOERROR with no answers. A UDP answer too large for the client
// (512 bytes, or its EDNS0 size) is sent empty with the TC bit, so resolvers
// retry over TCP, which answers in full. Its methods are safe for
// concurrent use.
type Seed struct {
	udp net.PacketConn
	tcp net.Listener
	wg  sync.WaitGroup // the two server loops and one goroutine per TCP conn

	closeOnce sync.Once

	mu      sync.Mutex
	records map[string][]netip.Addr // canonical name → addresses
	fails   map[string]dnsmessage.RCode
	queries []string
	conns   map[net.Conn]struct{} // open TCP connections, closed by Close
	closed  bool
}

// NewSeed starts a seed on DefaultAddr's host with a free port, serving
// records (copied; see Set for name rules). Call Close when done.
func NewSeed(records map[string][]netip.Addr) (*Seed, error) {
	return NewSeedAt(DefaultAddr, records)
}

// NewSeedAt starts a seed on addr, a loopback "ip:port"; port 0 picks a port
// free for both UDP and TCP.
func NewSeedAt(addr string, records map[string][]netip.Addr) (*Seed, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("handshaketest: seed address %q is not a loopback ip:port", addr)
	}
	s := &Seed{
		records: make(map[string][]netip.Addr, len(records)),
		fails:   make(map[string]dnsmessage.RCode),
		conns:   make(map[net.Conn]struct{}),
	}
	for name, addrs := range records {
		s.Set(name, addrs)
	}
	if err := s.listen(ap); err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

// listen binds UDP, then TCP on the same port. With port 0 the UDP port may
// be taken for TCP, so it retries with another.
func (s *Seed) listen(ap netip.AddrPort) error {
	var lastErr error
	for range dnsMaxListen {
		udp, err := net.ListenPacket("udp", ap.String())
		if err != nil {
			return err
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", netip.AddrPortFrom(ap.Addr(), uint16(port)).String())
		if err == nil {
			s.udp, s.tcp = udp, tcp
			return nil
		}
		udp.Close()
		if ap.Port() != 0 {
			return err
		}
		lastErr = err
	}
	return fmt.Errorf("handshaketest: no port free for both UDP and TCP: %w", lastErr)
}

// canonical is the form names are stored and reported in: lower case with
// the trailing dot.
func canonical(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// Addr returns the address the seed serves on, e.g. "127.0.0.1:53535",
// the same for UDP and TCP.
func (s *Seed) Addr() string { return s.udp.LocalAddr().String() }

// Set adds or replaces name's addresses; addrs is copied. Names are
// case-insensitive and the trailing dot is optional. IPv4 (and
// IPv4-mapped) addresses answer A queries, IPv6 ones AAAA queries. An empty
// addrs makes name exist without addresses.
func (s *Seed) Set(name string, addrs []netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[canonical(name)] = slices.Clone(addrs)
}

// Records returns a copy of name's addresses, nil for an unknown name.
func (s *Seed) Records(name string) []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records[canonical(name)])
}

// Fail makes every query for name answer with rcode and no records, e.g.
// dnsmessage.RCodeServerFailure. dnsmessage.RCodeSuccess undoes it. It
// panics on an rcode that needs EDNS0 (above 15), a bug in the caller.
func (s *Seed) Fail(name string, rcode dnsmessage.RCode) {
	if rcode > 15 {
		panic(fmt.Sprintf("handshaketest: Seed.Fail: rcode %d does not fit the header", rcode))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dnsmessage.RCodeSuccess {
		delete(s.fails, canonical(name))
		return
	}
	s.fails[canonical(name)] = rcode
}

// Queries returns the names asked so far, over UDP and TCP, in order:
// lower case with the trailing dot, e.g. "x9.seed.example.". Resolvers
// retry, so a lookup may appear more than once.
func (s *Seed) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// Resolver returns a pure-Go resolver that sends every query to this seed,
// whatever server the system configuration names.
func (s *Seed) Resolver() *net.Resolver {
	addr := s.Addr()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// Close stops both listeners, closes open TCP connections and returns once
// every goroutine of the seed has exited.
func (s *Seed) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		err = errors.Join(s.udp.Close(), s.tcp.Close())
		s.wg.Wait()
	})
	return err
}

func (s *Seed) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, dnsMaxMsg)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue // e.g. a truncated datagram; the socket is still fine
		}
		if resp := s.answer(buf[:n], true); resp != nil {
			_, _ = s.udp.WriteTo(resp, from) // a lost reply is the client's retry
		}
	}
}

func (s *Seed) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1) // safe: this goroutine is itself counted
		go s.serveTCPConn(c)
	}
}

// serveTCPConn answers length-prefixed queries (RFC 1035 4.2.2) until the
// client closes.
func (s *Seed) serveTCPConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	var lenBuf [2]byte
	for {
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		resp := s.answer(query, false)
		if resp == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

// answer builds the response to query, or nil when query is too broken to
// answer. Over UDP an answer larger than the client accepts is replaced by
// an empty truncated one.
func (s *Seed) answer(query []byte, overUDP bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil
	}
	resp := dnsmessage.Header{
		ID:                 h.ID,
		Response:           true,
		OpCode:             h.OpCode,
		Authoritative:      true, // else Go's resolver takes NOERROR/no-data for a lame referral
		RecursionDesired:   h.RecursionDesired,
		RecursionAvailable: true,
	}
	q, err := p.Question()
	if err != nil {
		resp.RCode = dnsmessage.RCodeFormatError
		msg, _ := build(resp, nil, nil, false)
		return msg
	}
	limit, edns := clientLimit(&p)
	rcode, addrs := s.lookup(canonical(q.Name.String()))
	resp.RCode = rcode
	msg, err := build(resp, &q, matching(addrs, q.Type), edns)
	switch {
	case err != nil:
		resp.RCode = dnsmessage.RCodeServerFailure // too many addresses even for TCP
	case overUDP && len(msg) > limit:
		resp.Truncated = true
	default:
		return msg
	}
	msg, _ = build(resp, &q, nil, edns) // header, question and OPT always fit
	return msg
}

// clientLimit reads the EDNS0 OPT record, if any, for the UDP payload size
// the client accepts.
func clientLimit(p *dnsmessage.Parser) (limit int, edns bool) {
	limit = dnsUDPMin
	if p.SkipAllQuestions() != nil || p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return limit, false
	}
	for {
		rh, err := p.AdditionalHeader()
		if err != nil {
			return limit, edns
		}
		if rh.Type == dnsmessage.TypeOPT {
			edns = true
			limit = max(limit, int(rh.Class)) // an OPT's class is its UDP size
		}
		if p.SkipAdditional() != nil {
			return limit, edns
		}
	}
}

// lookup returns the rcode and addresses for name, recording the query.
func (s *Seed) lookup(name string) (dnsmessage.RCode, []netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, name)
	if rcode, ok := s.fails[name]; ok {
		return rcode, nil
	}
	addrs, ok := s.records[name]
	if !ok {
		return dnsmessage.RCodeNameError, nil
	}
	return dnsmessage.RCodeSuccess, addrs
}

// matching keeps the addresses that answer a query of type t.
func matching(addrs []netip.Addr, t dnsmessage.Type) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if (a.Is4() && (t == dnsmessage.TypeA || t == dnsmessage.TypeALL)) ||
			(a.Is6() && (t == dnsmessage.TypeAAAA || t == dnsmessage.TypeALL)) {
			out = append(out, a)
		}
	}
	return out
}

// build packs a response echoing q (when known) with one A or AAAA record
// per address, plus an OPT record when the client used EDNS0. It fails only
// when the answer exceeds a DNS message (about 2,300 AAAA records).
func build(h dnsmessage.Header, q *dnsmessage.Question, addrs []netip.Addr, edns bool) ([]byte, error) {
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if q != nil {
		if err := b.Question(*q); err != nil {
			return nil, err
		}
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: dnsTTL}
		for _, a := range addrs {
			var err error
			if a.Is4() {
				err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
			} else {
				err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if edns {
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(dnsEDNSSize, dnsmessage.RCodeSuccess, false); err != nil {
			return nil, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return nil, err
		}
	}
	msg, err := b.Finish()
	if len(msg) > dnsMaxMsg {
		return nil, errors.New("handshaketest: DNS answer larger than 65535 bytes")
	}
	return msg, err
}
