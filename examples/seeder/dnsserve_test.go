package main

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestCloseRacingAccept: a TCP connection accepted while Close runs — after
// Close closed the tracked ones — is closed at once, never served; else Close
// would wait out its idle timeout.
func TestCloseRacingAccept(t *testing.T) {
	t.Parallel()
	r := &responder{zone: testZone(t)}
	r.set(testSnapshot())
	tcp, udp := loopbackListeners(t)
	accepted, closed := make(chan struct{}), make(chan struct{})
	s := serveDNS(tcp, []net.PacketConn{udp}, r, slog.New(slog.DiscardHandler), dnsHooks{
		// Hold the accepted connection until Close has closed the others.
		accepted: func() { close(accepted); <-closed },
		closed:   func() { close(closed) },
	}).start()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer c.Close()
	// A query waits in the connection: served only if the server tracks
	// and reads it.
	q := mkQuery(t, "seed.example.test.", dnsmessage.TypeA, 0)
	c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
	<-accepted
	done := make(chan error, 1)
	go func() { done <- s.Close() }()

	c.SetReadDeadline(time.Now().Add(5 * time.Second)) // a guard against hanging, not a clock
	n, err := io.ReadFull(c, make([]byte, 2))
	if err == nil || n != 0 {
		t.Errorf("the connection accepted during Close was served: read %d bytes, %v", n, err)
	}
	c.Close() // lets Close return even when the server kept the connection
	if err := <-done; err != nil {
		t.Errorf("Close: %v", err)
	}
}

var errTooManyFiles = errors.New("accept: too many open files")

// flakyListener fails Accept with errTooManyFiles fails times, then hands
// out conn (once, when set), fails again after, then reports itself closed.
type flakyListener struct {
	net.Listener
	fails, after int
	conn         net.Conn
}

func (l *flakyListener) Accept() (net.Conn, error) {
	switch {
	case l.fails > 0:
		l.fails--
		return nil, errTooManyFiles
	case l.conn != nil:
		c := l.conn
		l.conn = nil
		return c, nil
	case l.after > 0:
		l.after--
		return nil, errTooManyFiles
	}
	return nil, net.ErrClosed
}

// failingPacketConn fails every read until closed.
type failingPacketConn struct{ net.PacketConn }

func (failingPacketConn) ReadFrom([]byte) (int, net.Addr, error) { return 0, nil, errTooManyFiles }

// TestAcceptAndReadBackoff: failed accepts and reads that are not the
// listener's close pause, from 5 ms doubling to 1 s, back to 5 ms after a
// success, instead of spinning.
func TestAcceptAndReadBackoff(t *testing.T) {
	t.Parallel()
	r := &responder{zone: testZone(t)}
	r.set(testSnapshot())
	tcp, udp := loopbackListeners(t)
	server, client := net.Pipe()
	client.Close() // the served connection ends at once
	var mu sync.Mutex
	var tcpWaits, udpWaits []time.Duration
	s := serveDNS(&flakyListener{Listener: tcp, fails: 10, conn: server, after: 1}, []net.PacketConn{failingPacketConn{udp}},
		r, slog.New(slog.DiscardHandler), dnsHooks{wait: func(loop string, d time.Duration) bool {
			mu.Lock()
			defer mu.Unlock()
			if loop == "tcp" {
				tcpWaits = append(tcpWaits, d)
				return true
			}
			udpWaits = append(udpWaits, d)
			return false // each UDP reader stops at its first pause
		}}).start()
	s.wg.Wait() // the UDP readers stopped at their pause, the TCP loop at ErrClosed
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	ms := time.Millisecond
	want := []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second, 5 * ms}
	if !slices.Equal(tcpWaits, want) {
		t.Errorf("accept pauses %v, want %v", tcpWaits, want)
	}
	if len(udpWaits) != runtime.NumCPU() || slices.ContainsFunc(udpWaits, func(d time.Duration) bool { return d != 5*ms }) {
		t.Errorf("read pauses %v, want 5ms for each of %d readers", udpWaits, runtime.NumCPU())
	}
}

// TestCloseEndsBackoff: Close does not wait out a pause in progress.
func TestCloseEndsBackoff(t *testing.T) {
	t.Parallel()
	r := &responder{zone: testZone(t)}
	tcp, udp := loopbackListeners(t)
	// Both loops fail for ever: only Close ends their pauses.
	s := serveDNS(&flakyListener{Listener: tcp, fails: 1 << 30}, []net.PacketConn{failingPacketConn{udp}}, r, slog.New(slog.DiscardHandler), dnsHooks{}).start()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(30 * time.Second): // a guard against hanging, not a clock
		t.Fatal("Close did not end the loops' pauses")
	}
}

// loopbackListeners binds a TCP and a UDP socket on loopback for serveDNS,
// which closes them.
func loopbackListeners(t *testing.T) (net.Listener, net.PacketConn) {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tcp.Close()
		t.Fatal(err)
	}
	return tcp, udp
}
