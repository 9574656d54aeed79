package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Count is one bar: a label and how many nodes it stands for.
type Count struct {
	Label string
	N     int
}

// Share splits a client's nodes by transport.
type Share struct {
	Label  string
	V1, V2 int
}

// Series is one latency distribution, in milliseconds, sorted.
type Series struct {
	Name string
	MS   []float64
}

// Summary is what the charts show, counted from a Data. It holds no
// drawing; Render turns it into pictures.
type Summary struct {
	Facts                   Facts
	Nodes                   int
	OK, PartiallyOK, Failed int
	Skipped                 int
	Outcome                 []Count
	FailSteps, FailClasses  []Count
	UserAgents              []Count // top TopN, then the rest as one bar
	Versions                []Count
	Services                []Count // one bar per service bit
	Transports              []Count
	V2ByAgent               []Share // the TopN user agents with a transport
	Features                []Count // BIP434 feature ids
	Negotiation             []Count // commands between version and verack
	Latency                 []Series
	MaxHeight               int32
	Behind                  []Count // start heights below MaxHeight, bucketed
	Networks                []Count
	ByNetwork               []NetworkRow // every figure by network, in networks' order
}

// NetworkRow is one network's figures: its addresses, how many were
// reached (OK or partial) and over v2, and its failures by kind.
type NetworkRow struct {
	Network                          string
	Nodes, OK, Partial, Failed, Skip int
	V2                               int // reached over BIP324 v2
	Failures                         []Count
}

// Reached is OK + Partial: the nodes that answered.
func (r NetworkRow) Reached() int { return r.OK + r.Partial }

// V2Share is V2 over Reached as a percentage, "–" when none was reached.
func (r NetworkRow) V2Share() string {
	if r.Reached() == 0 {
		return "–"
	}
	return fmt.Sprintf("%d%%", 100*r.V2/r.Reached())
}

// TopN is how many user agents get a bar of their own.
const TopN = 12

// serviceBits names the service bits Bitcoin Core knows (protocol.h).
var serviceBits = map[int]string{
	0: "NETWORK", 1: "GETUTXO", 2: "BLOOM", 3: "WITNESS", 4: "XTHIN",
	6: "COMPACT_FILTERS", 10: "NETWORK_LIMITED", 11: "P2P_V2",
}

// networks lists the networks in the order the chart shows them.
var networks = []string{"ipv4", "ipv6", "onion", "i2p", "cjdns", "other"}

// Summarize counts d for the charts.
func Summarize(d *Data) Summary {
	s := Summary{Facts: d.facts(), Nodes: len(d.Nodes)}
	var (
		steps, classes, agents, versions, services = counter{}, counter{}, counter{}, counter{}, counter{}
		transports, features, negotiation, nets    = counter{}, counter{}, counter{}, counter{}
		shares                                     = map[string]*Share{}
		rows                                       = map[string]*NetworkRow{}
		kinds                                      = map[string]counter{}
		connect, version, verack, total, ping      []float64
		heights                                    []int32
	)
	for i := range d.Nodes {
		n := &d.Nodes[i]
		switch n.Status {
		case StatusOK:
			s.OK++
		case StatusPartiallyOK:
			s.PartiallyOK++
		case StatusSkipped:
			s.Skipped++
		default:
			s.Failed++
		}
		row := rows[n.Network]
		if row == nil {
			row = &NetworkRow{Network: n.Network}
			rows[n.Network], kinds[n.Network] = row, counter{}
		}
		row.Nodes++
		switch n.Status {
		case StatusOK:
			row.OK++
		case StatusPartiallyOK:
			row.Partial++
		case StatusSkipped:
			row.Skip++
		default:
			row.Failed++
			kinds[n.Network].add(cmp.Or(n.Kind, "other"))
		}
		if n.Transport == "v2" && (n.Status == StatusOK || n.Status == StatusPartiallyOK) {
			row.V2++
		}
		if n.Status == StatusSkipped {
			nets.add("skipped")
			continue
		}
		nets.add(n.Network)
		if n.Status != StatusOK && n.Error != "" {
			steps.add(n.Step)
			classes.add(n.Class)
		}
		if n.ConnectMS > 0 {
			connect = append(connect, n.ConnectMS)
		}
		if n.PeerVersionMS > 0 {
			version = append(version, n.PeerVersionMS)
		}
		if n.PeerVerackMS > 0 {
			verack = append(verack, n.PeerVerackMS)
		}
		if n.Status == StatusOK && n.TotalMS > 0 {
			total = append(total, n.TotalMS)
		}
		if n.HasPing {
			ping = append(ping, n.PingMS)
		}
		if !n.HasPeer {
			continue
		}
		agent := agentLabel(n.UserAgent)
		agents.add(agent)
		versions.add(strconv.FormatUint(uint64(n.Version), 10))
		for bit := range 64 {
			if n.Services&(1<<bit) != 0 {
				services.add(bitName(bit))
			}
		}
		if n.Transport != "" {
			transports.add(n.Transport)
			sh := shares[agent]
			if sh == nil {
				sh = &Share{Label: agent}
				shares[agent] = sh
			}
			if n.Transport == "v2" {
				sh.V2++
			} else {
				sh.V1++
			}
		}
		for _, f := range n.Features {
			features.add(f.ID)
		}
		for _, c := range n.Negotiation {
			negotiation.add(c)
		}
		heights = append(heights, n.StartHeight)
	}
	s.Outcome = []Count{{"OK", s.OK}, {"partial", s.PartiallyOK}, {"failed", s.Failed}}
	if s.Skipped > 0 {
		s.Outcome = append(s.Outcome, Count{"skipped", s.Skipped})
	}
	s.FailSteps = steps.byStep()
	s.FailClasses = classes.top(TopN, "other classes")
	s.UserAgents = agents.top(TopN, "other agents")
	s.Versions = versions.byNumber()
	s.Services = services.byBit()
	s.Transports = transports.top(TopN, "")
	for _, c := range agents.top(TopN, "") {
		if sh := shares[c.Label]; sh != nil {
			s.V2ByAgent = append(s.V2ByAgent, *sh)
		}
	}
	s.Features = features.top(TopN, "other features")
	s.Negotiation = negotiation.top(TopN, "other commands")
	for _, l := range []struct {
		name string
		ms   []float64
	}{{"connect", connect}, {"peer version", version}, {"peer verack", verack}, {"handshake total", total}, {"ping RTT", ping}} {
		if len(l.ms) > 0 {
			slices.Sort(l.ms)
			s.Latency = append(s.Latency, Series{l.name, l.ms})
		}
	}
	s.MaxHeight, s.Behind = behind(heights)
	for _, name := range append(networks, "skipped") {
		if nets[name] > 0 {
			s.Networks = append(s.Networks, Count{name, nets[name]})
		}
	}
	for _, name := range networks {
		if r := rows[name]; r != nil {
			r.Failures = kinds[name].top(6, "other kinds")
			s.ByNetwork = append(s.ByNetwork, *r)
		}
	}
	return s
}

// facts fills what d.Facts leaves out from the nodes.
func (d *Data) facts() Facts {
	f := d.Facts
	if f.Title == "" {
		f.Title = "Bitcoin network report"
	}
	if f.Network == "" {
		for _, n := range d.Nodes {
			if n.Chain != "" {
				f.Network = n.Chain
				break
			}
		}
	}
	if f.Addresses == 0 {
		f.Addresses = len(d.Nodes)
	}
	if f.Start.IsZero() || f.Elapsed == 0 {
		var first, last time.Time
		for _, n := range d.Nodes {
			if n.Time.IsZero() {
				continue
			}
			if first.IsZero() || n.Time.Before(first) {
				first = n.Time
			}
			end := n.Time.Add(time.Duration(n.TotalMS * float64(time.Millisecond)))
			if end.After(last) {
				last = end
			}
		}
		if f.Start.IsZero() {
			f.Start = first
		}
		if f.Elapsed == 0 && !first.IsZero() {
			f.Elapsed = last.Sub(first)
		}
	}
	return f
}

// agentLabel is a user agent as a chart's bar label.
func agentLabel(ua string) string {
	if ua == "" {
		return "(empty)"
	}
	return ua
}

func bitName(bit int) string {
	if name, ok := serviceBits[bit]; ok {
		return name
	}
	return fmt.Sprintf("bit %d", bit)
}

// behind buckets how far each start height lies below the highest.
func behind(heights []int32) (int32, []Count) {
	if len(heights) == 0 {
		return 0, nil
	}
	top := slices.Max(heights)
	buckets := []Count{{"0", 0}, {"1", 0}, {"2–6", 0}, {"7–144", 0}, {"145–1008", 0}, {"> 1008", 0}}
	limits := []int64{0, 1, 6, 144, 1008}
	for _, h := range heights {
		gap := int64(top) - int64(h)
		i := len(limits)
		for j, l := range limits {
			if gap <= l {
				i = j
				break
			}
		}
		buckets[i].N++
	}
	return top, buckets
}

type counter map[string]int

func (c counter) add(k string) { c[k]++ }

// sorted returns the counts, largest first, ties by label.
func (c counter) sorted() []Count {
	out := make([]Count, 0, len(c))
	for k, n := range c {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Label, b.Label))
	})
	return out
}

// top returns the n largest counts and, when rest is not empty, the others
// summed as one labelled "rest (k)".
func (c counter) top(n int, rest string) []Count {
	all := c.sorted()
	if len(all) <= n {
		return all
	}
	out := all[:n:n]
	if rest != "" {
		sum := 0
		for _, x := range all[n:] {
			sum += x.N
		}
		out = append(out, Count{fmt.Sprintf("%s (%d)", rest, len(all)-n), sum})
	}
	return out
}

// byStep orders the counts as the exchange's steps.
func (c counter) byStep() []Count {
	var out []Count
	for _, s := range append(steps, "other") {
		if c[s] > 0 {
			out = append(out, Count{s, c[s]})
		}
	}
	return out
}

// byNumber orders numeric labels, keeping the TopN most common.
func (c counter) byNumber() []Count {
	out := c.top(TopN, "")
	// Versions are uint32s: wider than int on 32-bit platforms.
	num := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	slices.SortFunc(out, func(a, b Count) int { return cmp.Compare(num(a.Label), num(b.Label)) })
	if len(c) > TopN {
		sum := 0
		for _, x := range out {
			sum += x.N
		}
		total := 0
		for _, n := range c {
			total += n
		}
		out = append(out, Count{fmt.Sprintf("others (%d)", len(c)-TopN), total - sum})
	}
	return out
}

// byBit orders the service bits by bit number.
func (c counter) byBit() []Count {
	var out []Count
	for bit := range 64 {
		if n := c[bitName(bit)]; n > 0 {
			out = append(out, Count{bitName(bit), n})
		}
	}
	return out
}
