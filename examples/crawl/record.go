package main

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

// record is one line of -json: the crawl record schema that docs/crawl.md
// documents and the report reads. Its keys do not change.
type record struct {
	Addr       string                `json:"addr"`
	Network    handshake.AddrNetwork `json:"network"`
	Chain      string                `json:"chain"`
	Depth      int                   `json:"depth"`
	Services   wire.ServiceFlag      `json:"services"`
	Time       string                `json:"time"`
	Status     string                `json:"status"`
	Handshake  *handshake.Result     `json:"handshake,omitempty"`
	PingMS     *float64              `json:"ping_ms,omitempty"`
	ElapsedMS  *float64              `json:"elapsed_ms,omitempty"`
	AddrsGiven int                   `json:"addrs_given"`
	AddrsNew   int                   `json:"addrs_new"`
	Error      string                `json:"error,omitempty"`
	ErrorKind  string                `json:"error_kind,omitempty"` // handshake.ErrorKind of Error
	Skipped    string                `json:"skipped,omitempty"`
}

// interrupted is the skip reason of an address the crawl gave up on Ctrl-C.
const interrupted = "not visited (interrupted)"

func newRecord(r crawl.Result, chain string) record {
	l := record{
		Addr: r.Addr, Network: r.Network, Chain: chain, Depth: r.Depth, Services: r.Services,
		Time:   r.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Status: r.Status.String(), Handshake: r.Handshake,
		AddrsGiven: len(r.Addrs), AddrsNew: r.New, Skipped: r.Skipped,
	}
	var pe *handshake.ProxyError
	switch {
	case errors.Is(r.Err, handshake.ErrProxyDown) && errors.As(r.Err, &pe):
		// Not dialled: the proxy that would reach it was down.
		l.Status, l.Skipped, l.Handshake = "SKIPPED", "proxy "+pe.Proxy+" down", nil
		l.ErrorKind = "proxy-down"
	case errors.Is(r.Err, crawl.ErrNotVisited):
		// Neither reachable nor not: not dialled, as a skipped address.
		l.Status, l.Skipped, l.Handshake = "SKIPPED", interrupted, nil
	case r.Skipped != "":
		l.Status = "SKIPPED"
	case r.Err != nil:
		l.Error, l.ErrorKind = r.Err.Error(), handshake.ErrorKind(r.Err)
	}
	if r.Ping > 0 {
		ms := float64(r.Ping.Microseconds()) / 1000
		l.PingMS = &ms
	}
	if l.Status != "SKIPPED" {
		// The whole visit: connect, handshake, addresses and ping.
		ms := float64(r.Elapsed.Microseconds()) / 1000
		l.ElapsedMS = &ms
	}
	return l
}

// recorder writes records, one write per line, so that what was written
// is complete whenever the program stops.
type recorder struct {
	w     io.Writer
	chain string
	err   error // the first write error
}

func newRecorder(w io.Writer, chain string) *recorder { return &recorder{w: w, chain: chain} }

func (o *recorder) write(r crawl.Result) {
	if o.err != nil {
		return
	}
	b, err := json.Marshal(newRecord(r, o.chain))
	if err == nil {
		_, err = o.w.Write(append(b, '\n'))
	}
	o.err = err
}

func logNode(lg *cli.Logger, r crawl.Result) {
	switch {
	case errors.Is(r.Err, crawl.ErrNotVisited):
		lg.Log("WARN", "`%s`: depth %d, %s", r.Addr, r.Depth, interrupted)
	case r.Skipped != "":
		lg.Log("WARN", "`%s`: depth %d, skipped: %s", r.Addr, r.Depth, r.Skipped)
	case r.Status == handshake.StatusOK:
		h := r.Handshake
		lg.Log("INFO", "`%s`: depth %d, %s over %s, protocol %d, ping %v, gave %d addresses (%d new)", r.Addr, r.Depth,
			cli.Sanitize(h.Peer.UserAgent), h.Transport, h.Peer.ProtocolVersion, r.Ping.Round(time.Microsecond), len(r.Addrs), r.New)
	default:
		lg.Log("WARN", "`%s`: depth %d, unreachable: %v", r.Addr, r.Depth, cli.Cause(r.Err))
	}
}

// transportOf is the transport of a visit's handshake, 0 when none.
func transportOf(r crawl.Result) handshake.Transport {
	if r.Handshake == nil {
		return 0
	}
	return r.Handshake.Transport
}
