// Package report turns what the programs measured — handshake results from
// sweep, crawl records from crawl — into one self-contained HTML page of
// charts and a sortable node table.
//
// The data model (Data, Node, Facts) is separate from the drawing: Load and
// Data.Add fill it, Summarize counts it, and Render draws it.
package report

import (
	"time"
)

// Status values as the programs write them.
const (
	StatusOK          = "OK"
	StatusPartiallyOK = "PARTIALLY OK"
	StatusFailed      = "FAILED"
	StatusSkipped     = "SKIPPED"
)

// Facts describe the run as a whole. Every field is optional; a zero field
// is left out of the page, or derived from the nodes where it can be (see
// Data.facts).
type Facts struct {
	Title       string        // the page's heading; default "Bitcoin network report"
	Program     string        // the program that measured, e.g. "sweep"
	Network     string        // the chain's name, e.g. "mainnet"
	Start       time.Time     // when the run started
	Elapsed     time.Duration // how long it ran
	Addresses   int           // addresses visited; default: the nodes read
	Skipped     int           // addresses not visited (private, no dialer...)
	Concurrency int           // visits in flight
	Sources     []string      // the inputs read, for the page's footer
}

// Feature is a BIP434 feature message a peer sent.
type Feature struct {
	ID   string `json:"id"`
	Data string `json:"data"` // hex
}

// Ignored is a message the peer sent that Bitcoin Core ignores.
type Ignored struct {
	Command string `json:"command"`
	Reason  string `json:"reason"`
}

// Node is one visited address, whichever program wrote it.
type Node struct {
	Addr    string
	Network string // ipv4, ipv6, onion, i2p or cjdns
	Chain   string // empty when the input does not say
	Depth   int    // crawl depth; -1 when not a crawl record
	Time    time.Time
	Status  string // StatusOK, StatusPartiallyOK, StatusFailed or StatusSkipped
	Skipped string // why it was skipped

	Transport   string // v1 or v2
	Fallback    string // why v2 fell back to v1
	HasPeer     bool   // the peer's version arrived
	UserAgent   string
	Version     uint32 // the library's PeerVersion.ProtocolVersion, any value a peer sends
	Services    uint64 // from the peer's version, else as gossiped
	StartHeight int32
	Negotiation []string
	Features    []Feature
	Ignored     []Ignored

	ConnectMS, PeerVersionMS, PeerVerackMS, TotalMS float64
	PingMS                                          float64
	HasPing                                         bool

	AddrsGiven, AddrsNew int
	HasAddrs             bool // a crawl record, which counts addresses

	Error string // the error, as written
	Step  string // the handshake step the error names, "" when none
	Class string // the error's class, see classify
	// Kind is the failure's handshake.ErrorKind ("timeout",
	// "onion-not-found", ...): as the record wrote it, else read from the
	// error's text where it names a proxy's answer, else Class.
	Kind string
}

// Malformed is an input line that could not be read as a record.
type Malformed struct {
	Source string // the input's name
	Line   int    // 1-based
	Err    string
	Text   string // the start of the line
}

// Data is everything a report shows.
type Data struct {
	Facts     Facts
	Nodes     []Node
	Malformed []Malformed // the first MaxMalformed, for the page
	// BadLines counts every malformed line, kept or not.
	BadLines int
}

// MaxMalformed bounds the malformed lines a Data keeps to show.
const MaxMalformed = 20
