package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// everyNetwork is a good record of each network, with the addresses as
// the table keys them.
func everyNetwork(now time.Time) []record {
	mk := func(addr, network string) record {
		r := record{Addr: addr, Network: network, LastStatus: "OK", LastSuccess: now, Successes: 1, Tries: 1,
			Services: 0xc09, ProtocolVersion: 70016, StartHeight: 870000, UserAgent: "/Satoshi:28.1.0/", Transport: "v2"}
		for i := range r.Stats {
			r.Stats[i] = stat{Rel: 0.9, Count: 5, Weight: 1}
		}
		return r
	}
	return []record{
		mk("203.0.113.7:8333", "ipv4"),
		mk("[2001:db8::7]:8333", "ipv6"),
		mk(handshaketest.OnionName(7)+":8333", "onion"),
		mk(handshaketest.I2PName(7)+":0", "i2p"),
		mk("[fc32:17ea:e415:c3bf:9808:149d:b5a2:c9aa]:8333", "cjdns"),
	}
}

// TestDumpEveryNetwork: the dump's line for a node of each network parses
// as makeseeds.py parses it, into that network, and a node that is not
// good is written with good 0, which makeseeds.py skips.
func TestDumpEveryNetwork(t *testing.T) {
	t.Parallel()
	tb := newTable(100, goodPolicy{defaultPort: 8333, services: 1, minVersion: minGoodVersion}, schedule{retest: time.Minute})
	recs := everyNetwork(time.Now())
	notGood := recs[2]
	notGood.Addr, notGood.LastStatus = handshaketest.OnionName(8)+":8333", "FAILED"
	tb.load(append(recs, notGood))
	var b bytes.Buffer
	if n, err := writeDump(&b, tb.all()); err != nil || n != 6 {
		t.Fatal(n, err)
	}
	got := map[string]seedLine{}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		l, ok, err := parseSeedLine(line)
		if err != nil {
			t.Fatalf("makeseeds.py would raise on %q: %v", line, err)
		}
		if ok {
			got[l.net] = l
		}
	}
	if len(got) != 5 {
		t.Fatalf("networks parsed: %v, want all five:\n%s", got, b.String())
	}
	for _, r := range recs {
		l := got[r.Network]
		want := strings.Trim(r.Addr[:strings.LastIndex(r.Addr, ":")], "[]")
		port := 8333
		if r.Network == "i2p" {
			port = 0
		}
		if l.ip != want || l.port != port || l.blocks != 870000 || l.service != 0xc09 || l.uptime30 != 90 || l.agent != "/Satoshi:28.1.0/" {
			t.Errorf("%s: parsed %+v", r.Network, l)
		}
	}
	if !strings.Contains(b.String(), notGood.Addr+" ") || got["onion"].ip == strings.TrimSuffix(notGood.Addr, ":8333") {
		t.Errorf("the failing onion node: written with good 0 and skipped by makeseeds.py?\n%s", b.String())
	}
}

// TestAnswersOnlyIP: good nodes of every network are counted, but A and
// AAAA answers carry only the IPv4 and IPv6 ones, never CJDNS (fc00::/8,
// an IPv6 address to DNS) nor onion or I2P, even with -allow-private.
func TestAnswersOnlyIP(t *testing.T) {
	t.Parallel()
	tb := newTable(100, goodPolicy{defaultPort: 8333, services: 1, minVersion: minGoodVersion, allowPrivate: true}, schedule{retest: time.Minute})
	now := time.Now()
	tb.load(everyNetwork(now))
	snap, c := tb.snapshot(now)
	for _, n := range []string{"ipv4", "ipv6", "onion", "i2p", "cjdns"} {
		if c.good[[2]string{n, "v2"}] != 1 {
			t.Errorf("good %s: %d, want 1", n, c.good[[2]string{n, "v2"}])
		}
	}
	r := &responder{zone: testZone(t)}
	r.set(snap)
	for qt, want := range map[dnsmessage.Type]string{dnsmessage.TypeA: "203.0.113.7", dnsmessage.TypeAAAA: "2001:db8::7"} {
		var m dnsmessage.Message
		if err := m.Unpack(r.answer(mkQuery(t, "seed.example.test.", qt, 1232), true)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range m.Answers {
			switch b := a.Body.(type) {
			case *dnsmessage.AResource:
				got = append(got, netip.AddrFrom4(b.A).String())
			case *dnsmessage.AAAAResource:
				got = append(got, netip.AddrFrom16(b.AAAA).String())
			}
		}
		if !slices.Equal(got, []string{want}) {
			t.Errorf("%v answer %v, want [%s]", qt, got, want)
		}
	}
}

// hiddenSeeder is a seeder in process reaching onion and I2P through the
// proxy double (or through tor and sam, when given), starting from a
// clearnet node that gossips h's addresses and a CJDNS one.
func hiddenSeeder(t *testing.T, h *cli.Hidden, tor, sam string, after func(visit)) *seeder {
	t.Helper()
	params := chaincfg.RegressionNetParams
	s := testSeeder(t, &params, 100, time.Minute, after)
	flags := cli.Net{Proxies: cli.List{tor}, ProxyRandomize: true, ProxyMaxPending: 8, I2PSAM: sam}
	dialers, end, err := flags.Dialers()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(end)
	s.prober = &watchProber{prober: newCrawlProber(handshake.Options{ChainParams: &params}, 5*time.Second, true, dialers, flags.Concurrency()), after: after}
	s.addStart(context.Background(), []string{h.Gossiper(t, &params)}, handshakeSeedsNone(&params))
	return s
}

// TestSeederHiddenNetworks: the seeder learns onion and I2P nodes from
// gossip, visits them through the proxies, keeps their reliability, writes
// them to the dump as makeseeds.py reads them, counts visits and failure
// kinds per network in its metrics, and leaves out CJDNS, which it has no
// way to reach.
func TestSeederHiddenNetworks(t *testing.T) {
	t.Parallel()
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 2, 2, 20*time.Millisecond)
	visits := make(chan visit, 64)
	s := hiddenSeeder(t, h, h.Proxy.SOCKSAddr(), h.Proxy.SAMAddr(), func(v visit) { visits <- v })
	stop := runSeeder(s)
	defer stop()
	// The gossiper, then 2+2 onion and 2+1 I2P addresses: 8 visits.
	seen := map[string]visit{}
	timeout := time.After(time.Minute)
	for len(seen) < 8 {
		select {
		case v := <-visits:
			seen[v.Addr] = v
		case <-timeout:
			t.Fatalf("visited %d of 8 in a minute: %v", len(seen), seen)
		}
	}
	stop()
	for a, want := range map[string]string{
		h.Onion[0]: "OK", h.Onion[1]: "OK", h.I2P[0]: "OK", h.I2P[1]: "OK",
		h.Offline: "onion-not-found", h.IntroFailed: "onion-intro-failed", h.I2POffline: "i2p-not-found",
	} {
		if v := seen[a]; v.Status != want && v.ErrKind != want {
			t.Errorf("%s: %s %s, want %s", a, v.Status, v.ErrKind, want)
		}
	}
	if _, ok := s.table.nodes[strings.ToLower(cli.CJDNS)]; ok || len(s.table.all()) != 8 {
		t.Errorf("table of %d holds CJDNS, which it cannot reach", len(s.table.all()))
	}
	var b bytes.Buffer
	writeDump(&b, s.table.all())
	nets := map[string]int{}
	for _, line := range strings.Split(b.String(), "\n") {
		if l, ok, err := parseSeedLine(line); ok && err == nil {
			nets[l.net]++
		}
	}
	if nets["onion"] != 2 || nets["i2p"] != 2 {
		t.Errorf("good lines by network as makeseeds.py reads them: %v, want onion 2, i2p 2\n%s", nets, b.String())
	}
	m := s.metrics
	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(m.visits.WithLabelValues("onion", "OK")), 2, "onion OK visits"},
		{testutil.ToFloat64(m.visits.WithLabelValues("i2p", "OK")), 2, "i2p OK visits"},
		{testutil.ToFloat64(m.visits.WithLabelValues("onion", "FAILED")), 2, "onion failed visits"},
		{testutil.ToFloat64(m.fails.WithLabelValues("onion", "onion-not-found")), 1, "onion-not-found"},
		{testutil.ToFloat64(m.fails.WithLabelValues("onion", "onion-intro-failed")), 1, "onion-intro-failed"},
		{testutil.ToFloat64(m.fails.WithLabelValues("i2p", "i2p-not-found")), 1, "i2p-not-found"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	s.refresh()
	good := map[string]float64{}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "seeder_nodes_good" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == "network" {
					good[l.GetValue()] += mm.GetGauge().GetValue()
				}
			}
		}
	}
	if good["onion"] != 2 || good["i2p"] != 2 {
		t.Errorf("seeder_nodes_good by network: %v, want onion 2, i2p 2", good)
	}
}

// TestSeederProxyDown: addresses behind a proxy that is down are not
// visited, not counted against their nodes, offered again later, and
// counted by proxy in the metrics.
func TestSeederProxyDown(t *testing.T) {
	t.Parallel()
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 2, 1, -1)
	tor, sam := cli.DeadAddr(t), cli.DeadAddr(t)
	visits, down := make(chan visit, 64), make(chan visit, 64)
	s := hiddenSeeder(t, h, tor, sam, func(v visit) { visits <- v })
	s.prober = &downProber{prober: s.prober, down: down}
	stop := runSeeder(s)
	defer stop()
	select {
	case v := <-visits: // the gossiper
		if v.Network != "ipv4" || v.Status != "OK" {
			t.Fatalf("first visit %+v", v)
		}
	case <-time.After(time.Minute):
		t.Fatal("the gossiper was not visited in a minute")
	}
	// 4 onion and 2 I2P addresses gossiped, each tried once and postponed.
	timeout := time.After(time.Minute)
	for n := 0; n < 6; {
		select {
		case <-down:
			n++
		case v := <-visits:
			t.Errorf("a visit behind a dead proxy was counted: %+v", v)
		case <-timeout:
			t.Fatalf("%d of 6 addresses found behind a dead proxy in a minute", n)
		}
	}
	stop()
	for _, r := range s.table.all() {
		if r.Network != "ipv4" && (r.Tries != 0 || r.NextTry.Before(time.Now().Add(proxyRetry/2))) {
			t.Errorf("%s: tries %d, next %v: counted against it, or offered again at once", r.Addr, r.Tries, r.NextTry)
		}
	}
	if n := testutil.ToFloat64(s.metrics.down.WithLabelValues("onion", tor)); n != 4 {
		t.Errorf("onion addresses tried through the dead proxy %v times, want 4 (once each, then postponed)", n)
	}
	if n := testutil.ToFloat64(s.metrics.down.WithLabelValues("i2p", sam)); n != 2 {
		t.Errorf("I2P addresses tried through the dead router %v times, want 2", n)
	}
}

// downProber tells a test of each visit not made for a proxy that was
// down, once the seeder has handled it.
type downProber struct {
	prober
	down chan<- visit
}

func (d *downProber) probe(ctx context.Context, ts []target, emit func(visit, bool)) {
	d.prober.probe(ctx, ts, func(v visit, visited bool) {
		emit(v, visited)
		if v.ProxyDown != "" {
			d.down <- v
		}
	})
}

// TestSeederProgramHiddenNetworks runs the program as an operator would,
// with -proxy and -i2psam at the proxy double: after SIGINT its dump holds
// the onion and I2P nodes it learned from gossip, good, as makeseeds.py
// reads them.
func TestSeederProgramHiddenNetworks(t *testing.T) {
	t.Parallel()
	params := chaincfg.RegressionNetParams
	h := cli.NewHidden(t, &params, 2, 1, 20*time.Millisecond)
	dir := t.TempDir()
	dump := filepath.Join(dir, "dnsseed.dump")
	c := startChild(t, "-zone", "seed.example.test", "-listen", "127.0.0.1:0", "-network", "regtest",
		"-addr", h.Gossiper(t, &params), "-allow-private", "-db", filepath.Join(dir, "s.db"), "-dump", dump,
		"-proxy", h.Proxy.SOCKSAddr(), "-i2psam", h.Proxy.SAMAddr(), "-v")
	reVisit := regexp.MustCompile(`msg=visit addr=(\S+) status=OK`)
	for found := map[string]bool{}; len(found) < 4; { // the gossiper, 2 onion, 1 I2P
		found[c.waitFor(t, reVisit, nil)[1]] = true
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s", err, c.output())
	}
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	nets := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if l, ok, err := parseSeedLine(line); ok && err == nil {
			nets[l.net] = append(nets[l.net], l.ip+":"+strconv.Itoa(l.port))
		}
	}
	slices.Sort(nets["onion"])
	want := slices.Sorted(slices.Values(h.Onion))
	if !slices.Equal(nets["onion"], want) || !slices.Equal(nets["i2p"], h.I2P) {
		t.Errorf("dump as makeseeds.py reads it: %v; want onion %v, i2p %v\n%s", nets, want, h.I2P, b)
	}
	if !strings.Contains(c.output(), "onion via "+h.Proxy.SOCKSAddr()) {
		t.Errorf("the log does not say how onion is reached:\n%s", c.output())
	}
}
