package main

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestHugeEDNS: a query claiming a 65,535-byte EDNS buffer, signed or
// not, gets at most udpEDNS bytes over UDP, whatever it asks.
func TestHugeEDNS(t *testing.T) {
	t.Parallel()
	for _, signed := range []bool{false, true} {
		r := &responder{zone: testZone(t)}
		if signed {
			r.keys = testKeys(t, "ECDSAP256SHA256")
		}
		r.set(newSnapshot(benchNodes(false), time.Now()))
		for _, q := range [][]byte{
			mkQuery(t, "seed.example.test.", dnsmessage.TypeAAAA, 65535),
			mkQuery(t, "x809.seed.example.test.", dnsmessage.TypeAAAA, 65535),
			mkQueryDO(t, "seed.example.test.", dnsmessage.TypeAAAA),
			mkQueryDO(t, "nope.seed.example.test.", dnsmessage.TypeA),
		} {
			binary.BigEndian.PutUint16(q[len(q)-11+3:], 65535) // the OPT's class: its size
			msg := r.answer(q, true)
			if len(msg) == 0 || len(msg) > udpEDNS {
				t.Errorf("signed=%v: answer of %d bytes", signed, len(msg))
			}
		}
	}
}

// TestSlowTCPClients: connections that send half a frame, or drip a query
// a byte at a time, or fill every TCP slot, are closed after the idle
// limit; meanwhile UDP is answered at once, and TCP again once they go.
func TestSlowTCPClients(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	m := newMetrics()
	r := &responder{zone: testZone(t), count: &m.dns}
	r.set(testSnapshot())
	s, err := listenDNS("127.0.0.1:0", r, slog.New(slog.DiscardHandler), dnsOptions{counts: &m.server, idle: idle})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := mkQuery(t, "seed.example.test.", dnsmessage.TypeSOA, 0)
	frame := append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)

	// Every slot taken: half a frame on each.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for i := range maxTCPConns {
		c, err := dialFrom(s.Addr(), 10+i/maxTCPPerPrefix)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(frame[:len(frame)/2])
		conns = append(conns, c)
	}
	// One more, dripping its query a byte per 20 ms: over ten times the
	// idle limit in all. It may find the slots full (closed at once) or
	// be served, and cut at the idle limit; never answered.
	drip, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer drip.Close()
	dripDone := make(chan error, 1)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := range frame {
			if _, err := drip.Write(frame[i : i+1]); err != nil {
				dripDone <- nil // cut off
				return
			}
			<-tick.C
		}
		drip.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := drip.Read(make([]byte, 1))
		if err == nil {
			err = io.ErrUnexpectedEOF
		} else if err == io.EOF {
			err = nil
		}
		dripDone <- err
	}()
	// UDP is answered while TCP is full.
	if m, _ := query(t, "udp", s.Addr(), q); m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 1 {
		t.Errorf("UDP while TCP is full: %v, %d answers", m.RCode, len(m.Answers))
	}
	// The half frames are cut at the idle limit: EOF, in bounded time.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("half-frame connection %d: %v, want EOF", i, err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("half frames held for %v", d)
	}
	if err := <-dripDone; err != nil {
		t.Errorf("dripping client: %v, want cut off", err)
	}
	// TCP serves again.
	if m, _ := query(t, "tcp", s.Addr(), q); m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 1 {
		t.Errorf("TCP after the slow clients: %v, %d answers", m.RCode, len(m.Answers))
	}
}
