package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of the DNS listeners.
const (
	// maxTCPConns caps the TCP connections served at once; more are
	// closed at once, so a flood of idle connections cannot hold
	// descriptors without bound.
	maxTCPConns = 64
	// maxTCPPerPrefix caps those of one client prefix (an IPv4 /24, an
	// IPv6 /56, as the rate limit counts them), so that one host cannot
	// take every slot, and with them the TCP retry that a slipped answer
	// asks real clients for.
	maxTCPPerPrefix = 8
	// tcpIdle is how long a TCP connection may wait for its next query,
	// and for the rest of one: a client sending a byte at a time
	// (slowloris) holds a connection no longer.
	tcpIdle = 10 * time.Second
)

// serverCounts are the listeners' figures for the metrics.
type serverCounts struct {
	tcpRefused atomic.Uint64 // connections closed at once: over maxTCPConns or maxTCPPerPrefix
	tcpOpen    atomic.Int64
}

// dnsServer serves a responder over UDP and TCP on one address.
type dnsServer struct {
	r      *responder
	log    *slog.Logger
	udp    []net.PacketConn
	tcp    net.Listener
	wg     sync.WaitGroup
	limit  *rrl          // nil: no rate limit
	counts *serverCounts // never nil
	idle   time.Duration

	hooks dnsHooks

	done chan struct{} // closed by Close: ends a backoff at once

	mu     sync.Mutex
	closed bool // set by Close: a connection accepted since is not served
	conns  map[net.Conn]bool
	// perPrefix counts the tracked connections by client prefix.
	perPrefix map[uint64]int
}

// dnsHooks let tests see into the server's goroutines; nil hooks do nothing.
type dnsHooks struct {
	accepted func() // serveTCP has a connection, not yet tracked
	closed   func() // Close has closed every tracked connection
	// wait replaces the backoff's timer for the "tcp" or "udp" loop; it
	// returns whether to go on.
	wait func(loop string, d time.Duration) bool
}

// dnsOptions are the listeners' settings; the zero value serves without
// a rate limit, with one UDP socket per CPU where the kernel allows it.
type dnsOptions struct {
	limit  *rrl
	counts *serverCounts
	idle   time.Duration // a TCP connection's idle limit; 0: tcpIdle
}

// listenDNS binds UDP and TCP on addr (port 0: one port free for both).
func listenDNS(addr string, r *responder, log *slog.Logger, o dnsOptions) (*dnsServer, error) {
	var err error
	for range 5 { // a port free for TCP may be taken for UDP: retry
		var s *dnsServer
		if s, err = tryListen(addr, r, log, o); err == nil {
			return s, nil
		}
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, err
}

func tryListen(addr string, r *responder, log *slog.Logger, o dnsOptions) (*dnsServer, error) {
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	udp, err := listenUDP(tcp.Addr().String(), runtime.NumCPU())
	if err != nil {
		tcp.Close()
		return nil, err
	}
	s := serveDNS(tcp, udp, r, log, dnsHooks{})
	s.limit = o.limit
	if o.idle > 0 {
		s.idle = o.idle
	}
	if o.counts != nil {
		s.counts = o.counts
	}
	s.start()
	return s, nil
}

// listenUDP binds n UDP sockets to addr with SO_REUSEPORT, for the
// kernel to spread queries over them, one reader each; where the option
// is refused it binds one socket, which serveDNS gives n readers.
func listenUDP(addr string, n int) ([]net.PacketConn, error) {
	lc := net.ListenConfig{Control: reusePort}
	var out []net.PacketConn
	for i := range n {
		c, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil && i == 0 {
			c, err = net.ListenPacket("udp", addr)
			return []net.PacketConn{c}, err
		}
		if err != nil {
			break // the sockets bound so far serve
		}
		out = append(out, c)
	}
	return out, nil
}

// serveDNS makes a server of listeners already bound; it owns them. Its
// goroutines start with start.
func serveDNS(tcp net.Listener, udp []net.PacketConn, r *responder, log *slog.Logger, hooks dnsHooks) *dnsServer {
	return &dnsServer{r: r, log: log, udp: udp, tcp: tcp, hooks: hooks, counts: &serverCounts{}, idle: tcpIdle,
		done: make(chan struct{}), conns: make(map[net.Conn]bool), perPrefix: make(map[uint64]int)}
}

func (s *dnsServer) start() *dnsServer {
	// A reader per socket, or per CPU on a single socket: answering is
	// pure computation on the snapshot.
	readers := 1
	if len(s.udp) == 1 {
		readers = runtime.NumCPU()
	}
	for _, c := range s.udp {
		for range readers {
			s.wg.Go(func() { s.serveUDP(c) })
		}
	}
	s.wg.Go(s.serveTCP)
	return s
}

// Addr is the address both listeners are bound to.
func (s *dnsServer) Addr() string { return s.tcp.Addr().String() }

// Close stops both listeners and every connection, and returns when every
// goroutine of the server has exited.
func (s *dnsServer) Close() error {
	err := s.tcp.Close()
	for _, c := range s.udp {
		err = errors.Join(err, c.Close())
	}
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	if s.hooks.closed != nil {
		s.hooks.closed()
	}
	s.wg.Wait()
	return err
}

// Backoff after a failed read or accept that is not the listener's close
// (e.g. EMFILE), as net/http's Server does: retrying at once would spin.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// backoff is the next pause after one of prev, doubling up to maxBackoff.
func backoff(prev time.Duration) time.Duration {
	return min(max(2*prev, minBackoff), maxBackoff)
}

// pause waits d, or less if the server closes; it reports whether to go on.
func (s *dnsServer) pause(loop string, d time.Duration) bool {
	if s.hooks.wait != nil {
		return s.hooks.wait(loop, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// addrPortConn is a UDP socket that reads and writes without allocating
// an address per packet (*net.UDPConn).
type addrPortConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// serveUDP reads and answers queries on c; its buffers are reused, so a
// query allocates nothing.
func (s *dnsServer) serveUDP(c net.PacketConn) {
	buf := make([]byte, maxQuery)
	out := make([]byte, 0, maxAnswer)
	fast, _ := c.(addrPortConn)
	var delay time.Duration
	for {
		var n int
		var from netip.AddrPort
		var addr net.Addr
		var err error
		if fast != nil {
			n, from, err = fast.ReadFromUDPAddrPort(buf)
		} else if n, addr, err = c.ReadFrom(buf); err == nil {
			from = addr.(*net.UDPAddr).AddrPort()
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = backoff(delay)
			s.log.Warn("dns udp read", "err", err, "retry_in", delay)
			if !s.pause("udp", delay) {
				return
			}
			continue
		}
		delay = 0
		verdict := rrlPass
		if s.limit != nil {
			verdict = s.limit.check(from.Addr(), time.Now())
		}
		if verdict == rrlDrop {
			s.r.note(0, oRateLimited)
			continue
		}
		msg := s.r.respond(out, buf[:n], true, verdict == rrlSlip)
		if msg == nil {
			continue
		}
		// A lost answer is the client's to retry.
		if fast != nil {
			fast.WriteToUDPAddrPort(msg, from)
		} else {
			c.WriteTo(msg, net.UDPAddrFromAddrPort(from))
		}
	}
}

func (s *dnsServer) serveTCP() {
	var delay time.Duration
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = backoff(delay)
			s.log.Warn("dns tcp accept", "err", err, "retry_in", delay)
			if !s.pause("tcp", delay) {
				return
			}
			continue
		}
		delay = 0
		if s.hooks.accepted != nil {
			s.hooks.accepted()
		}
		s.mu.Lock()
		if s.closed {
			// Accepted as Close ran, after it closed the tracked
			// connections: served, it would hold Close for tcpIdle.
			s.mu.Unlock()
			c.Close()
			return
		}
		k := prefixKey(remoteIP(c))
		if len(s.conns) >= maxTCPConns || s.perPrefix[k] >= maxTCPPerPrefix {
			s.mu.Unlock()
			s.counts.tcpRefused.Add(1)
			c.Close()
			continue
		}
		s.conns[c] = true
		s.perPrefix[k]++
		s.mu.Unlock()
		s.counts.tcpOpen.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			if s.perPrefix[k]--; s.perPrefix[k] == 0 {
				delete(s.perPrefix, k)
			}
			s.mu.Unlock()
			s.counts.tcpOpen.Add(-1)
			c.Close()
		}()
	}
}

// serveConn answers queries on one TCP connection until it is idle for
// tcpIdle, takes longer than that to send a query or read an answer,
// sends something that is not a query, or closes.
func (s *dnsServer) serveConn(c net.Conn) {
	var buf [2 + maxQuery]byte
	out := make([]byte, 2, 2+maxAnswer)
	for {
		c.SetDeadline(time.Now().Add(s.idle))
		if _, err := io.ReadFull(c, buf[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(buf[:2]))
		if n > maxQuery {
			return // no real query is that long: do not read it
		}
		if _, err := io.ReadFull(c, buf[2:2+n]); err != nil {
			return
		}
		msg := s.r.respond(out[2:2], buf[2:2+n], false, false)
		if msg == nil {
			return
		}
		binary.BigEndian.PutUint16(out, uint16(len(msg)))
		if _, err := c.Write(out[:2+len(msg)]); err != nil {
			return
		}
	}
}

// remoteIP is the address a TCP connection comes from (the unspecified
// address for another kind of connection, one prefix for all of them).
func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip
		}
	}
	return netip.IPv6Unspecified()
}
