package cli

import (
	"flag"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// Net holds the flags with which sweep, crawl and seeder reach the
// networks beyond IPv4 and IPv6, named as Bitcoin Core names them: Tor
// (-proxy, -proxyrandomize), I2P (-i2psam) and CJDNS (-cjdnsreachable).
// Register adds them to a flag set; after parsing, Check validates them
// and Crawl or Dialers turn them into the library's options.
type Net struct {
	// Proxies are the Tor SOCKS5 ports (-proxy, repeatable; -onion is an
	// alias, as in Core).
	Proxies List
	// ProxyRandomize sends fresh credentials per connection, so that Tor
	// builds a circuit for each (-proxyrandomize, default true).
	ProxyRandomize bool
	// ProxyMaxPending caps the connections in flight per proxy
	// (-proxy-max-pending, default handshake.DefaultTorMaxPending).
	ProxyMaxPending int
	// I2PSAM is the I2P router's SAM bridge (-i2psam); "" for none.
	I2PSAM string
	// CJDNSReachable says fc00::/8 is reached directly (-cjdnsreachable).
	CJDNSReachable bool
}

// Register adds the flags to fs.
func (n *Net) Register(fs *flag.FlagSet) {
	fs.Var(&n.Proxies, "proxy", "Tor SOCKS5 proxy `host:port` for onion addresses (repeatable: connections are spread over them; Tor's is 127.0.0.1:9050)")
	fs.Var(&n.Proxies, "onion", "the same as -proxy, as Bitcoin Core's -onion")
	fs.BoolVar(&n.ProxyRandomize, "proxyrandomize", true, "fresh random credentials per connection, so that Tor builds a circuit for each (stream isolation)")
	fs.IntVar(&n.ProxyMaxPending, "proxy-max-pending", handshake.DefaultTorMaxPending, "connections in flight at once per -proxy (and at the -i2psam router)")
	fs.StringVar(&n.I2PSAM, "i2psam", "", "I2P router's SAM 3.1 bridge `host:port` for I2P addresses (i2pd and Java I2P: 127.0.0.1:7656)")
	fs.BoolVar(&n.CJDNSReachable, "cjdnsreachable", false, "this host reaches CJDNS (fc00::/8) directly: dial CJDNS addresses")
}

// Check validates the flags' values; its error names the flag, on one line.
func (n *Net) Check() error {
	for i, p := range n.Proxies {
		if err := checkProxyAddr("-proxy", p); err != nil {
			return err
		}
		if slices.Contains(n.Proxies[:i], p) {
			return fmt.Errorf("-proxy %q is given twice", p)
		}
	}
	if n.I2PSAM != "" {
		if err := checkProxyAddr("-i2psam", n.I2PSAM); err != nil {
			return err
		}
	}
	if n.ProxyMaxPending < 1 || n.ProxyMaxPending > 10000 {
		return fmt.Errorf("-proxy-max-pending must be between 1 and 10000, got %d", n.ProxyMaxPending)
	}
	return nil
}

// checkProxyAddr checks a proxy's host:port: a port from 1 to 65535.
func checkProxyAddr(name, v string) error {
	host, ps, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return fmt.Errorf("%s %q: want host:port", name, v)
	}
	if p, err := strconv.ParseUint(ps, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("%s %q: the port must be a number from 1 to 65535", name, v)
	}
	return nil
}

// Tor returns the Tor options of the flags, nil without -proxy.
func (n *Net) Tor() *handshake.TorOptions {
	if len(n.Proxies) == 0 {
		return nil
	}
	return &handshake.TorOptions{Proxies: slices.Clone(n.Proxies), MaxPending: n.ProxyMaxPending, NoIsolation: !n.ProxyRandomize}
}

// I2P returns the I2P options of the flags, nil without -i2psam.
func (n *Net) I2P() *handshake.I2POptions {
	if n.I2PSAM == "" {
		return nil
	}
	return &handshake.I2POptions{SAM: n.I2PSAM, MaxPending: n.ProxyMaxPending}
}

// Crawl sets the crawl options that reach onion, I2P and CJDNS addresses.
func (n *Net) Crawl(o *crawl.Options) {
	o.Tor, o.I2P, o.CJDNSReachable = n.Tor(), n.I2P(), n.CJDNSReachable
	o.NetworkConcurrency = n.Concurrency()
}

// Concurrency caps the visits in flight to onion and I2P at twice what
// their proxies take at once, so that visits waiting for a proxy's slot do
// not hold the workers the other networks need, while the handshakes of
// connections already made go on.
func (n *Net) Concurrency() map[handshake.AddrNetwork]int {
	c := map[handshake.AddrNetwork]int{}
	if len(n.Proxies) > 0 {
		c[handshake.NetTorV3] = 2 * len(n.Proxies) * n.ProxyMaxPending
	}
	if n.I2PSAM != "" {
		c[handshake.NetI2P] = 2 * n.ProxyMaxPending
	}
	return c
}

// Dialers returns a dialer for each network beyond IPv4 and IPv6 the flags
// reach, made once for a program that dials many times (the I2P session is
// kept between dials), and what closes them. handshake.ByNetwork makes one
// dialer of them for a call that takes a single one (handshake.Sweep).
func (n *Net) Dialers() (map[handshake.AddrNetwork]handshake.Dialer, func(), error) {
	d := map[handshake.AddrNetwork]handshake.Dialer{}
	end := func() {}
	if o := n.Tor(); o != nil {
		tor, err := handshake.NewTor(*o)
		if err != nil {
			return nil, nil, err
		}
		d[handshake.NetTorV3] = tor
	}
	if o := n.I2P(); o != nil {
		i2p, err := handshake.NewI2P(*o)
		if err != nil {
			return nil, nil, err
		}
		d[handshake.NetI2P] = i2p
		end = func() { i2p.Close() }
	}
	if n.CJDNSReachable {
		d[handshake.NetCJDNS] = &net.Dialer{}
	}
	return d, end, nil
}

// Reaches reports whether the flags give a way to network an.
func (n *Net) Reaches(an handshake.AddrNetwork) bool {
	switch an {
	case handshake.NetIPv4, handshake.NetIPv6:
		return true
	case handshake.NetTorV3:
		return len(n.Proxies) > 0
	case handshake.NetI2P:
		return n.I2PSAM != ""
	case handshake.NetCJDNS:
		return n.CJDNSReachable
	}
	return false
}

// Describe says, for the log, how each network beyond IPv4 and IPv6 is
// reached: "onion via 127.0.0.1:9050 (isolated streams, 32 in flight
// each); i2p via SAM 127.0.0.1:7656; cjdns not reached (no
// -cjdnsreachable)".
func (n *Net) Describe() string {
	onion := "onion not reached (no -proxy)"
	if len(n.Proxies) > 0 {
		iso := "isolated streams"
		if !n.ProxyRandomize {
			iso = "shared circuits"
		}
		onion = fmt.Sprintf("onion via %s (%s, %d in flight each)", strings.Join(n.Proxies, ", "), iso, n.ProxyMaxPending)
	}
	i2p := "i2p not reached (no -i2psam)"
	if n.I2PSAM != "" {
		i2p = "i2p via SAM " + n.I2PSAM
	}
	cjdns := "cjdns not reached (no -cjdnsreachable)"
	if n.CJDNSReachable {
		cjdns = "cjdns dialled directly"
	}
	return onion + "; " + i2p + "; " + cjdns
}

// NetworkOf names the network of an address as dialled, "host:port" or a
// host alone: ipv4, ipv6, onion, i2p or cjdns; "other" for a host name or
// a malformed onion or I2P name.
func NetworkOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	}
	an, err := handshake.ParseHost(host)
	if err != nil {
		return "other"
	}
	return an.String()
}

// Reachable splits addresses given on the command line into those the
// flags reach, an I2P name without a port given its only port, 0 (BIP 155),
// and the count of the others by network.
func (n *Net) Reachable(addrs []string) (keep []string, skipped map[string]int) {
	skipped = map[string]int{}
	for _, a := range addrs {
		a = I2PPort(a)
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		an, perr := handshake.ParseHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
		if perr != nil || n.Reaches(an) {
			keep = append(keep, a)
		} else {
			skipped[an.String()]++
		}
	}
	return keep, skipped
}

// LogSkipped logs, a line per network, the addresses Reachable counted
// out, with the flag that would reach them.
func (n *Net) LogSkipped(lg *Logger, skipped map[string]int) {
	flags := map[string]string{"onion": "-proxy", "i2p": "-i2psam", "cjdns": "-cjdnsreachable"}
	for _, name := range sortedKeys(skipped) {
		lg.Log("WARN", "Skipped %d %s addresses: no way to reach them (see %s)", skipped[name], name, flags[name])
	}
}

// I2PPort gives an I2P name given without a port its only port, 0 (BIP
// 155), where a network's default port would make it one no I2P router
// connects to; other addresses are returned as they are.
func I2PPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		if an, err := handshake.ParseHost(addr); err == nil && an == handshake.NetI2P {
			return net.JoinHostPort(addr, "0")
		}
	}
	return addr
}
