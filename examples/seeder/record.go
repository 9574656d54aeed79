package main

import "time"

// feature is a BIP434 feature message as the schema stores it.
type feature struct {
	ID   string `json:"id"`
	Data string `json:"data"` // hex
}

// record is what the seeder knows of one address: a row of the nodes table.
type record struct {
	Addr, Network, Source string
	Services              uint64
	ProtocolVersion       uint32
	UserAgent             string
	StartHeight           int32
	Transport             string
	Negotiation           []string
	Features              []feature
	PingMS                float64
	HasPing               bool
	FirstSeen, LastTry    time.Time
	LastSuccess, NextTry  time.Time
	Tries, Successes      int
	FailuresInRow         int
	LastStatus, LastError string
	Good                  bool
	Stats                 stats
}

// target is an address to visit.
type target struct {
	Addr     string
	Network  string
	Services uint64 // as last announced or gossiped
}

// visit is what one visit to a node learned, whichever engine made it.
type visit struct {
	Addr            string
	Network         string    // ipv4, ipv6, onion, i2p or cjdns
	Time            time.Time // when the visit started
	Status          string    // OK | PARTIALLY OK | FAILED
	Services        uint64
	ProtocolVersion uint32
	UserAgent       string
	StartHeight     int32
	Transport       string
	Negotiation     []string
	Features        []feature
	PingMS          float64
	HasPing         bool
	Err             string
	ErrKind         string // handshake.ErrorKind of a failed visit's error
	ProxyDown       string // the proxy that was down, for a visit not made
	Learned         []learned
}

// learned is an address a node gossiped.
type learned struct {
	Addr     string
	Network  string
	Services uint64
}
