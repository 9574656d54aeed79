package report

import (
	"fmt"
	"html/template"
	"image/color"
)

// Chart is one figure of the page: a drawn chart, or a line saying why
// there is nothing to draw.
type Chart struct {
	ID, Title, Note string
	SVG             template.HTML // empty when Empty or Err is set
	Empty           string        // why there is no chart
	Err             string        // the drawing failed
	Legend          []Key         // keys shown above the chart
}

// Key is a legend entry: a CSS color and what it stands for.
type Key struct{ Color, Label string }

// charts draws every figure the page shows, in order.
func charts(s *Summary) []Chart {
	outcomeColors := []color.Color{colGreen, colAmber, colRed, colGrey}
	var out []Chart
	add := func(id, title, note, empty string, n int, draw func() (template.HTML, error)) {
		c := Chart{ID: id, Title: title, Note: note}
		if n == 0 {
			c.Empty = empty
		} else if svg, err := draw(); err != nil {
			c.Err = err.Error()
		} else {
			c.SVG = svg
		}
		out = append(out, c)
	}
	add("outcome", "Outcome", "Handshakes that completed, stopped after the peer's version, or failed.",
		"No nodes.", s.Nodes, func() (template.HTML, error) {
			return bars(s.Outcome, outcomeColors, false, "nodes")
		})
	add("networks", "Networks", "Where the addresses live; skipped ones had no way to reach them.",
		"No nodes.", len(s.Networks), func() (template.HTML, error) {
			return bars(s.Networks, []color.Color{colBlue}, false, "nodes")
		})
	add("fail-steps", "Failures by step", "The stage of the exchange at which each unsuccessful visit stopped.",
		"No failures.", len(s.FailSteps), func() (template.HTML, error) {
			return bars(s.FailSteps, []color.Color{colRed}, true, "nodes")
		})
	add("fail-classes", "Failures by error class", "What went wrong, from the error each visit returned.",
		"No failures.", len(s.FailClasses), func() (template.HTML, error) {
			return bars(s.FailClasses, []color.Color{colRed}, true, "nodes")
		})
	add("user-agents", "User agents", fmt.Sprintf("The %d most common, the rest as one bar.", TopN),
		"No node sent its version.", len(s.UserAgents), func() (template.HTML, error) {
			return bars(s.UserAgents, []color.Color{colBlue}, true, "nodes")
		})
	add("v2-share", "BIP324 v2 transport by client", "Nodes of each common user agent by the transport the handshake used.",
		"No handshake reached a transport.", len(s.V2ByAgent), func() (template.HTML, error) {
			return shares(s.V2ByAgent)
		})
	out[len(out)-1].Legend = []Key{{css(colPurple), "v2 (BIP324)"}, {css(colGrey), "v1"}}
	add("transports", "Transports", "v2 is BIP324's encrypted transport; v1 the original.",
		"No handshake reached a transport.", len(s.Transports), func() (template.HTML, error) {
			cols := make([]color.Color, len(s.Transports))
			for i, t := range s.Transports {
				cols[i] = colGrey
				if t.Label == "v2" {
					cols[i] = colPurple
				}
			}
			return bars(s.Transports, cols, false, "nodes")
		})
	add("versions", "Protocol versions", "The version each node announced.",
		"No node sent its version.", len(s.Versions), func() (template.HTML, error) {
			return bars(s.Versions, []color.Color{colTeal}, false, "nodes")
		})
	add("services", "Service bits", "Nodes announcing each service bit in their version.",
		"No node announced a service.", len(s.Services), func() (template.HTML, error) {
			return bars(s.Services, []color.Color{colTeal}, true, "nodes")
		})
	add("features", "BIP434 features", "Feature messages seen between version and verack, by id.",
		"No node sent a BIP434 feature message.", len(s.Features), func() (template.HTML, error) {
			return bars(s.Features, []color.Color{colPurple}, true, "nodes")
		})
	add("negotiation", "Negotiation messages", "Commands sent between version and verack (wtxidrelay, sendaddrv2, ...).",
		"No node sent a negotiation message.", len(s.Negotiation), func() (template.HTML, error) {
			return bars(s.Negotiation, []color.Color{colBlue}, true, "nodes")
		})
	add("latency", "Latency", "Time from the start of each visit to the connection, the peer's version and verack, and the ping's round trip.",
		"No latency measured.", len(s.Latency), func() (template.HTML, error) {
			return cdfs(s.Latency)
		})
	for i, l := range s.Latency {
		out[len(out)-1].Legend = append(out[len(out)-1].Legend, Key{css(seriesColor(i)), fmt.Sprintf("%s (%d)", l.Name, len(l.MS))})
	}
	add("heights", "Start heights", "Blocks behind the highest start height seen"+heightNote(s.MaxHeight, len(s.Behind))+".",
		"No node sent its version.", len(s.Behind), func() (template.HTML, error) {
			return bars(s.Behind, []color.Color{colBlue}, false, "nodes")
		})
	return out
}

func css(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func heightNote(h int32, n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d)", h)
}
