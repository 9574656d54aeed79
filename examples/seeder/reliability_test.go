package main

import (
	"github.com/bitcoin-handshake/handshake/handshaketest"
	"math"
	"testing"
	"time"
)

func TestStatUpdate(t *testing.T) {
	t.Parallel()
	// A visit an hour after the last, in the 2-hour window: f = exp(-1/2).
	var s stat
	s.update(true, time.Hour, 2*time.Hour)
	f := math.Exp(-0.5)
	if math.Abs(s.Rel-(1-f)) > 1e-12 || s.Count != 1 || math.Abs(s.Weight-(1-f)) > 1e-12 {
		t.Errorf("after one success: %+v", s)
	}
	s.update(false, time.Hour, 2*time.Hour)
	if math.Abs(s.Rel-(1-f)*f) > 1e-12 || math.Abs(s.Count-(f+1)) > 1e-12 || math.Abs(s.ratio()-f/(1+f)) > 1e-12 {
		t.Errorf("after a failure: %+v ratio %v", s, s.ratio())
	}
}

// onionAddr and i2pAddr are well-formed names without their ports.
var onionAddr, i2pAddr = handshaketest.OnionName(0), handshaketest.I2PName(0)

// goodNode is a node that passes the good rule; each case breaks one part.
func goodNode() record {
	r := record{Addr: "203.0.113.7:8333", Network: "ipv4", LastStatus: "OK", LastSuccess: time.Now(), Services: 0xc09,
		ProtocolVersion: 70016, StartHeight: 870000, Tries: 1, Successes: 1}
	return r
}

func TestGoodRule(t *testing.T) {
	t.Parallel()
	p := goodPolicy{defaultPort: 8333, services: requiredServices, minVersion: minGoodVersion, minHeight: 869000}
	reliable := func(r *record, i int, rel, count float64) {
		r.Tries, r.Successes = 100, 80
		r.Stats[i] = stat{Rel: rel, Count: count, Weight: 1}
	}
	cases := []struct {
		name   string
		change func(r *record)
		policy func(p *goodPolicy)
		want   bool
	}{
		{"a new node that answered", nil, nil, true},
		{"another port", func(r *record) { r.Addr = "203.0.113.7:18333" }, nil, false},
		{"private address", func(r *record) { r.Addr = "10.0.0.1:8333" }, nil, false},
		{"private address with -allow-private", func(r *record) { r.Addr = "10.0.0.1:8333" }, func(p *goodPolicy) { p.allowPrivate = true }, true},
		{"loopback", func(r *record) { r.Addr = "127.0.0.1:8333" }, nil, false},
		{"onion", func(r *record) { r.Addr, r.Network = onionAddr+":8333", "onion" }, nil, true},
		{"onion on another port", func(r *record) { r.Addr, r.Network = onionAddr+":18333", "onion" }, nil, false},
		{"i2p on port 0", func(r *record) { r.Addr, r.Network = i2pAddr+":0", "i2p" }, nil, true},
		{"i2p on a port", func(r *record) { r.Addr, r.Network = i2pAddr+":8333", "i2p" }, nil, false},
		{"cjdns, private to IP", func(r *record) { r.Addr, r.Network = "[fc00::1]:8333", "cjdns" }, nil, true},
		{"cjdns on another port", func(r *record) { r.Addr, r.Network = "[fc00::1]:18333", "cjdns" }, nil, false},
		{"unknown network", func(r *record) { r.Network = "" }, nil, false},
		{"no NODE_NETWORK (pruned)", func(r *record) { r.Services = 0x408 }, nil, false},
		{"old protocol", func(r *record) { r.ProtocolVersion = 70000 }, nil, false},
		{"behind the median height", func(r *record) { r.StartHeight = 868999 }, nil, false},
		{"last visit failed", func(r *record) { r.LastStatus = "FAILED" }, nil, false},
		{"last visit partial", func(r *record) { r.LastStatus = "PARTIALLY OK" }, nil, false},
		{"two of three failed", func(r *record) { r.Tries, r.Successes = 3, 1 }, nil, false},
		{"2h ratio 0.9 over 3 visits", func(r *record) { reliable(r, 0, 0.9, 3) }, nil, true},
		{"2h ratio 0.9 over 2 visits", func(r *record) { reliable(r, 0, 0.9, 2) }, nil, false},
		{"2h ratio 0.8", func(r *record) { reliable(r, 0, 0.8, 10) }, nil, false},
		{"8h ratio 0.75 over 5", func(r *record) { reliable(r, 1, 0.75, 5) }, nil, true},
		{"1d ratio 0.6 over 9", func(r *record) { reliable(r, 2, 0.6, 9) }, nil, true},
		{"1w ratio 0.5 over 17", func(r *record) { reliable(r, 3, 0.5, 17) }, nil, true},
		{"1m ratio 0.4 over 33", func(r *record) { reliable(r, 4, 0.4, 33) }, nil, true},
		{"1m ratio 0.3 over 33", func(r *record) { reliable(r, 4, 0.3, 33) }, nil, false},
		{"onion", func(r *record) { r.Addr = "abc.onion:8333" }, nil, false},
	}
	for _, c := range cases {
		r, pp := goodNode(), p
		if c.change != nil {
			c.change(&r)
		}
		if c.policy != nil {
			c.policy(&pp)
		}
		if got := r.isGood(pp); got != c.want {
			t.Errorf("%s: good = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	s := schedule{retest: 10 * time.Minute}
	now := time.Unix(1795980000, 0)
	r := goodNode()
	if got := s.next(&r, now, 0.5).Sub(now); got != 10*time.Minute {
		t.Errorf("a node that answered: next in %v, want 10m", got)
	}
	for fails, want := range map[int]time.Duration{1: 10 * time.Minute, 2: 20 * time.Minute, 4: 80 * time.Minute, 7: 640 * time.Minute, 30: 640 * time.Minute} {
		r.FailuresInRow = fails
		if got := s.next(&r, now, 0.5).Sub(now); got != want {
			t.Errorf("%d failures in a row: next in %v, want %v", fails, got, want)
		}
	}
	// sipa's ignore time wins when longer: a month of failures.
	r.FailuresInRow = 1
	r.Stats[4] = stat{Rel: 0, Count: 40, Weight: 0.9}
	if got := s.next(&r, now, 0.5).Sub(now); got != 10*24*time.Hour {
		t.Errorf("a month of failures: next in %v, want 240h", got)
	}
	// Jitter stays within ±10%.
	r = goodNode()
	if lo, hi := s.next(&r, now, 0).Sub(now), s.next(&r, now, 0.999).Sub(now); lo != 9*time.Minute || hi < 10*time.Minute || hi > 11*time.Minute {
		t.Errorf("jitter range %v..%v", lo, hi)
	}
}
