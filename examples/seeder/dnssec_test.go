package main

import (
	"crypto"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"
	"golang.org/x/net/dns/dnsmessage"
)

// testKeys makes a KSK and a ZSK for the test zone in process, written
// as dnssec-keygen writes them, and reads them back as the seeder does.
func testKeys(t testing.TB, alg string) *keyset {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, flags := range []uint16{257, 256} {
		k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "seed.example.test.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
			Flags: flags, Protocol: 3, Algorithm: dns.StringToAlgorithm[alg]}
		bits := 256
		priv, err := k.Generate(bits)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, k.Hdr.Name+"+"+alg+"+"+string(rune('0'+flags%10)))
		if err := os.WriteFile(base+".key", []byte("; a test key\n"+k.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv.(crypto.PrivateKey))), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, base)
	}
	ks, err := readKeys("seed.example.test.", paths)
	if err != nil {
		t.Fatal(err)
	}
	return ks
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
