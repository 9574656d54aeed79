package handshaketest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestProxyCloseWhileBusy: Close returns soon with a SOCKS5 request waiting
// out its circuit delay and a SAM session open, and leaves no goroutine
// behind (TestMain checks).
func TestProxyCloseWhileBusy(t *testing.T) {
	t.Parallel()
	p, err := handshaketest.NewProxy(handshaketest.ProxyConfig{Delay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	socks, err := net.Dial("tcp", p.SOCKSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer socks.Close()
	name := handshaketest.OnionName(1)
	req := append([]byte{5, 1, 0, 5, 1, 0, 3, byte(len(name))}, name...)
	socks.Write(append(req, 0x20, 0x8d))
	var greet [2]byte
	if _, err := socks.Read(greet[:]); err != nil || greet != [2]byte{5, 0} {
		t.Fatalf("greeting answered %v, %v", greet, err)
	}

	sam, err := net.Dial("tcp", p.SAMAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer sam.Close()
	r := bufio.NewReader(sam)
	for _, line := range []string{"HELLO VERSION MIN=3.1 MAX=3.1", "SESSION CREATE STYLE=STREAM ID=x DESTINATION=TRANSIENT"} {
		sam.Write([]byte(line + "\n"))
		reply, err := r.ReadString('\n')
		if err != nil || !strings.Contains(reply, "RESULT=OK") {
			t.Fatalf("%s: %q, %v", line, reply, err)
		}
	}
	for p.MaxPending() < 1 { // the SOCKS5 request is waiting its delay
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if p.Sessions() != 1 {
		t.Errorf("%d sessions", p.Sessions())
	}
}

// TestProxyMalformedOnion: a malformed onion name is refused at once with
// 0xF6, as Tor does, whatever the delay.
func TestProxyMalformedOnion(t *testing.T) {
	t.Parallel()
	p, err := handshaketest.NewProxy(handshaketest.ProxyConfig{Delay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.SOCKSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	name := "a" + handshaketest.OnionName(1)[1:]
	if name == handshaketest.OnionName(1) {
		name = "b" + name[1:]
	}
	req := append([]byte{5, 1, 0, 5, 1, 0, 3, byte(len(name))}, name...)
	c.Write(append(req, 0x20, 0x8d))
	var b [12]byte
	if _, err := c.Read(b[:2]); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(b[:])
	if err != nil || n < 2 || b[1] != 0xF6 {
		t.Errorf("reply % x, %v; want code 0xf6", b[:n], err)
	}
}
