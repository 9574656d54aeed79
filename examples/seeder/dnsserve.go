package main

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"
)

// Limits of the DNS listeners.
const (
	// maxTCPConns caps the TCP connections served at once; more are
	// closed at once, so a flood of idle connections cannot hold
	// descriptors without bound.
	maxTCPConns = 64
	// tcpIdle is how long a TCP connection may wait for its next query.
	tcpIdle = 10 * time.Second
)

// dnsServer serves a responder over UDP and TCP on one address.
type dnsServer struct {
	r   *responder
	log *slog.Logger
	udp net.PacketConn
	tcp net.Listener
	wg  sync.WaitGroup

	hooks dnsHooks

	done chan struct{} // closed by Close: ends a backoff at once

	mu     sync.Mutex
	closed bool // set by Close: a connection accepted since is not served
	conns  map[net.Conn]bool
}

// dnsHooks let tests see into the server's goroutines; nil hooks do nothing.
type dnsHooks struct {
	accepted func() // serveTCP has a connection, not yet tracked
	closed   func() // Close has closed every tracked connection
	// wait replaces the backoff's timer for the "tcp" or "udp" loop; it
	// returns whether to go on.
	wait func(loop string, d time.Duration) bool
}

// listenDNS binds UDP and TCP on addr (port 0: one port free for both).
func listenDNS(addr string, r *responder, log *slog.Logger) (*dnsServer, error) {
	var err error
	for range 5 { // a port free for TCP may be taken for UDP: retry
		var s *dnsServer
		if s, err = tryListen(addr, r, log); err == nil {
			return s, nil
		}
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, err
}

func tryListen(addr string, r *responder, log *slog.Logger) (*dnsServer, error) {
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenPacket("udp", tcp.Addr().String())
	if err != nil {
		tcp.Close()
		return nil, err
	}
	return serveDNS(tcp, udp, r, log, dnsHooks{}), nil
}

// serveDNS serves r on listeners already bound; the server owns them.
func serveDNS(tcp net.Listener, udp net.PacketConn, r *responder, log *slog.Logger, hooks dnsHooks) *dnsServer {
	s := &dnsServer{r: r, log: log, udp: udp, tcp: tcp, hooks: hooks,
		done: make(chan struct{}), conns: make(map[net.Conn]bool)}
	// A reader per CPU: answering is pure computation on the snapshot.
	for range runtime.NumCPU() {
		s.wg.Go(s.serveUDP)
	}
	s.wg.Go(s.serveTCP)
	return s
}

// Addr is the address both listeners are bound to.
func (s *dnsServer) Addr() string { return s.tcp.Addr().String() }

// Close stops both listeners and every connection, and returns when every
// goroutine of the server has exited.
func (s *dnsServer) Close() error {
	err := errors.Join(s.udp.Close(), s.tcp.Close())
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

func (s *dnsServer) serveUDP() {
	buf := make([]byte, maxQuery)
	var delay time.Duration
	for {
		n, from, err := s.udp.ReadFrom(buf)
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
		if msg := s.r.answer(buf[:n], true); msg != nil {
			s.udp.WriteTo(msg, from) // a lost answer is the client's to retry
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
		if len(s.conns) >= maxTCPConns {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn answers queries on one TCP connection until it is idle for
// tcpIdle, sends something that is not a query, or closes.
func (s *dnsServer) serveConn(c net.Conn) {
	var buf [2 + maxQuery]byte
	for {
		c.SetDeadline(time.Now().Add(tcpIdle))
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
		msg := s.r.answer(buf[2:2+n], false)
		if msg == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg)))
		if _, err := c.Write(append(out, msg...)); err != nil {
			return
		}
	}
}
