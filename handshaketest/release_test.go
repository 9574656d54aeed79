package handshaketest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/internal/bip324"
)

// The Core double per release, driven by the hand-rolled client. Each
// release's expected behaviour is written out here, not derived from the
// package's own tables, so that a change to a release shows.

// releaseWant is what a default node of one release does in a handshake.
type releaseWant struct {
	rel     CoreRelease
	pver    int32  // protocol version announced
	ua      string // user agent
	v2      bool   // speaks v2 by default, and so announces NODE_P2P_V2
	cmpctV1 bool   // also offers compact blocks version 1
	fee     int64  // feefilter, sat/kvB
	bip434  bool   // checks a client's feature message
}

func releaseWants() []releaseWant {
	return []releaseWant{
		{Core0_20, 70015, "/Satoshi:0.20.1/", false, true, 1000, false},
		{Core0_21, 70016, "/Satoshi:0.21.1/", false, true, 1000, false},
		{Core22, 70016, "/Satoshi:22.0.0/", false, false, 1000, false},
		{Core23, 70016, "/Satoshi:23.0.0/", false, false, 1000, false},
		{Core24, 70016, "/Satoshi:24.0.1/", false, false, 1000, false},
		{Core25, 70016, "/Satoshi:25.0.0/", false, false, 1000, false},
		{Core26, 70016, "/Satoshi:26.0.0/", false, false, 1000, false},
		{Core27, 70016, "/Satoshi:27.1.0/", true, false, 1000, false},
		{Core28, 70016, "/Satoshi:28.1.0/", true, false, 1000, false},
		{Core28_3, 70016, "/Satoshi:28.3.0/", true, false, 100, false},
		{Core29, 70016, "/Satoshi:29.0.0/", true, false, 1000, false},
		{Core29_1, 70016, "/Satoshi:29.1.0/", true, false, 100, false},
		{Core30, 70016, "/Satoshi:30.0.0/", true, false, 100, false},
		{CoreMaster, 70017, "/Satoshi:32.99.0/", true, false, 100, true},
	}
}

// beforeVerack is what the release sends on a client's version at pver.
func (w releaseWant) beforeVerack(pver int32) []string {
	if min(pver, w.pver) >= 70016 {
		return []string{"version", "wtxidrelay", "sendaddrv2", "verack"}
	}
	return []string{"version", "verack"}
}

// afterVerack is what the release sends after a client's verack at 70014
// or more, the client announcing NODE_NETWORK.
func (w releaseWant) afterVerack() []string {
	if w.cmpctV1 {
		return []string{"sendcmpct", "sendcmpct", "ping", "getheaders", "feefilter"}
	}
	return []string{"sendcmpct", "ping", "getheaders", "feefilter"}
}

// check checks the messages afterVerack names.
func (w releaseWant) check(t *testing.T, fs []frame) {
	t.Helper()
	if !bytes.Equal(fs[0].payload, sendCmpct(2)) || w.cmpctV1 && !bytes.Equal(fs[1].payload, sendCmpct(1)) {
		t.Errorf("sendcmpct payloads %x, %x", fs[0].payload, fs[1].payload)
	}
	n := len(fs)
	gh := decode[*wire.MsgGetHeaders](t, fs[n-2], wire.MainNet)
	if len(gh.BlockLocatorHashes) != 1 || *gh.BlockLocatorHashes[0] != *chaincfg.MainNetParams.GenesisHash ||
		gh.HashStop != ([32]byte{}) || gh.ProtocolVersion != uint32(min(w.pver, 70016)) {
		t.Errorf("getheaders %+v", gh)
	}
	if ff := decode[*wire.MsgFeeFilter](t, fs[n-1], wire.MainNet); ff.MinFee != w.fee {
		t.Errorf("feefilter %d, want %d", ff.MinFee, w.fee)
	}
}

// nodeVersion is a 70017 client's version announcing a full node.
func nodeVersion(cl *client, pver int32) *wire.MsgVersion {
	v := cl.version(pver)
	v.Services = wire.SFNodeNetwork | wire.SFNodeWitness
	return v
}

// TestCoreRelease: each release's identity, its messages before and after
// verack, and that a well-formed feature from a 70017 client is no reason
// to leave (a release ignores it, master accepts it).
func TestCoreRelease(t *testing.T) {
	t.Parallel()
	for _, w := range releaseWants() {
		t.Run(w.rel.String(), func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, Config{Core: w.rel})
			cl := dial(t, p.Addr())
			cl.send(nodeVersion(cl, 70017))
			fs := cl.expect(w.beforeVerack(70017)...)
			services := wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeNetworkLimited
			if w.v2 {
				services |= wire.SFNodeP2PV2
			}
			checkVersion(t, fs[0], w.pver, w.ua, services)
			cl.send(&rawMsg{"feature", appendFeature(nil, Feature{ID: "abcd", Data: []byte{1}})})
			cl.send(wire.NewMsgVerAck())
			w.check(t, cl.expect(w.afterVerack()...))
			pingPong(t, cl)
		})
	}
}

// TestCoreReleaseFeature: a feature that does not parse, or one from a
// client below 70017, is an unsupported message before verack to every
// release, which completes the handshake; master, with BIP434, hangs up.
// A feature after verack is ignored by the releases and ends master's
// connection.
func TestCoreReleaseFeature(t *testing.T) {
	t.Parallel()
	for _, w := range releaseWants() {
		for _, tt := range []struct {
			name    string
			pver    int32
			payload []byte
		}{
			{"ID of 3 bytes", 70017, []byte{3, 'a', 'b', 'c', 0}},
			{"trailing byte", 70017, append(appendFeature(nil, Feature{ID: "abcd"}), 0)},
			{"non-minimal length", 70017, append([]byte{0xfd, 4, 0}, "abcd\x00"...)},
			{"from a 70016 client", 70016, appendFeature(nil, Feature{ID: "abcd"})},
		} {
			t.Run(w.rel.String()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				p := startPeer(t, Config{Core: w.rel, V1Only: true})
				cl := dial(t, p.Addr())
				cl.send(nodeVersion(cl, tt.pver))
				cl.expect(w.beforeVerack(tt.pver)...)
				cl.send(&rawMsg{"feature", tt.payload})
				cl.send(wire.NewMsgVerAck())
				if w.bip434 {
					cl.closed()
					return
				}
				w.check(t, cl.expect(w.afterVerack()...))
			})
		}
		t.Run(w.rel.String()+"/after verack", func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, Config{Core: w.rel, V1Only: true})
			cl := dial(t, p.Addr())
			cl.send(nodeVersion(cl, 70017))
			cl.expect(w.beforeVerack(70017)...)
			cl.send(wire.NewMsgVerAck())
			cl.expect(w.afterVerack()...)
			cl.send(&rawMsg{"feature", appendFeature(nil, Feature{ID: "abcd"})})
			if w.bip434 {
				cl.closed()
				return
			}
			pingPong(t, cl)
		})
	}
}

// TestCoreReleaseFeatureOverV2: over v2, a feature comes as one-byte
// message type 37. Releases do not know the type and drop the message
// (26 with -v2transport=1, 27 and 30 by default), so even a malformed
// one is harmless; to master it is feature, checked as over v1.
func TestCoreReleaseFeatureOverV2(t *testing.T) {
	t.Parallel()
	for _, rel := range []CoreRelease{Core26, Core27, Core30, CoreMaster} {
		t.Run(rel.String(), func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, Config{Core: rel, V2: rel == Core26})
			c := dialV2(t, p.Addr())
			c.send(nodeVersion(&client{t: t}, 70017))
			c.expect("version", "wtxidrelay", "sendaddrv2", "verack")
			// Type 37, then an ID of 3 bytes: malformed.
			if err := c.v2.WriteContents([]byte{37, 3, 'a', 'b', 'c', 0}); err != nil {
				t.Fatal(err)
			}
			c.send(wire.NewMsgVerAck())
			if rel == CoreMaster {
				c.closed()
				return
			}
			c.expect("sendcmpct", "ping", "getheaders", "feefilter")
		})
	}
}

// TestCoreReleaseFinalAlert: every release sends the final alert right
// after its verack to a client at 70012 or below, and to no other.
func TestCoreReleaseFinalAlert(t *testing.T) {
	t.Parallel()
	for _, w := range releaseWants() {
		t.Run(w.rel.String(), func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, Config{Core: w.rel, V1Only: true})
			cl := dial(t, p.Addr())
			cl.sendVersion(70012)
			fs := cl.expect("version", "verack", "alert")
			if !bytes.Equal(fs[2].payload, FinalAlert()) || !strings.Contains(string(fs[2].payload), "URGENT: Alert key compromised") {
				t.Errorf("alert payload %x", fs[2].payload)
			}
			// At 70012: no sendcmpct (70014), no feefilter (70013).
			cl.send(wire.NewMsgVerAck())
			cl.expect("ping")
			cl.nothingMore()

			cl = dial(t, p.Addr())
			cl.sendVersion(70013)
			cl.expect("version", "verack")
			cl.send(wire.NewMsgVerAck())
			cl.expect("ping", "feefilter")
		})
	}
}

// TestCoreGetHeadersOnlyToServingClients: the getheaders of a synced node
// goes to clients that can serve blocks, NODE_NETWORK_LIMITED included,
// and to no other.
func TestCoreGetHeadersOnlyToServingClients(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{V1Only: true})
	for _, tt := range []struct {
		services wire.ServiceFlag
		want     []string
	}{
		{wire.SFNodeNetworkLimited, []string{"sendcmpct", "ping", "getheaders", "feefilter"}},
		{wire.SFNodeWitness | wire.SFNodeBloom, []string{"sendcmpct", "ping", "feefilter"}},
	} {
		cl := dial(t, p.Addr())
		v := cl.version(70016)
		v.Services = tt.services
		cl.send(v)
		cl.expect("version", "wtxidrelay", "sendaddrv2", "verack")
		cl.send(wire.NewMsgVerAck())
		cl.expect(tt.want...)
		pingPong(t, cl)
	}
}

// TestCoreReleaseOptions: what a release cannot do is refused.
func TestCoreReleaseOptions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  Config
		want string // "" for no error
	}{
		{Config{Core: Core25, V2: true}, "Core 25.0.0 has no v2 transport"},
		{Config{Core: Core24, TxReconciliation: true}, "Core 24.0.1 has no -txreconciliation"},
		{Config{Core: numCoreReleases}, "unknown CoreRelease"},
		{Config{Core: -1}, "unknown CoreRelease"},
		{Config{Core: Core26, V2: true}, ""},
		{Config{Core: Core25, TxReconciliation: true}, ""},
		{Config{Core: Core0_20, V2: true, V1Only: true}, ""},
	} {
		_, err := tt.cfg.withDefaults()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v V2 %v txrecon %v: %v, want %q", tt.cfg.Core, tt.cfg.V2, tt.cfg.TxReconciliation, err, tt.want)
		}
	}
	// 26 speaks v2 only when asked, as -v2transport=1.
	for v2, want := range map[bool]bool{false: false, true: true} {
		cfg, err := Config{Core: Core26, V2: v2}.withDefaults()
		if err != nil || cfg.speaksV2() != want || (cfg.Services&wire.SFNodeP2PV2 != 0) != want {
			t.Errorf("Core26 V2=%v: speaks v2 %v, services %v, %v", v2, cfg.speaksV2(), cfg.Services, err)
		}
	}
}

// TestCoreMix: over 100 nodes each release takes its documented share,
// and the mix is the same every time.
func TestCoreMix(t *testing.T) {
	t.Parallel()
	want := map[CoreRelease]int{
		Core0_20: 2, Core0_21: 4, Core22: 3, Core23: 2, Core24: 3, Core25: 3, Core26: 6,
		Core27: 17, Core28: 12, Core28_3: 5, Core29: 9, Core29_1: 15, Core30: 18, CoreMaster: 1,
	}
	for _, base := range []int{0, 100, 1234} {
		got := map[CoreRelease]int{}
		var seq []CoreRelease
		for i := base; i < base+100; i++ {
			got[CoreMix(i)]++
			seq = append(seq, CoreMix(i))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("CoreMix(%d..%d) = %v, want %v", base, base+99, got, want)
		}
		same := 0
		for i := 1; i < len(seq); i++ {
			if seq[i] == seq[i-1] {
				same++
			}
		}
		if same > 20 {
			t.Errorf("%d of 99 neighbours run the same release: not spread", same)
		}
	}
	if CoreMix(-7) != CoreMix(7) {
		t.Errorf("CoreMix(-7) = %v, CoreMix(7) = %v", CoreMix(-7), CoreMix(7))
	}
	if rs := CoreReleases(); len(rs) != len(want) || rs[0] != Core0_20 || rs[len(rs)-1] != CoreMaster {
		t.Errorf("CoreReleases() = %v", rs)
	}
}

// v2client is a BIP324 initiator, for the releases that speak v2.
type v2client struct {
	t  *testing.T
	nc net.Conn
	v2 *bip324.Conn
}

func dialV2(t *testing.T, addr string) *v2client {
	t.Helper()
	cl := dial(t, addr)
	v2, err := bip324.Handshake(bufio.NewReader(cl.c), cl.c, bip324.Initiator, bip324.Config{Magic: uint32(wire.MainNet)})
	if err != nil {
		t.Fatalf("v2 handshake: %v", err)
	}
	return &v2client{t: t, nc: cl.c, v2: v2}
}

func (c *v2client) send(msg wire.Message) {
	c.t.Helper()
	var b bytes.Buffer
	if err := msg.BtcEncode(&b, wire.ProtocolVersion, wire.LatestEncoding); err != nil {
		c.t.Fatal(err)
	}
	if err := c.v2.WriteMessage(msg.Command(), b.Bytes()); err != nil {
		c.t.Fatalf("send %s: %v", msg.Command(), err)
	}
}

func (c *v2client) expect(cmds ...string) {
	c.t.Helper()
	var got []string
	for range cmds {
		cmd, _, err := c.v2.ReadMessage(1 << 20)
		if err != nil {
			c.t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, cmd)
	}
	if !slices.Equal(got, cmds) {
		c.t.Fatalf("received %q, want %q", got, cmds)
	}
}

func (c *v2client) closed() {
	c.t.Helper()
	if cmd, _, err := c.v2.ReadMessage(1 << 20); err == nil {
		c.t.Fatalf("expected close, got %q", cmd)
	}
}
