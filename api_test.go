package handshake_test

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestPeerVersionNegative: PeerVersion.ProtocolVersion is a uint32 like the
// other protocol versions, yet a version negative on the wire (as Bitcoin
// Core reads it) is still too old, however low MinPeerVersion is; the
// Result keeps the four bytes as sent.
func TestPeerVersionNegative(t *testing.T) {
	t.Parallel()
	for _, pver := range []int32{-1, math.MinInt32} {
		client, server := net.Pipe()
		ctx := testContext(t, 5*time.Second)
		var wg sync.WaitGroup
		wg.Go(func() {
			handshaketest.Serve(ctx, server, handshaketest.Config{Handler: func(ctx context.Context, hc *handshaketest.Conn) error {
				v := hc.Version()
				v.ProtocolVersion = pver
				return hc.WriteMessage(v)
			}})
		})
		res, err := handshake.Handshake(ctx, client, handshake.Options{MinPeerVersion: 1})
		client.Close()
		wg.Wait()
		if !errors.Is(err, handshake.ErrPeerTooOld) || res.Status != handshake.StatusPartiallyOK {
			t.Errorf("version %d: %v, %v; want ErrPeerTooOld", pver, res.Status, err)
		}
		if res.Peer.ProtocolVersion != uint32(pver) || res.NegotiatedVersion != 0 {
			t.Errorf("version %d: Peer.ProtocolVersion %d, negotiated %d; want %d, 0",
				pver, res.Peer.ProtocolVersion, res.NegotiatedVersion, uint32(pver))
		}
	}
}

// TestTransportNeverAuto: a Result names the transport tried, v1 or v2, also
// when the call failed before trying any.
func TestTransportNeverAuto(t *testing.T) {
	t.Parallel()
	bad := handshake.Options{UserAgent: string(make([]byte, 1000))} // invalid: fails at StepOptions
	for _, tt := range []struct {
		name string
		opts handshake.Options
		call func(handshake.Options) (handshake.Result, error)
		want handshake.Transport
	}{
		{"Dial auto", bad, dialLoopback, handshake.TransportV2},
		{"Dial v1", withTransport(bad, handshake.TransportV1), dialLoopback, handshake.TransportV1},
		{"Handshake auto", bad, handshakePipe, handshake.TransportV1},
		{"Handshake v2", withTransport(bad, handshake.TransportV2), handshakePipe, handshake.TransportV2},
		{"invalid transport", withTransport(handshake.Options{}, 9), dialLoopback, handshake.TransportV2},
	} {
		res, err := tt.call(tt.opts)
		var he *handshake.Error
		if !errors.As(err, &he) || he.Step != handshake.StepOptions || res.Transport != tt.want {
			t.Errorf("%s: %v, Transport %v; want an options error and %v", tt.name, err, res.Transport, tt.want)
		}
	}

	// A sweep cancelled before dialling reports the transport too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var got []handshake.Result
	handshake.Sweep(ctx, handshake.SweepOptions{Addrs: []string{"127.0.0.1:1"}}, func(r handshake.Result) { got = append(got, r) })
	if len(got) != 1 || got[0].Transport != handshake.TransportV2 {
		t.Errorf("cancelled sweep: %+v; want one Result over v2", got)
	}
}

func withTransport(o handshake.Options, t handshake.Transport) handshake.Options {
	o.Transport = t
	return o
}

// dialLoopback dials an address nothing is asked of: every use fails on its
// options first.
func dialLoopback(o handshake.Options) (handshake.Result, error) {
	return handshake.Dial(context.Background(), "127.0.0.1:1", o)
}

func handshakePipe(o handshake.Options) (handshake.Result, error) {
	client, server := net.Pipe()
	defer server.Close()
	defer client.Close()
	return handshake.Handshake(context.Background(), client, o)
}

// TestResultJSONRoundTrip: the JSON lines our programs write read back into
// the Results they came from, for every Status, over both transports and
// after a fallback; the error keeps its text; unknown keys are ignored.
func TestResultJSONRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	v2 := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core, V2: true})
	v1 := startPeer(t, handshaketest.Config{Behavior: handshaketest.Btcd})
	partial := startPeer(t, handshaketest.Config{Behavior: handshaketest.CloseAfterVersion})
	// BIP434 features and an ignored message: the fields issue 9 added.
	featured := startPeer(t, handshaketest.Config{ProtocolVersion: 70017, V1Only: true,
		Features: []handshaketest.Feature{{ID: "BIP434", Data: []byte{0xab, 1}}}})
	verackFirst := startPeer(t, handshaketest.Config{Behavior: handshaketest.VerackBeforeVersion})
	var results []handshake.Result
	for _, addr := range []string{v2.Addr(), v1.Addr(), partial.Addr(), featured.Addr(), verackFirst.Addr()} {
		res, _ := handshake.Dial(ctx, addr, handshake.Options{})
		results = append(results, res)
	}
	res, _ := handshake.Dial(ctx, "127.0.0.1:1", handshake.Options{Transport: handshake.TransportV1}) // nothing listens
	results = append(results, res)
	if len(results[3].Features) != 1 || len(results[4].Ignored) != 1 {
		t.Fatalf("features %v, ignored %v: the cases need one of each", results[3].Features, results[4].Ignored)
	}

	for i, want := range []struct {
		status    handshake.Status
		transport handshake.Transport
		fallback  bool
	}{
		{handshake.StatusOK, handshake.TransportV2, false},
		{handshake.StatusOK, handshake.TransportV1, true},
		{handshake.StatusPartiallyOK, handshake.TransportV1, true},
		{handshake.StatusOK, handshake.TransportV1, true},
		{handshake.StatusOK, handshake.TransportV1, true},
		{handshake.StatusFailed, handshake.TransportV1, false},
	} {
		r := results[i]
		if r.Status != want.status || r.Transport != want.transport || (r.Fallback != "") != want.fallback {
			t.Fatalf("result %d: %v over %v, fallback %q; the cases below need %+v", i, r.Status, r.Transport, r.Fallback, want)
		}
	}
	for _, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var got handshake.Result
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(normalised(got), normalised(r)) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, normalised(got), normalised(r))
		}
		if (r.Err == nil) != (got.Err == nil) || r.Err != nil && got.Err.Error() != r.Err.Error() {
			t.Errorf("error %v came back as %v", r.Err, got.Err)
		}
		again, _ := json.Marshal(got)
		if !bytes.Equal(again, b) {
			t.Errorf("re-encoded:\n%s\nwant\n%s", again, b)
		}
	}

	// Files written before BIP434 support have "features" as command
	// names: what Negotiation holds now.
	var old handshake.Result
	if err := json.Unmarshal([]byte(`{"status":"OK","features":["wtxidrelay","sendaddrv2"]}`), &old); err != nil ||
		!slices.Equal(old.Negotiation, []string{"wtxidrelay", "sendaddrv2"}) || old.Features != nil {
		t.Errorf("old features shape: %+v, %v", old, err)
	}

	var got handshake.Result
	if err := json.Unmarshal([]byte(`{"addr":"a:1","status":"OK","transport":"v2","new_key":[1,2]}`), &got); err != nil ||
		got.Addr != "a:1" || got.Status != handshake.StatusOK || got.Transport != handshake.TransportV2 {
		t.Errorf("with an unknown key: %+v, %v", got, err)
	}
	for _, bad := range []string{`{"status":"GOOD"}`, `{"transport":"v3"}`, `{"peer":{"addr_recv":{"addr":"nope"}}}`,
		`{"features":[{"id":"x","data":"not hex"}]}`, `{"features":{}}`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// normalised is r with what JSON cannot carry normalised: durations to the
// microsecond, the error to its text, times to UTC.
func normalised(r handshake.Result) handshake.Result {
	for _, d := range []*time.Duration{&r.Timings.Connect, &r.Timings.PeerVersion, &r.Timings.PeerVerack, &r.Timings.Total} {
		*d = d.Truncate(time.Microsecond)
	}
	if r.Err != nil {
		r.Err = errors.New(r.Err.Error())
	}
	r.Peer.Timestamp = r.Peer.Timestamp.UTC()
	return r
}

// TestTextRoundTrip: every value of the text-encoded types reads back from
// its text, and anything else is an error.
func TestTextRoundTrip(t *testing.T) {
	t.Parallel()
	type text interface {
		encoding.TextMarshaler
		encoding.TextUnmarshaler
	}
	check := func(name string, vals []text, fresh func() text) {
		for _, v := range vals {
			b, _ := v.MarshalText()
			got := fresh()
			if err := got.UnmarshalText(b); err != nil || !reflect.DeepEqual(got, v) {
				t.Errorf("%s %q: read back %v, %v", name, b, got, err)
			}
		}
		if err := fresh().UnmarshalText([]byte("nonsense")); err == nil {
			t.Errorf("%s: nonsense accepted", name)
		}
	}
	st := func(s handshake.Status) text { return &s }
	check("Status", []text{st(handshake.StatusOK), st(handshake.StatusPartiallyOK), st(handshake.StatusFailed)},
		func() text { return new(handshake.Status) })
	tr := func(v handshake.Transport) text { return &v }
	check("Transport", []text{tr(handshake.TransportAuto), tr(handshake.TransportV1), tr(handshake.TransportV2)},
		func() text { return new(handshake.Transport) })
	an := func(v handshake.AddrNetwork) text { return &v }
	check("AddrNetwork", []text{an(handshake.NetIPv4), an(handshake.NetIPv6), an(handshake.NetTorV3), an(handshake.NetI2P), an(handshake.NetCJDNS)},
		func() text { return new(handshake.AddrNetwork) })

	// As a flag.
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var tp handshake.Transport
	fs.TextVar(&tp, "transport", handshake.TransportAuto, "")
	if err := fs.Parse([]string{"-transport", "v1"}); err != nil || tp != handshake.TransportV1 {
		t.Errorf("flag: %v, %v", tp, err)
	}
}
