package report

import (
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/bitcoin-handshake/handshake"
)

// networkOf names the network of a host:port as dialled, for handshake
// results, which do not say.
func networkOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.ToLower(host)
	switch {
	case strings.HasSuffix(host, ".onion"):
		return "onion"
	case strings.HasSuffix(host, ".i2p"):
		return "i2p"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "other"
	}
	ip = ip.Unmap()
	switch {
	case ip.Is4():
		return "ipv4"
	case netip.MustParsePrefix("fc00::/8").Contains(ip):
		return "cjdns"
	default:
		return "ipv6"
	}
}

// steps are handshake.Step's values, in the order of the exchange, then
// those of the calls after it.
var steps = []string{
	"options", "connect", "key exchange", "send version", "read version",
	"send verack", "read verack", "read", "write", "getaddr", "ping",
}

// classes map a fragment of an error's text to its class. The library's
// sentinels come first, then the operating system's and the context's.
var classes = []struct{ fragment, class string }{
	{"wrong network magic", "wrong network"},
	{"malformed message", "malformed message"},
	{"message too large", "message too large"},
	{"limit exceeded", "limit exceeded"},
	{"protocol violation", "protocol violation"},
	{"connected to self", "self connection"},
	{"protocol version too old", "version too old"},
	{"speaks only the v1 transport", "v1 only"},
	{"closed the connection", "peer closed"},
	{"deadline exceeded", "timeout"},
	{"i/o timeout", "timeout"},
	{"connection refused", "refused"},
	{"connection reset", "reset"},
	{"unreachable", "unreachable"},
	{"no route to host", "unreachable"},
	{"context canceled", "canceled"},
	{"socks", "proxy"},
}

// classify reads the step and class of a handshake error's text, which
// handshake.Error formats as "handshake: ADDR: STEP: cause".
func classify(addr, msg string) (step, class string) {
	if msg == "" {
		return "", ""
	}
	rest := strings.TrimPrefix(msg, "handshake: ")
	rest = strings.TrimPrefix(rest, addr+": ")
	for _, s := range steps {
		if strings.HasPrefix(rest, s+": ") {
			step = s
			break
		}
	}
	if step == "" {
		step = "other"
	}
	lower := strings.ToLower(msg)
	for _, c := range classes {
		if strings.Contains(lower, c.fragment) {
			return step, c.class
		}
	}
	return step, "other"
}

// proxyAnswer finds a proxy's answer in an error's text, as
// handshake.ProxyError writes it: "proxy down", "socks5 reply 0xf0: ..." or
// "sam result KEY_NOT_FOUND".
var proxyAnswer = regexp.MustCompile(`proxy down|socks5 reply 0x([0-9a-f]{2})|sam result ([A-Z_]+)`)

// kindOf is the handshake.ErrorKind of an error known only by its text, as
// the seeder's database keeps it: a proxy's answer as the library names
// it, otherwise the error's class.
func kindOf(msg, class string) string {
	m := proxyAnswer.FindStringSubmatch(msg)
	switch {
	case m == nil:
		return class
	case m[1] != "":
		code, _ := strconv.ParseUint(m[1], 16, 8)
		return handshake.SOCKSReply(code).Kind()
	case m[2] != "":
		return handshake.SAMResult(m[2]).Kind()
	}
	return "proxy-down"
}
