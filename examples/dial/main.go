// Command dial performs the Bitcoin handshake with the nodes whose
// addresses are its arguments and prints what each one said.
//
//	go run ./examples/dial -network regtest 127.0.0.1:18444
//	go run ./examples/dial -json seed.example.org 203.0.113.7:8333
//
// It exits 0 when at least one handshake completed, 1 when none did, and 2
// for bad flags or addresses (a port outside 1 to 65535 included), the
// rule sweep and crawl follow too.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// synopsis is the usage line: the addresses are arguments, not flags.
const synopsis = "dial [-network name] [-transport auto|v1|v2] [-json] [-timeout d] host[:port]..."

func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("dial", synopsis,
		"Performs the Bitcoin handshake with each node whose address is an argument\n"+
			"(host, host:port or [IPv6]:port; without a port, the network's default) and\n"+
			"prints what it said.", cli.ExitRule)
	network := fs.String("network", "mainnet", "network: "+strings.Join(handshake.NetworkNames(), ", "))
	asJSON := fs.Bool("json", false, "print one JSON object per node")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit per node")
	var transport handshake.Transport
	fs.TextVar(&transport, "transport", handshake.TransportAuto, "transport: auto (v2, falling back to v1), v1 or v2")
	usage := func(err error) int {
		return cli.UsageError(stderr, "dial", fmt.Errorf("%w (usage: %s)", err, synopsis))
	}
	if err := cli.Parse(fs, args, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cli.ExitOK
		}
		return usage(err)
	}
	params, err := handshake.ParseNetwork(*network)
	if err != nil {
		return usage(err)
	}
	if *timeout <= 0 {
		return usage(fmt.Errorf("-timeout must be positive, got %v", *timeout))
	}
	if fs.NArg() == 0 {
		return usage(errors.New("no address given"))
	}
	for _, a := range fs.Args() {
		if err := cli.CheckAddr("address", a); err != nil {
			return usage(err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := handshake.Options{ChainParams: params, Timeout: *timeout, Transport: transport}
	enc := json.NewEncoder(stdout)
	completed := 0
	for _, addr := range fs.Args() {
		res, _ := handshake.Dial(ctx, addr, opts)
		if res.Status == handshake.StatusOK {
			completed++
		}
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				fmt.Fprintf(stderr, "dial: %v\n", err)
				return cli.ExitNone
			}
			continue
		}
		printResult(stdout, res)
	}
	return cli.Status(completed)
}

// printResult prints what a node said; the peer's strings are escaped
// (cli.Sanitize), as no terminal should see them raw.
func printResult(w io.Writer, r handshake.Result) {
	fmt.Fprintf(w, "%s: %s over %s in %v\n", r.Addr, r.Status, r.Transport, r.Timings.Total.Round(time.Microsecond))
	if r.Status != handshake.StatusFailed {
		p := r.Peer
		fmt.Fprintf(w, "  user agent   %s\n", cli.Sanitize(p.UserAgent))
		fmt.Fprintf(w, "  protocol     %d (negotiated %d)\n", p.ProtocolVersion, r.NegotiatedVersion)
		fmt.Fprintf(w, "  services     %v\n", p.Services)
		fmt.Fprintf(w, "  start height %d\n", p.StartHeight)
		fmt.Fprintf(w, "  relay        %v\n", p.Relay)
		fmt.Fprintf(w, "  sees us as   %v\n", p.AddrRecv.Addr)
		fmt.Fprintf(w, "  negotiation  %s\n", orNone(cli.SanitizeAll(r.Negotiation)))
		if len(r.Features) > 0 {
			fmt.Fprintf(w, "  features     %s\n", orNone(cli.Features(r.Features)))
		}
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(w, "  ignored      %s\n", orNone(cli.Ignored(r.Ignored)))
	}
	if r.SessionID != "" {
		fmt.Fprintf(w, "  session id   %s\n", r.SessionID)
	}
	if r.Fallback != "" {
		fmt.Fprintf(w, "  fallback     %s\n", r.Fallback)
	}
	fmt.Fprintf(w, "  received     %s\n", orNone(cli.SanitizeAll(r.Received)))
	fmt.Fprintf(w, "  bytes        %d sent, %d received\n", r.BytesSent, r.BytesReceived)
	if r.Err != nil {
		fmt.Fprintf(w, "  error        %s\n", cli.Printable(r.Err.Error()))
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}
