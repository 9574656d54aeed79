package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxLine bounds an input line; a longer one is counted as malformed and
// skipped without being held in memory.
const MaxLine = 1 << 20

// errNotRecord reports JSON that is neither a handshake result nor a crawl
// record.
var errNotRecord = errors.New("not a handshake result or crawl record: no addr or status")

// Load reads JSON lines — handshake results as sweep -json writes them,
// crawl records as crawl -json writes them, or both — from r into d.
// source names r on the page. Blank lines are skipped; a line that is not a
// record is counted in d.BadLines and never stops the reading. Only an
// error reading r is returned.
func (d *Data) Load(r io.Reader, source string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	d.Facts.Sources = append(d.Facts.Sources, source)
	for n := 1; ; n++ {
		line, long, err := readLine(br)
		if long {
			d.AddMalformed(source, n, fmt.Errorf("line longer than %d bytes", MaxLine), line)
		} else if len(bytes.TrimSpace(line)) > 0 {
			if perr := d.AddJSON(line); perr != nil {
				d.AddMalformed(source, n, perr, line)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("report: reading %s: %w", source, err)
		}
	}
}

// readLine returns the next line without its newline, keeping at most
// MaxLine bytes of it; long reports that the rest was dropped.
func readLine(br *bufio.Reader) (line []byte, long bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > MaxLine {
			long = true
			if len(line) < 64 {
				line = append(line, chunk[:min(len(chunk), 64)]...)
			}
		} else if !long {
			line = append(line, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), long, err
	}
}

// AddMalformed counts an input that could not be read: line (or row) line
// of source, which text starts.
func (d *Data) AddMalformed(source string, line int, err error, text []byte) {
	d.BadLines++
	if len(d.Malformed) >= MaxMalformed {
		return
	}
	t := text
	if len(t) > 120 {
		t = t[:120]
	}
	d.Malformed = append(d.Malformed, Malformed{
		Source: source, Line: line, Err: err.Error(),
		Text: strings.ToValidUTF8(string(t), string(utf8.RuneError)),
	})
}

// Add appends v, a handshake result or crawl record of any Go type that
// encodes to the JSON the programs write, as a node. Programs pass what they
// print with -json, so the report reads exactly what a file would hold.
func (d *Data) Add(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return d.AddJSON(b)
}

// Collect adds a record a program produced as it ran, counting one that is
// not a record as a malformed line, so that a program can feed its report
// as results arrive and keep only what the page shows.
func (d *Data) Collect(v any) {
	if err := d.Add(v); err != nil {
		d.AddMalformed("run", len(d.Nodes)+d.BadLines+1, err, nil)
	}
}

// AddJSON appends one JSON object: a crawl record when it has a "handshake"
// key, a handshake result otherwise.
func (d *Data) AddJSON(line []byte) error {
	var rec crawlRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return err
	}
	var n Node
	// A crawl record always has "depth"; a sweep's line may have "network"
	// and "error_kind" too.
	if rec.Handshake != nil || rec.Depth != nil {
		n = rec.node()
	} else {
		var res handshakeJSON
		if err := json.Unmarshal(line, &res); err != nil {
			return err
		}
		n = Node{Addr: res.Addr, Status: res.Status, Depth: -1, Network: rec.Network}
		res.fill(&n)
		if n.Network == "" {
			n.Network = networkOf(n.Addr)
		}
	}
	if n.Addr == "" || n.Status == "" {
		return errNotRecord
	}
	d.AddNode(n)
	return nil
}

// AddNode appends n, reading its Error's step, class and, unless n has
// one, kind.
func (d *Data) AddNode(n Node) {
	n.Step, n.Class = classify(n.Addr, n.Error)
	if n.Kind == "" && n.Error != "" {
		n.Kind = kindOf(n.Error, n.Class)
	}
	d.Nodes = append(d.Nodes, n)
}

// crawlRecord is contract §2's line.
type crawlRecord struct {
	Addr       string         `json:"addr"`
	Network    string         `json:"network"`
	Chain      string         `json:"chain"`
	Depth      *int           `json:"depth"`
	Services   uint64         `json:"services"`
	Time       time.Time      `json:"time"`
	Status     string         `json:"status"`
	Handshake  *handshakeJSON `json:"handshake"`
	PingMS     *float64       `json:"ping_ms"`
	AddrsGiven int            `json:"addrs_given"`
	AddrsNew   int            `json:"addrs_new"`
	Error      string         `json:"error"`
	ErrorKind  string         `json:"error_kind"`
	Skipped    string         `json:"skipped"`
}

func (rec *crawlRecord) node() Node {
	n := Node{
		Addr: rec.Addr, Network: rec.Network, Chain: rec.Chain, Depth: -1,
		Services: rec.Services, Time: rec.Time, Status: rec.Status,
		Skipped: rec.Skipped, AddrsGiven: rec.AddrsGiven, AddrsNew: rec.AddrsNew,
		HasAddrs: true,
	}
	if rec.Depth != nil {
		n.Depth = *rec.Depth
	}
	if n.Network == "" {
		n.Network = networkOf(n.Addr)
	}
	if rec.Handshake != nil {
		rec.Handshake.fill(&n)
	}
	if rec.PingMS != nil {
		n.PingMS, n.HasPing = *rec.PingMS, true
	}
	// The record's error covers ping and getaddr too; the handshake's is
	// kept when the record has none.
	if rec.Error != "" {
		n.Error = rec.Error
	}
	if rec.ErrorKind != "" {
		n.Kind = rec.ErrorKind
	}
	return n
}

// handshakeJSON is handshake.Result's JSON (contract §1), read tolerantly:
// "features" is either BIP434 objects or, in older files, the negotiation
// commands as strings.
type handshakeJSON struct {
	Addr      string `json:"addr"`
	Status    string `json:"status"`
	Transport string `json:"transport"`
	Fallback  string `json:"fallback"`
	Peer      *struct {
		ProtocolVersion uint32 `json:"protocol_version"`
		Services        uint64 `json:"services"`
		UserAgent       string `json:"user_agent"`
		StartHeight     int32  `json:"start_height"`
	} `json:"peer"`
	Negotiation   []string          `json:"negotiation"`
	Features      []json.RawMessage `json:"features"`
	Ignored       []Ignored         `json:"ignored"`
	ConnectMS     float64           `json:"connect_ms"`
	PeerVersionMS float64           `json:"peer_version_ms"`
	PeerVerackMS  float64           `json:"peer_verack_ms"`
	TotalMS       float64           `json:"total_ms"`
	Error         string            `json:"error"`
	ErrorKind     string            `json:"error_kind"`
}

func (h *handshakeJSON) fill(n *Node) {
	if n.Addr == "" {
		n.Addr = h.Addr
	}
	if n.Status == "" {
		n.Status = h.Status
	}
	n.Transport, n.Fallback = h.Transport, h.Fallback
	if h.Peer != nil {
		n.HasPeer = true
		n.UserAgent, n.Version = h.Peer.UserAgent, h.Peer.ProtocolVersion
		n.StartHeight = h.Peer.StartHeight
		if h.Peer.Services != 0 {
			n.Services = h.Peer.Services
		}
	}
	n.Negotiation = h.Negotiation
	for _, raw := range h.Features {
		var f Feature
		var cmd string
		switch {
		case json.Unmarshal(raw, &f) == nil && f.ID != "":
			n.Features = append(n.Features, f)
		case json.Unmarshal(raw, &cmd) == nil && h.Negotiation == nil:
			n.Negotiation = append(n.Negotiation, cmd)
		}
	}
	n.Ignored = h.Ignored
	n.ConnectMS, n.PeerVersionMS, n.PeerVerackMS, n.TotalMS = h.ConnectMS, h.PeerVersionMS, h.PeerVerackMS, h.TotalMS
	n.Error = h.Error
	if h.ErrorKind != "" {
		n.Kind = h.ErrorKind
	}
}
