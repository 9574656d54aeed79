package simnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// The dead ranges of a Namespace: SYNs to them are dropped, as to hosts
// that are gone.
var (
	DeadIPv4 = netip.MustParsePrefix("127.100.0.0/16")
	DeadIPv6 = netip.MustParsePrefix("2001:db8:dead::/48")
)

// namespaceRules is a Namespace's firewall. Each SYN to a dead address is
// recorded in a set keyed by address and source port, so that a second
// connection to one address shows; a numgen rule drops a share of every
// TCP packet, so that TCP retransmits as on a lossy path (netem may be
// missing from the kernel).
const namespaceRules = `table inet simnet {
	set dead4 { type ipv4_addr . inet_service; size 1048576; flags dynamic; }
	set dead6 { type ipv6_addr . inet_service; size 1048576; flags dynamic; }
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr %s add @dead4 { ip daddr . tcp sport } drop
		ip6 daddr %s add @dead6 { ip6 daddr . tcp sport } drop
		meta l4proto tcp numgen random mod 100000 < %d counter drop
	}
}
`

// Namespace is a network namespace for a simulated Internet, made with
// ip(8) and nft(8) as root: its loopback up, Documentation6 routed to it
// (and bindable) for IPv6 nodes, SYNs to DeadIPv4 and DeadIPv6 dropped,
// and a share of all TCP packets lost. Its rules go with it on Close.
type Namespace struct {
	Name string
}

// NewNamespace makes the namespace name, dropping lossPercent per cent
// of TCP packets. It needs root, ip and nft.
func NewNamespace(name string, lossPercent float64) (*Namespace, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("simnet: a network namespace needs root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("simnet: %s is missing (apt-get install -y iproute2 nftables): %w", tool, err)
		}
	}
	if lossPercent < 0 || lossPercent > 100 {
		return nil, errors.New("simnet: loss must be 0 to 100 per cent")
	}
	if err := run(nil, "ip", "netns", "add", name); err != nil {
		return nil, err
	}
	n := &Namespace{Name: name}
	rules := fmt.Sprintf(namespaceRules, DeadIPv4, DeadIPv6, int(lossPercent*1000))
	for _, step := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"ip", "-n", name, "link", "set", "lo", "up"}},
		{"", []string{"ip", "-n", name, "-6", "route", "add", "local", Documentation6.String(), "dev", "lo"}},
		{"", []string{"ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1"}},
		{rules, []string{"ip", "netns", "exec", name, "nft", "-f", "-"}},
	} {
		var in *strings.Reader
		if step.stdin != "" {
			in = strings.NewReader(step.stdin)
		}
		if err := run(in, step.args...); err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

func run(stdin *strings.Reader, args ...string) error {
	cmd := exec.Command(args[0], args[1:]...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("simnet: %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Command returns a command running name with args in the namespace.
func (n *Namespace) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// DeadAttempts returns the connections attempted to each dead address
// ("ip"), as the firewall saw them: one per source port.
func (n *Namespace) DeadAttempts() (map[string]int, error) {
	per := map[string]int{}
	for _, set := range []string{"dead4", "dead6"} {
		out, err := n.Command("nft", "-j", "list", "set", "inet", "simnet", set).Output()
		if err != nil {
			return nil, fmt.Errorf("simnet: nft list set %s: %w", set, err)
		}
		var doc struct {
			Nftables []struct {
				Set *struct {
					Elem []struct {
						Concat []any `json:"concat"`
					} `json:"elem"`
				} `json:"set"`
			} `json:"nftables"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			return nil, fmt.Errorf("simnet: nft's JSON: %w", err)
		}
		for _, o := range doc.Nftables {
			if o.Set == nil {
				continue
			}
			for _, e := range o.Set.Elem {
				if len(e.Concat) != 2 {
					return nil, fmt.Errorf("simnet: nft set element %v: want address . port", e)
				}
				per[fmt.Sprint(e.Concat[0])]++
			}
		}
	}
	return per, nil
}

// Close removes the namespace and its rules.
func (n *Namespace) Close() error {
	return run(nil, "ip", "netns", "del", n.Name)
}
