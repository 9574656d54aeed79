package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/bitcoin-handshake/handshake"
)

// The exit statuses of dial, sweep and crawl: one rule, so that a script
// can tell a run that reached the network from one that did not.
const (
	ExitOK    = 0 // at least one handshake completed
	ExitNone  = 1 // none did, or the run could not be carried out
	ExitUsage = 2 // bad flags or arguments
)

// ExitRule ends the -h of dial, sweep and crawl.
const ExitRule = `Exit status: 0 when at least one handshake completed; 1 when none did, or
when the run could not be carried out (no address to start from, a report
that could not be written); 2 for bad flags or arguments.`

// Status is the exit status of a run in which completed handshakes
// completed (Status OK).
func Status(completed int) int {
	if completed > 0 {
		return ExitOK
	}
	return ExitNone
}

// NewFlagSet returns the flag set of the program name, which returns its
// errors rather than exiting, and whose -h writes "usage: " and synopsis
// (the one-line form, such as "dial [flags] host[:port]..."), the about
// paragraph, the flags and, when not empty, footer.
func NewFlagSet(name, synopsis, about, footer string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
		if footer != "" {
			fmt.Fprintf(w, "\n%s\n", footer)
		}
	}
	return fs
}

// Parse parses args into fs. For -h it writes fs's usage to stderr and
// returns flag.ErrHelp; any other error is returned unprinted, for
// UsageError to print on one line.
func Parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fs.Usage()
	}
	return err
}

// UsageError ends a program whose flags or arguments did not parse: after
// -h (its usage already written) with status 0, otherwise with err on one
// line of stderr, "name: err", and ExitUsage.
func UsageError(stderr io.Writer, name string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, Printable(err.Error()))
	return ExitUsage
}

// CheckAddr checks the address of a node to dial as what (a flag such as
// "-addr", or "address" for an argument) gives it: a host alone (the
// network's default port) or host:port, the port one a node can listen on,
// 1 to 65535, so that a typo is a usage error rather than a failed
// handshake.
func CheckAddr(what, a string) error {
	host, ps, err := net.SplitHostPort(a)
	switch {
	case err == nil:
		p, err := port(ps)
		if err == nil && p == 0 && !isI2P(host) {
			err = errors.New("port 0 is not a port a node listens on (1 to 65535)")
		}
		if err != nil {
			return fmt.Errorf("%s %q: %v", what, a, err)
		}
	case strings.Count(a, ":") == 1: // host:port gone wrong; more colons: an IPv6 address alone
		return fmt.Errorf("%s %q: %v", what, a, err)
	default:
		host = a
	}
	if strings.TrimSpace(host) == "" || strings.ContainsAny(host, " /") {
		return fmt.Errorf("%s %q: not a host name or IP address", what, a)
	}
	return nil
}

// isI2P: an I2P name's only port is 0 (BIP 155), the one exception to
// the range every other address's port is held to.
func isI2P(host string) bool {
	n, err := handshake.ParseHost(host)
	return err == nil && n == handshake.NetI2P
}

// CheckHostPort checks the value v of flag name, which must be host:port
// (a DNS server, a proxy, or with listen a local address to listen on, where
// port 0 asks for any free port). An empty v, the flag unset, passes.
func CheckHostPort(name, v string, listen bool) error {
	if v == "" {
		return nil
	}
	_, ps, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%s %q: want host:port", name, v)
	}
	p, err := port(ps)
	if err == nil && p == 0 && !listen {
		err = errors.New("port 0 cannot be dialled (1 to 65535)")
	}
	if err != nil {
		return fmt.Errorf("%s %q: %v", name, v, err)
	}
	return nil
}

// port parses a port number, refusing what is not one or is over 65535.
func port(s string) (uint64, error) {
	p, err := strconv.ParseUint(s, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange), err == nil && p > 65535:
		return 0, fmt.Errorf("port %s is over 65535", s)
	case err != nil:
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	return p, nil
}

// CheckAddrs checks each address of a repeatable flag such as -addr with
// CheckAddr.
func CheckAddrs(name string, addrs []string) error {
	for _, a := range addrs {
		if err := CheckAddr(name, a); err != nil {
			return err
		}
	}
	return nil
}
