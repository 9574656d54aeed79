package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/dns/dnsmessage"
)

// testKeys makes a KSK and a ZSK for the test zone in process, written
// as dnssec-keygen writes them, and reads them back as the seeder does.
func testKeys(t testing.TB, alg string) *keyset {
	t.Helper()
	dir := t.TempDir()
	ks, err := readKeys("seed.example.test.", []string{
		writeKey(t, dir, "seed.example.test.", alg, 257), writeKey(t, dir, "seed.example.test.", alg, 256)})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// writeKey writes a new key in dnssec-keygen's files in dir and returns
// their common path.
func writeKey(t testing.TB, dir, zone, alg string, flags uint16) string {
	t.Helper()
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: flags, Protocol: 3, Algorithm: dns.StringToAlgorithm[alg]}
	bits := 256
	if alg == "RSASHA256" {
		bits = 2048
	}
	priv, err := k.Generate(bits)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", zone, k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte("; a test key\n"+k.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv)), 0o600); err != nil {
		t.Fatal(err)
	}
	return base
}

// TestReadKeysRefuses: keys the seed cannot sign a zone with are refused
// at start, each with an error that says why.
func TestReadKeysRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const z = "seed.example.test."
	ksk, zsk := writeKey(t, dir, z, "ECDSAP256SHA256", 257), writeKey(t, dir, z, "ECDSAP256SHA256", 256)
	for _, c := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"no KSK", []string{zsk}, "no key-signing key"},
		{"other zone", []string{writeKey(t, dir, "other.test.", "ECDSAP256SHA256", 257)}, "not the zone"},
		{"RSA", []string{writeKey(t, dir, z, "RSASHA256", 257)}, "want ECDSAP256SHA256 or ED25519"},
		{"two algorithms", []string{ksk, writeKey(t, dir, z, "ED25519", 256)}, "one algorithm"},
		{"two KSKs", []string{ksk, writeKey(t, dir, z, "ECDSAP256SHA256", 257)}, "more than one key-signing key"},
		{"missing", []string{filepath.Join(dir, "Knope")}, "no such file"},
	} {
		if _, err := readKeys(z, c.paths); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	for _, paths := range [][]string{{ksk + ".key", zsk + ".private"}, {ksk}} { // a CSK alone signs all
		if ks, err := readKeys(z, paths); err != nil || ks.ksk == nil || ks.zsk == nil {
			t.Errorf("%v: %v", paths, err)
		}
	}
}

// mkQueryDO is a query with EDNS and the DO bit: it asks for signatures.
func mkQueryDO(t testing.TB, name string, qt dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x1234, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qt, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	b.StartAdditionals()
	var rh dnsmessage.ResourceHeader
	rh.SetEDNS0(1232, dnsmessage.RCodeSuccess, true)
	b.OPTResource(rh, dnsmessage.OPTResource{})
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// needTool returns the path of a Debian tool a test runs; .ci/run
// installs it, so under CI its absence is a failure, elsewhere a loud
// skip.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (Debian's %s) is needed, and CI=true: %v", name, pkg, err)
		}
		t.Skipf("SKIPPED: %s is needed (apt-get install %s): %v", name, pkg, err)
	}
	return p
}

// keygen makes a KSK and a ZSK of alg for the test zone with BIND's
// dnssec-keygen, in a directory of their own, and returns their paths.
func keygen(t *testing.T, alg string) []string {
	t.Helper()
	tool := needTool(t, "dnssec-keygen", "bind9-utils")
	dir := t.TempDir()
	var out []string
	for _, extra := range [][]string{{"-f", "KSK"}, nil} {
		args := append([]string{"-q", "-K", dir, "-a", alg, "-n", "ZONE"}, extra...)
		b, err := exec.Command(tool, append(args, "seed.example.test")...).CombinedOutput()
		if err != nil {
			t.Fatalf("dnssec-keygen: %v\n%s", err, b)
		}
		out = append(out, filepath.Join(dir, strings.TrimSpace(string(b))))
	}
	return out
}

// anchor writes delv's trust anchor file for the zone's KSK.
func anchor(t *testing.T, ks *keyset) string {
	t.Helper()
	k := ks.ksk
	p := filepath.Join(t.TempDir(), "anchor.conf")
	conf := fmt.Sprintf("trust-anchors {\n\t%s static-key %d %d %d %q;\n};\n", k.Hdr.Name, k.Flags, k.Protocol, k.Algorithm, k.PublicKey)
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// delv asks the server with BIND's validating delv, trusting the anchor
// file, and returns what it printed.
func delv(t *testing.T, tool, addr, anchorFile, name, qtype string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, tool, "@"+host, "-p", port, "-a", anchorFile, "+root=seed.example.test",
		"+noclass", "+nottl", name, qtype).CombinedOutput()
	return string(out)
}

// TestDelvValidates: BIND's delv, trusting the zone's key-signing key,
// fully validates the seed's A, AAAA, NS, SOA and DNSKEY answers, its
// NODATA and its NXDOMAIN, for keys of both algorithms made by
// dnssec-keygen; with the other algorithm's keys in its trust anchor
// (the keys swapped), it rejects the same answers.
func TestDelvValidates(t *testing.T) {
	t.Parallel()
	tool := needTool(t, "delv", "bind9-dnsutils")
	sets := map[string]*keyset{}
	for _, alg := range []string{"ECDSAP256SHA256", "ED25519"} {
		ks, err := readKeys("seed.example.test.", keygen(t, alg))
		if err != nil {
			t.Fatal(err)
		}
		sets[alg] = ks
	}
	for alg, ks := range sets {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			r := &responder{zone: testZone(t), keys: ks}
			r.set(testSnapshot())
			s, err := listenDNS("127.0.0.1:0", r, slog.New(slog.DiscardHandler), dnsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			good := anchor(t, ks)
			other := "ED25519"
			if alg == other {
				other = "ECDSAP256SHA256"
			}
			swapped := anchor(t, sets[other])
			for _, c := range []struct{ name, qtype, want string }{
				{"seed.example.test", "A", "; fully validated"},
				{"seed.example.test", "AAAA", "; fully validated"},
				{"x9.seed.example.test", "A", "; fully validated"},
				{"x809.seed.example.test", "AAAA", "; fully validated"},
				{"seed.example.test", "NS", "; fully validated"},
				{"seed.example.test", "SOA", "; fully validated"},
				{"seed.example.test", "DNSKEY", "; fully validated"},
				{"seed.example.test", "ANY", "; fully validated"},
				{"x9.seed.example.test", "HINFO", "; fully validated"},
				{"x9.seed.example.test", "TXT", "; negative response, fully validated"},
				{"x5.seed.example.test", "A", "; negative response, fully validated"},
				{"www.seed.example.test", "A", "; negative response, fully validated"},
				{"a.x9.seed.example.test", "AAAA", "; negative response, fully validated"},
				{"zzz.seed.example.test", "A", "; negative response, fully validated"},
				{"x100000.seed.example.test", "A", "; negative response, fully validated"},
			} {
				out := delv(t, tool, s.Addr(), good, c.name, c.qtype)
				if !strings.Contains(out, c.want) {
					t.Errorf("%s %s: delv says\n%s", c.name, c.qtype, out)
				}
				if c.qtype == "A" && c.want == "; fully validated" && !strings.Contains(out, "\tA\t") {
					t.Errorf("%s %s: no address in\n%s", c.name, c.qtype, out)
				}
				if out := delv(t, tool, s.Addr(), swapped, c.name, c.qtype); strings.Contains(out, "fully validated") || !strings.Contains(out, "resolution failed") {
					t.Errorf("%s %s with the keys swapped: delv says\n%s", c.name, c.qtype, out)
				}
			}
		})
	}
}

// TestSignedRebuildPause: a signed zone keeps its answers (and their
// signatures) for signedRebuild once it has nodes, whatever the crawl
// publishes meanwhile, but takes its first snapshot with nodes at once;
// an unsigned zone takes every snapshot.
func TestSignedRebuildPause(t *testing.T) {
	t.Parallel()
	empty := newSnapshot(nil, time.Now())
	a, b := testSnapshot(), testSnapshot()
	for _, signed := range []bool{false, true} {
		r := &responder{zone: testZone(t)}
		if signed {
			r.keys = testKeys(t, "ED25519")
		}
		r.set(empty)
		r.set(a)
		if r.cur.Load().snap != a {
			t.Errorf("signed=%v: the first snapshot with nodes was not taken", signed)
		}
		r.set(b)
		if got := r.cur.Load().snap; (got == b) == signed || r.snap.Load() != b {
			t.Errorf("signed=%v: answering from %p after a=%p, b=%p", signed, got, a, b)
		}
	}
}
