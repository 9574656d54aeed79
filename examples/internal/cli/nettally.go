package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// NetTally counts the addresses of a sweep or a crawl by network: reached,
// over v2, failed by kind (handshake.ErrorKind), and those a proxy that was
// down cost, so that a dead Tor shows as one line naming it rather than as
// thousands of dead nodes. The zero value is ready; it is not safe for
// concurrent use (the programs count from one goroutine).
type NetTally struct {
	Networks map[string]*NetCount `json:"networks"`
	// ProxiesDown counts, per proxy "host:port", the addresses not reached
	// because it was down.
	ProxiesDown map[string]int `json:"proxies_down,omitempty"`
}

// NetCount is one network's part of a NetTally.
type NetCount struct {
	Addresses int `json:"addresses"`
	// Reachable counts the nodes handshaken (OK), as the closing
	// "reachable" of the programs' output does; Partial those whose
	// version came but whose handshake did not complete (PARTIALLY OK);
	// V2 the nodes of either over BIP324 v2.
	Reachable int `json:"reachable"`
	Partial   int `json:"partially_ok,omitempty"`
	V2        int `json:"v2"`
	Failed    int `json:"failed"`
	// Failures counts Failed by handshake.ErrorKind.
	Failures map[string]int `json:"failures,omitempty"`
	// ProxyDown counts the addresses a proxy that was down cost; NotDialled
	// those skipped (no way to reach the network) or cut short.
	ProxyDown  int `json:"proxy_down,omitempty"`
	NotDialled int `json:"not_dialled,omitempty"`
}

// V2Share is V2 over the nodes that answered (Reachable and Partial), 0
// when none did.
func (c *NetCount) V2Share() float64 {
	if c.Reachable+c.Partial == 0 {
		return 0
	}
	return float64(c.V2) / float64(c.Reachable+c.Partial)
}

func (t *NetTally) net(network string) *NetCount {
	if t.Networks == nil {
		t.Networks = map[string]*NetCount{}
	}
	c := t.Networks[network]
	if c == nil {
		c = &NetCount{}
		t.Networks[network] = c
	}
	return c
}

// Add counts one address of network: its status, its transport when
// reached, and err, its failure. It returns the proxy's address the first
// time err says that proxy was down, "" otherwise, so that the program
// can say so once, when it happens.
func (t *NetTally) Add(network string, status handshake.Status, transport handshake.Transport, err error) (firstDown string) {
	c := t.net(network)
	c.Addresses++
	var pe *handshake.ProxyError
	switch {
	case errors.Is(err, handshake.ErrProxyDown) && errors.As(err, &pe):
		c.ProxyDown++
		if t.ProxiesDown == nil {
			t.ProxiesDown = map[string]int{}
		}
		t.ProxiesDown[pe.Proxy]++
		if t.ProxiesDown[pe.Proxy] == 1 {
			return pe.Proxy
		}
	case errors.Is(err, crawl.ErrNotVisited):
		c.NotDialled++
	case status == handshake.StatusOK, status == handshake.StatusPartiallyOK:
		if status == handshake.StatusOK {
			c.Reachable++
		} else {
			c.Partial++
		}
		if transport == handshake.TransportV2 {
			c.V2++
		}
	default:
		c.Failed++
		if c.Failures == nil {
			c.Failures = map[string]int{}
		}
		c.Failures[handshake.ErrorKind(err)]++
	}
	return ""
}

// ProxyDown is the number of addresses proxies that were down cost.
func (t *NetTally) ProxyDown() int {
	n := 0
	for _, k := range t.ProxiesDown {
		n += k
	}
	return n
}

// Skip counts an address of network that was not dialled.
func (t *NetTally) Skip(network string) {
	c := t.net(network)
	c.Addresses++
	c.NotDialled++
}

// netOrder is the order networks are listed in.
var netOrder = []string{"ipv4", "ipv6", "onion", "i2p", "cjdns"}

// Lines are the closing summary: one line per network, then one per proxy
// that was down.
func (t *NetTally) Lines() []string {
	names := make([]string, 0, len(t.Networks))
	for n := range t.Networks {
		names = append(names, n)
	}
	rank := func(n string) int {
		if i := slices.Index(netOrder, n); i >= 0 {
			return i
		}
		return len(netOrder)
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var out []string
	for _, n := range names {
		c := t.Networks[n]
		line := fmt.Sprintf("Network %s: %d addresses, %d reachable", n, c.Addresses, c.Reachable)
		if c.Partial > 0 {
			line += fmt.Sprintf(", %d PARTIALLY OK", c.Partial)
		}
		if c.Reachable+c.Partial > 0 {
			line += fmt.Sprintf(" (%d over v2, %.0f%%)", c.V2, 100*c.V2Share())
		}
		line += fmt.Sprintf(", %d failed", c.Failed)
		if c.Failed > 0 {
			line += " (" + top(c.Failures, 8) + ")"
		}
		if c.ProxyDown > 0 {
			line += fmt.Sprintf(", %d not reached (proxy down)", c.ProxyDown)
		}
		if c.NotDialled > 0 {
			line += fmt.Sprintf(", %d not dialled", c.NotDialled)
		}
		out = append(out, line)
	}
	for _, p := range sortedKeys(t.ProxiesDown) {
		out = append(out, fmt.Sprintf("Proxy %s was down: %d addresses not reached (not counted as failed nodes)", p, t.ProxiesDown[p]))
	}
	return out
}

// top formats counts largest first, ties by name, at most n of them.
func top(m map[string]int, n int) string {
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	if len(keys) > n {
		keys = keys[:n]
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Note counts one address as Add does and, the first time a proxy is found
// down, logs it once on lg. It reports whether the address's own line is
// better left out: one a proxy that was down cost, which says nothing of
// the node.
func (t *NetTally) Note(lg *Logger, network string, status handshake.Status, transport handshake.Transport, err error) (quiet bool) {
	if p := t.Add(network, status, transport, err); p != "" {
		var pe *handshake.ProxyError
		errors.As(err, &pe)
		lg.Log("ERROR", "Proxy %s is down (%s): the addresses it should reach are counted, not logged one by one", p, Printable(pe.Err.Error()))
	}
	return errors.Is(err, handshake.ErrProxyDown)
}

// Log writes Lines on lg: INFO for the networks, ERROR for proxies down.
func (t *NetTally) Log(lg *Logger) {
	for _, l := range t.Lines() {
		level := "INFO"
		if strings.HasPrefix(l, "Proxy ") {
			level = "ERROR"
		}
		lg.Log(level, "%s", l)
	}
}

// TaggedJSON is the JSON of r, as handshake.Result encodes it, with the
// address's "network" and its failure's "error_kind" (handshake.ErrorKind,
// "" when it completed) first, for a program's -json lines.
func TaggedJSON(r handshake.Result) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	tag, err := json.Marshal(struct {
		Network   string `json:"network"`
		ErrorKind string `json:"error_kind"`
	}{NetworkOf(r.Addr), handshake.ErrorKind(r.Err)})
	if err != nil {
		return nil, err
	}
	// Both are objects: join them as one.
	return append(append(tag[:len(tag)-1], ','), b[1:]...), nil
}
