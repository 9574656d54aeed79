package main

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Validity of the seed's signatures. A signature is made valid from an
// hour back (clocks of validators run slow or fast) for a week, and made
// anew once a day, so that a seed that stops signing leaves validators a
// week before its answers go bogus.
const (
	sigBackdate = time.Hour
	sigLifetime = 7 * 24 * time.Hour
	sigRefresh  = 24 * time.Hour
)

// keyset is the zone's DNSSEC keys, read from the files BIND's
// dnssec-keygen writes: the key-signing key signs the DNSKEY set, the
// zone-signing key everything else. One key with the SEP flag (a CSK)
// may do both.
type keyset struct {
	ksk, zsk    *dns.DNSKEY
	kskP, zskP  crypto.Signer
	algorithm   uint8
	dnskeys     []dns.RR // the DNSKEY set: each key once
	description string   // for the log: tags and algorithm
}

// readKeys reads K<zone>.+<alg>+<tag> key pairs: each path names the
// .key or the .private file, or the common prefix of both.
func readKeys(zone string, paths []string) (*keyset, error) {
	ks := &keyset{}
	for _, p := range paths {
		base := strings.TrimSuffix(strings.TrimSuffix(p, ".key"), ".private")
		pub, err := os.ReadFile(base + ".key")
		if err != nil {
			return nil, fmt.Errorf("dnssec key: %w", err)
		}
		rr, err := dns.NewRR(publicLine(string(pub)))
		if err != nil {
			return nil, fmt.Errorf("dnssec key %s.key: %w", base, err)
		}
		key, ok := rr.(*dns.DNSKEY)
		if !ok {
			return nil, fmt.Errorf("dnssec key %s.key: not a DNSKEY record", base)
		}
		if !strings.EqualFold(key.Hdr.Name, zone) {
			return nil, fmt.Errorf("dnssec key %s.key: made for %s, not the zone %s", base, key.Hdr.Name, zone)
		}
		switch key.Algorithm {
		case dns.ECDSAP256SHA256, dns.ED25519:
		default:
			return nil, fmt.Errorf("dnssec key %s.key: algorithm %s; want ECDSAP256SHA256 or ED25519", base, dns.AlgorithmToString[key.Algorithm])
		}
		f, err := os.Open(base + ".private")
		if err != nil {
			return nil, fmt.Errorf("dnssec key: %w", err)
		}
		priv, err := key.ReadPrivateKey(f, base+".private")
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("dnssec key %s.private: %w", base, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("dnssec key %s.private: cannot sign", base)
		}
		if ks.algorithm != 0 && ks.algorithm != key.Algorithm {
			// Validators want the whole zone signed with every
			// algorithm of its DNSKEY set (RFC 6840 5.11).
			return nil, errors.New("dnssec keys: all keys must share one algorithm")
		}
		ks.algorithm = key.Algorithm
		key.Hdr.Name = strings.ToLower(key.Hdr.Name)
		if key.Flags&dns.SEP != 0 {
			if ks.ksk != nil {
				return nil, errors.New("dnssec keys: more than one key-signing key")
			}
			ks.ksk, ks.kskP = key, signer
		} else {
			if ks.zsk != nil {
				return nil, errors.New("dnssec keys: more than one zone-signing key")
			}
			ks.zsk, ks.zskP = key, signer
		}
		ks.dnskeys = append(ks.dnskeys, key)
	}
	switch {
	case ks.ksk == nil:
		return nil, errors.New("dnssec keys: no key-signing key (dnssec-keygen -f KSK)")
	case ks.zsk == nil: // a CSK signs all
		ks.zsk, ks.zskP = ks.ksk, ks.kskP
	}
	ks.description = fmt.Sprintf("%s ksk=%d zsk=%d", dns.AlgorithmToString[ks.algorithm], ks.ksk.KeyTag(), ks.zsk.KeyTag())
	return ks, nil
}

// publicLine is the DNSKEY line of a .key file, which begins with
// comments.
func publicLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, ";") {
			return t
		}
	}
	return ""
}

// ds is the DS record the parent zone publishes for the key-signing key
// (SHA-256, as RFC 8624 recommends).
func (ks *keyset) ds() *dns.DS { return ks.ksk.ToDS(dns.SHA256) }

// sign returns the RRSIG of rrset, made with the key-signing key for the
// DNSKEY set and the zone-signing key otherwise.
func (ks *keyset) sign(rrset []dns.RR, now time.Time) (*dns.RRSIG, error) {
	key, priv := ks.zsk, ks.zskP
	if rrset[0].Header().Rrtype == dns.TypeDNSKEY {
		key, priv = ks.ksk, ks.kskP
	}
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Name: rrset[0].Header().Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: rrset[0].Header().Ttl},
		Algorithm:  key.Algorithm,
		KeyTag:     key.KeyTag(),
		SignerName: key.Hdr.Name,
		Inception:  uint32(now.Add(-sigBackdate).Unix()),
		Expiration: uint32(now.Add(sigLifetime).Unix()),
	}
	if err := sig.Sign(priv, rrset); err != nil {
		return nil, fmt.Errorf("sign %s: %w", dns.TypeToString[rrset[0].Header().Rrtype], err)
	}
	return sig, nil
}

// sigCache keeps the signatures of record sets that do not change from one
// snapshot to the next (DNSKEY, NS, NSEC, HINFO), so that each is made once
// a day, not once per snapshot.
type sigCache struct {
	made map[string]*dns.RRSIG
	used map[string]bool // since the last sweep
}

// get returns a signature of rrset still fresh at now, making one if none.
func (c *sigCache) get(ks *keyset, rrset []dns.RR, now time.Time) (*dns.RRSIG, error) {
	var b strings.Builder
	for _, rr := range rrset {
		b.WriteString(strings.ToLower(rr.String()))
		b.WriteByte('\n')
	}
	k := b.String()
	if c.used == nil {
		c.used = make(map[string]bool)
	}
	c.used[k] = true
	if sig, ok := c.made[k]; ok && int64(sig.Inception)+int64(sigBackdate/time.Second)+int64(sigRefresh/time.Second) > now.Unix() {
		return sig, nil
	}
	sig, err := ks.sign(rrset, now)
	if err != nil {
		return nil, err
	}
	if c.made == nil {
		c.made = make(map[string]*dns.RRSIG)
	}
	c.made[k] = sig
	return sig, nil
}

// sweep forgets the signatures not asked for since the last sweep: record
// sets gone from the zone.
func (c *sigCache) sweep() {
	for k := range c.made {
		if !c.used[k] {
			delete(c.made, k)
		}
	}
	clear(c.used)
}
