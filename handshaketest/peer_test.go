package handshaketest

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake/internal/bip324"
	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/goleak"
)

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSharedPort runs two peers on one port, on distinct loopback
// addresses, as a client sees nodes sharing the default port 8333.
func TestSharedPort(t *testing.T) {
	t.Parallel()
	core := startPeer(t, Config{Addr: "127.0.0.2:0"})
	port := portOf(t, core.Addr())
	btcd := startPeer(t, Config{Behavior: Btcd, Addr: "127.0.0.3:" + strconv.Itoa(port)})
	if !strings.HasPrefix(core.Addr(), "127.0.0.2:") || btcd.Addr() != "127.0.0.3:"+strconv.Itoa(port) {
		t.Fatalf("addresses %s and %s", core.Addr(), btcd.Addr())
	}
	for _, tt := range []struct {
		p  *Peer
		ua string
	}{{core, "/Satoshi:27.1.0/"}, {btcd, "/btcd:0.26.2/"}} {
		cl := dial(t, tt.p.Addr())
		cl.sendVersion(70016)
		if v := decode[*wire.MsgVersion](t, cl.expect("version")[0], wire.MainNet); v.UserAgent != tt.ua {
			t.Errorf("%s answered as %q, want %q", tt.p.Addr(), v.UserAgent, tt.ua)
		}
	}
	if core.Accepted() != 1 || btcd.Accepted() != 1 {
		t.Errorf("accepted %d and %d", core.Accepted(), btcd.Accepted())
	}
}

func TestAcceptedCountsConnections(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Silent})
	for range 3 {
		dial(t, p.Addr())
	}
	eventually(t, "3 accepted", func() bool { return p.Accepted() == 3 })
}

func TestNewPeerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Addr: "0.0.0.0:0"},
		{Addr: "192.0.2.1:8333"},
		{Addr: "no-port"},
		{Behavior: Behavior(99)},
		{Behavior: -1},
		{UserAgent: strings.Repeat("x", 257)},
		{Delay: -time.Second},
	} {
		if p, err := NewPeer(cfg); err == nil {
			p.Close()
			t.Errorf("NewPeer(%+v) succeeded", cfg)
		}
	}
}

func TestBehaviorString(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, b := range Behaviors() {
		s := b.String()
		if strings.HasPrefix(s, "Behavior(") || seen[s] {
			t.Errorf("%d: %q", int(b), s)
		}
		seen[s] = true
	}
	if len(seen) != 25 || Behavior(99).String() != "Behavior(99)" {
		t.Errorf("%d names, %q", len(seen), Behavior(99).String())
	}
}

// TestCloseLeavesNoGoroutine closes peers of every behaviour mid-exchange.
// It is not parallel so goleak sees only its own goroutines (paused
// parallel tests are ignored).
func TestCloseLeavesNoGoroutine(t *testing.T) {
	for _, b := range Behaviors() {
		p, err := NewPeer(Config{Behavior: b, DripInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		idle := dial(t, p.Addr()) // never speaks
		cl := dial(t, p.Addr())
		cl.sendVersion(70016)
		eventually(t, b.String()+" accepting", func() bool { return p.Accepted() == 2 })
		receivedEquals(t, p, "version")
		if err := p.Close(); err != nil {
			t.Errorf("%v: Close: %v", b, err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("%v: second Close: %v", b, err)
		}
		idle.closed()
		idle.c.Close()
		cl.c.Close()
	}
	goleak.VerifyNone(t)
}

// TestNoGarbageIsBIP324s: Config.V2GarbageLen goes to bip324 unchanged, so
// the two must mean the same.
func TestNoGarbageIsBIP324s(t *testing.T) {
	if NoGarbage != bip324.NoGarbage {
		t.Errorf("NoGarbage %d, bip324.NoGarbage %d", NoGarbage, bip324.NoGarbage)
	}
}
