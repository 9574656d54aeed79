package main

import (
	"sync/atomic"

	"golang.org/x/net/dns/dnsmessage"
)

// Query types and outcomes as the metrics name them, from fixed sets so
// that queries cannot grow the metrics' label values.
var (
	typeNames = [...]string{"", "A", "AAAA", "NS", "SOA", "TXT", "MX", "CNAME", "ALL", "DNSKEY", "other"}
	// outcomeNames: ratelimited and slipped are the rate limit's (see
	// rrl.go); servfail means no snapshot yet.
	outcomeNames = [...]string{"noerror", "nodata", "nxdomain", "refused", "formerr", "notimp", "truncated", "dropped",
		"ratelimited", "slipped", "servfail"}
)

const (
	oNoError = iota
	oNoData
	oNXDomain
	oRefused
	oFormErr
	oNotImp
	oTruncated
	oDropped
	oRateLimited
	oSlipped
	oServFail
)

// queryCounts counts queries by type and outcome, without a lock or an
// allocation per query.
type queryCounts [len(typeNames)][len(outcomeNames)]atomic.Uint64

func (r *responder) note(t, outcome int) {
	if r.count != nil {
		r.count[t][outcome].Add(1)
	}
}

func typeIndex(t dnsmessage.Type) int {
	switch t {
	case dnsmessage.TypeA:
		return 1
	case dnsmessage.TypeAAAA:
		return 2
	case dnsmessage.TypeNS:
		return 3
	case dnsmessage.TypeSOA:
		return 4
	case dnsmessage.TypeTXT:
		return 5
	case dnsmessage.TypeMX:
		return 6
	case dnsmessage.TypeCNAME:
		return 7
	case dnsmessage.TypeALL:
		return 8
	case typeDNSKEY:
		return 9
	}
	return 10
}
