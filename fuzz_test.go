package handshake_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// The seed corpora under testdata/fuzz are generated from fuzzSeeds by
//
//	go test -run '^TestFuzzSeedCorpus$' -update-fuzz-seeds
//
// and TestFuzzSeedCorpus holds the committed files to it. Inputs the fuzzer
// finds failing are written next to them by go test and kept as they are.
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the seed corpora under testdata/fuzz")

// fuzzSeed is one starting input for both fuzz targets: the bytes a peer
// sends, and the knobs each target takes besides them.
type fuzzSeed struct {
	name  string
	data  []byte
	limit uint32 // FuzzReadMessage's byte budget; 0: DefaultMaxBytes
	// FuzzHandshake: the write size (0: all at once), MaxBytes and
	// MaxMessages (0: the defaults).
	split    uint8
	maxBytes uint16
	maxMsgs  uint8
	// want is the error class Handshake ends with; nil: it completes.
	want error
}

// seedVersion is a version message as the given software sends it, with
// fixed nonce and time so that the corpus is reproducible.
func seedVersion(pver int32, ua string, services wire.ServiceFlag) *wire.MsgVersion {
	you := wire.NewNetAddressIPPort(net.ParseIP("203.0.113.7"), 51234, 0)
	me := wire.NewNetAddressIPPort(net.IPv6zero, 0, services)
	v := wire.NewMsgVersion(me, you, 0x5eed5eed5eed5eed, 870000)
	v.ProtocolVersion = pver
	v.Services = services
	v.UserAgent = ua
	v.Timestamp = time.Unix(1735689600, 0)
	return v
}

// frames serializes messages as a peer on net sends them.
func frames(net wire.BitcoinNet, msgs ...wire.Message) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		if err := wire.WriteMessage(&b, m, wire.ProtocolVersion, net); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}

// versionPayload is v's payload with a user agent of n bytes spliced in
// by hand: wire refuses to encode one longer than 256 bytes.
func versionPayload(v *wire.MsgVersion, n int) []byte {
	v.UserAgent = ""
	full := frames(wire.MainNet, v)[wire.MessageHeaderSize:]
	const at = 80 // fixed fields before the user agent
	b := slices.Clone(full[:at])
	if n < 0xfd {
		b = append(b, byte(n))
	} else {
		b = binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	}
	b = append(b, bytes.Repeat([]byte{'u'}, n)...)
	return append(b, full[at+1:]...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func fuzzSeeds() []fuzzSeed {
	const core = wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeNetworkLimited | wire.SFNodeP2PV2
	main := wire.MainNet
	coreVersion := frames(main, seedVersion(70016, "/Satoshi:27.1.0/", core))
	verack := frames(main, wire.NewMsgVerAck())
	frame := func(cmd string, payload []byte) []byte { return handshaketest.Frame(main, cmd, payload) }
	coreSeq := cat(coreVersion, frames(main, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2()),
		frame("sendtxrcncl", binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, 1), 0x1122334455667788)),
		verack)
	btcdSeq := cat(frames(main, seedVersion(70016, "/btcd:0.26.2/", wire.SFNodeNetwork|wire.SFNodeBloom|wire.SFNodeWitness|wire.SFNodeCF),
		wire.NewMsgSendAddrV2()), verack)
	bcoinSeq := frames(main, seedVersion(70015, "/bcoin:2.2.0/", wire.SFNodeNetwork|wire.SFNodeWitness), wire.NewMsgVerAck())
	oldSeq := frames(main, seedVersion(70001, "/Satoshi:0.8.6/", wire.SFNodeNetwork), wire.NewMsgVerAck())
	tooOld := frames(main, seedVersion(31799, "/Satoshi:0.3.18/", wire.SFNodeNetwork), wire.NewMsgVerAck())

	// A version cut before its relay flag, as nodes before BIP 37 sent it.
	v60000 := frames(main, seedVersion(60000, "/Satoshi:0.7.2/", wire.SFNodeNetwork))[wire.MessageHeaderSize:]
	noRelay := cat(frame("version", v60000[:len(v60000)-1]), verack)

	badChecksum := slices.Clone(coreVersion)
	badChecksum[20] ^= 0xff
	claim := func(cmd string, n uint32, extra int) []byte {
		h := frame(cmd, nil)
		binary.LittleEndian.PutUint32(h[16:20], n)
		return append(h, make([]byte, extra)...)
	}
	badCommand := slices.Clone(verack)
	copy(badCommand[4:16], "ver\x00ack\x00\x00\x00\x00\x00")

	var pings, floods []byte
	for i := range 70 {
		pings = append(pings, frames(main, wire.NewMsgPing(uint64(i)))...)
		floods = append(floods, frame("flood", binary.LittleEndian.AppendUint64(nil, uint64(i)))...)
	}
	r := rand.New(rand.NewPCG(0x6761726261676521, 1))
	garbage := make([]byte, 1024)
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}

	return []fuzzSeed{
		{name: "core", data: coreSeq},
		{name: "core-split", data: coreSeq, split: 7},
		{name: "core-bytewise", data: coreSeq, split: 1},
		{name: "btcd", data: btcdSeq},
		{name: "bcoin", data: bcoinSeq},
		{name: "old", data: oldSeq},
		{name: "too-old", data: tooOld, want: handshake.ErrPeerTooOld},
		{name: "version-without-relay", data: noRelay},
		{name: "core-truncated-header", data: coreSeq[:10], want: handshake.ErrPeerClosed},
		{name: "core-truncated-payload", data: coreSeq[:wire.MessageHeaderSize+50], want: handshake.ErrPeerClosed},
		{name: "core-truncated-verack", data: coreSeq[:len(coreSeq)-3], want: handshake.ErrPeerClosed},
		{name: "wrong-magic", data: cat(frames(wire.TestNet3, seedVersion(70016, "/Satoshi:27.1.0/", core)), verack), want: handshake.ErrWrongNetwork},
		{name: "bad-checksum", data: badChecksum, want: handshake.ErrPeerClosed}, // dropped; then the stream ends
		{name: "bad-command", data: cat(coreVersion, badCommand), want: handshake.ErrPeerClosed},
		{name: "oversized-claim", data: claim("version", wire.MaxMessagePayload, 8), want: handshake.ErrMessageTooLarge},
		{name: "oversized-unknown", data: claim("blob", wire.MaxProtocolMessageLength+1, 8), want: handshake.ErrMessageTooLarge},
		{name: "over-budget", data: cat(coreVersion, claim("blob", 1<<20, 8)), want: handshake.ErrLimitExceeded},
		{name: "version-too-large", data: frame("version", make([]byte, 5000)), want: handshake.ErrPeerTooOld}, // version 0
		{name: "large-unknown", data: cat(coreVersion, frame("blob", make([]byte, 2000)), verack)},
		{name: "user-agent-256", data: cat(frame("version", versionPayload(seedVersion(70016, "", core), 256)), verack)},
		{name: "user-agent-257", data: cat(frame("version", versionPayload(seedVersion(70016, "", core), 257)), verack), want: handshake.ErrPeerClosed},
		{name: "duplicate-version", data: cat(coreVersion, coreVersion, verack)},
		{name: "verack-before-version", data: cat(verack, coreVersion, verack)},
		{name: "ping-flood", data: pings, want: handshake.ErrLimitExceeded},
		{name: "features", data: cat(frames(main, seedVersion(70017, "/Satoshi:32.0.0/", core)),
			frame("feature", []byte("\x06BIP434\x02\x01\x02")), frame("feature", []byte("\x04abcd\x00")), verack)},
		{name: "malformed-feature", data: cat(frames(main, seedVersion(70017, "/Satoshi:32.0.0/", core)),
			frame("feature", []byte("\x03abc\x00")), verack)}, // ignored, as released Core does
		{name: "unknown-flood", data: cat(coreVersion, floods), want: handshake.ErrLimitExceeded},
		{name: "garbage", data: garbage, want: handshake.ErrWrongNetwork},
		{name: "empty", data: nil, want: handshake.ErrPeerClosed},
		{name: "small-budget", data: coreSeq, limit: 150, maxBytes: 150, want: handshake.ErrLimitExceeded},
		{name: "few-messages", data: coreSeq, maxMsgs: 3, want: handshake.ErrLimitExceeded},
	}
}

// corpusFile encodes values as go test reads a seed corpus file.
func corpusFile(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		default:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		}
	}
	return b.Bytes()
}

// TestFuzzSeedCorpus checks, or with -update-fuzz-seeds writes, the
// committed seed corpora.
func TestFuzzSeedCorpus(t *testing.T) {
	t.Parallel()
	for _, s := range fuzzSeeds() {
		limit := s.limit
		if limit == 0 {
			limit = handshake.DefaultMaxBytes
		}
		for path, want := range map[string][]byte{
			filepath.Join("testdata", "fuzz", "FuzzReadMessage", "seed-"+s.name): corpusFile(s.data, limit),
			filepath.Join("testdata", "fuzz", "FuzzHandshake", "seed-"+s.name):   corpusFile(s.data, s.split, s.maxBytes, s.maxMsgs),
		} {
			if *updateFuzzSeeds {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is missing or stale (%v): run go test -run '^TestFuzzSeedCorpus$' -update-fuzz-seeds", path, err)
			}
		}
	}
}

// fuzzPeerWrite writes data to conn in pieces of split bytes (all at once
// when split is 0), then ends its stream: with a FIN over TCP, as a node
// closing would, or by closing a net.Pipe outright.
func fuzzPeerWrite(conn net.Conn, data []byte, split int) {
	if split == 0 {
		split = len(data)
	}
	for len(data) > 0 {
		n := min(split, len(data))
		if _, err := conn.Write(data[:n]); err != nil {
			break
		}
		data = data[n:]
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.CloseWrite()
		return
	}
	conn.Close()
}

// fuzzPeerRead swallows what the client writes, so that its writes never
// block on a synchronous net.Pipe, until the connection ends.
func fuzzPeerRead(conn net.Conn) {
	var buf [512]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// Goroutines of the scripted peer, which may outlive Handshake by design:
// a peer is still writing what the client stopped reading.
var fuzzPeerFuncs = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/bitcoin-handshake/handshake_test.fuzzPeerWrite"),
	goleak.IgnoreAnyFunction("github.com/bitcoin-handshake/handshake_test.fuzzPeerRead"),
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if server = <-accepted; err != nil || server == nil {
		t.Fatalf("loopback connection: %v", err)
	}
	return client, server
}

// handshakeFuzzed runs Handshake over net.Pipe against a peer writing
// data in pieces of split bytes, then closing, and checks the invariants
// that hold whatever the bytes: the call returns promptly, leaves no
// goroutine behind, stays within its caps, and returns a Result consistent
// with its error.
func handshakeFuzzed(t *testing.T, client, server net.Conn, data []byte, split uint8, maxBytes uint16, maxMsgs uint8) (handshake.Result, error) {
	t.Helper()
	opts := handshake.Options{Timeout: -1, MaxBytes: int(maxBytes), MaxMessages: int(maxMsgs)}
	capBytes, capMsgs := withDefault(opts.MaxBytes, handshake.DefaultMaxBytes), withDefault(opts.MaxMessages, handshake.DefaultMaxMessages)
	before := goleak.IgnoreCurrent()

	var peer sync.WaitGroup
	peer.Go(func() { fuzzPeerWrite(server, data, int(split)) })
	peer.Go(func() { fuzzPeerRead(server) })
	defer server.Close()
	defer peer.Wait()
	defer client.Close()

	// The peer always ends its stream, so anything near this deadline is
	// a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	res, err := handshake.Handshake(ctx, client, opts)
	if took := time.Since(start); took > 2*time.Second || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Handshake took %v (err %v): it must end with the peer's stream", took, err)
	}
	// Before the connection closes, which would unblock a leftover read
	// or write and hide it.
	if err := goleak.Find(append(fuzzPeerFuncs, before)...); err != nil {
		t.Fatalf("Handshake left a goroutine: %v", err)
	}

	if res.Err != err || (err == nil) != (res.Status == handshake.StatusOK) {
		t.Fatalf("Status %v with err %v, Result.Err %v", res.Status, err, res.Err)
	}
	decoded := res.Peer != (handshake.PeerVersion{})
	if (res.Status == handshake.StatusFailed) == decoded || decoded != (res.Timings.PeerVersion > 0) {
		t.Fatalf("Status %v, but peer version decoded: %v (%+v)", res.Status, decoded, res.Peer)
	}
	if res.BytesReceived > int64(capBytes) || res.BytesReceived > int64(len(data)) || len(res.Received) > capMsgs {
		t.Fatalf("read %d bytes and %d messages of %d sent; caps %d and %d",
			res.BytesReceived, len(res.Received), len(data), capBytes, capMsgs)
	}
	addr := client.RemoteAddr().String()
	if res.Transport != handshake.TransportV1 || res.Addr != addr {
		t.Fatalf("Transport %v, Addr %q, want v1 and %q", res.Transport, res.Addr, addr)
	}
	if err == nil {
		// Negotiation is what came between the version accepted and
		// the verack.
		last := len(res.Received) - 1
		if i := last - len(res.Negotiation) - 1; i < 0 || res.Received[i] != "version" || res.Received[last] != "verack" ||
			!slices.Equal(res.Negotiation, res.Received[i+1:last]) {
			t.Fatalf("completed with Received %q, Negotiation %q", res.Received, res.Negotiation)
		}
		return res, nil
	}
	var he *handshake.Error
	if !errors.As(err, &he) || he.Addr != addr {
		t.Fatalf("err = %#v, want an *Error for %s", err, addr)
	}
	switch he.Step {
	case handshake.StepSendVersion, handshake.StepReadVersion:
	case handshake.StepSendVerack, handshake.StepReadVerack:
		if res.Status == handshake.StatusFailed {
			t.Fatalf("failed at %q without a version", he.Step)
		}
	default:
		t.Fatalf("step %q", he.Step)
	}
	if !isOneOf(err, handshake.ErrWrongNetwork, handshake.ErrMalformed, handshake.ErrMessageTooLarge,
		handshake.ErrLimitExceeded, handshake.ErrProtocolViolation, handshake.ErrSelfConnection,
		handshake.ErrPeerTooOld, handshake.ErrPeerClosed) {
		t.Fatalf("err %v is none of the package's classes", err)
	}
	return res, err
}

// FuzzHandshake drives the state machine over net.Pipe with arbitrary peer
// bytes; see handshakeFuzzed for what must hold. Over a synchronous pipe
// the peer's close may also fail our pending write, so the fuzzer explores
// the write-failure paths too. Seeds: testdata/fuzz, written by
// TestFuzzSeedCorpus.
func FuzzHandshake(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, split uint8, maxBytes uint16, maxMsgs uint8) {
		client, server := net.Pipe()
		handshakeFuzzed(t, client, server, data, split, maxBytes, maxMsgs)
	})
}

// TestFuzzSeedOutcomes checks that each seed reaches the outcome it was
// written for, so that the corpus starts the fuzzer on every path of the
// state machine. It runs over TCP, where the peer's FIN leaves our writes
// to the kernel as a real node's would, so that outcomes are exact.
func TestFuzzSeedOutcomes(t *testing.T) {
	for _, s := range fuzzSeeds() {
		t.Run(s.name, func(t *testing.T) {
			client, server := tcpPair(t)
			res, err := handshakeFuzzed(t, client, server, s.data, s.split, s.maxBytes, s.maxMsgs)
			if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
				t.Errorf("%v, %v (received %q); want %v", res.Status, err, res.Received, s.want)
			}
		})
	}
}

// withDefault is v, or def when v is zero, as Options fills its defaults.
func withDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func isOneOf(err error, targets ...error) bool {
	return slices.ContainsFunc(targets, func(t error) bool { return errors.Is(err, t) })
}
