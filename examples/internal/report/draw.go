package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strconv"
	"strings"
	"unicode"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The page's palette.
var (
	colBlue   = color.RGBA{0x25, 0x63, 0xeb, 0xff}
	colGreen  = color.RGBA{0x16, 0xa3, 0x4a, 0xff}
	colAmber  = color.RGBA{0xf5, 0x9e, 0x0b, 0xff}
	colRed    = color.RGBA{0xdc, 0x26, 0x26, 0xff}
	colGrey   = color.RGBA{0x94, 0xa3, 0xb8, 0xff}
	colPurple = color.RGBA{0x7c, 0x3a, 0xed, 0xff}
	colTeal   = color.RGBA{0x0d, 0x94, 0x88, 0xff}
	colInk    = color.RGBA{0x33, 0x41, 0x55, 0xff}
	colRule   = color.RGBA{0xe2, 0xe8, 0xf0, 0xff}
	series    = []color.RGBA{colBlue, colTeal, colPurple, colAmber, colRed}
)

// chartWidth is every chart's width in points: about what a column of the
// page shows, so that text keeps its size.
const chartWidth = 340

// seriesColor is the color of the i'th line of a chart.
func seriesColor(i int) color.RGBA { return series[i%len(series)] }

// sans is the face every text of a chart uses; the page's stylesheet names
// the same family with fallbacks, so a browser without it stays close.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot returns a plot with the page's fonts and quiet axes.
func newPlot() *plot.Plot {
	p := plot.New()
	p.BackgroundColor = color.Transparent
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(10)
		a.Label.TextStyle.Color = colInk
		a.Tick.Label.Font = sans(9)
		a.Tick.Label.Color = colInk
		a.Color = colGrey
		a.Tick.Color = colGrey
	}
	p.Legend.TextStyle.Font = sans(9)
	p.Legend.TextStyle.Color = colInk
	return p
}

// label makes a peer's string fit a chart's axis: printable, on one line,
// at most 34 characters. The SVG canvas escapes it.
func label(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '·'
	}, strings.ToValidUTF8(s, "·"))
	if r := []rune(s); len(r) > 34 {
		s = string(r[:33]) + "…"
	}
	return s
}

// toSVG draws p on an SVG canvas of w×h points and returns the <svg>
// element alone, ready to inline. A plotter's panic on odd data becomes an
// error: one chart fails, the page does not.
func toSVG(p *plot.Plot, w, h vg.Length) (svg template.HTML, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("report: drawing a chart: %v", r)
		}
	}()
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("report: the SVG canvas wrote no <svg> element")
	}
	// The canvas escapes every text it draws (html.EscapeString), so the
	// element is safe to inline.
	return template.HTML(s[i:]), nil
}

// bars draws counts as bars, one color for all or one per bar; horizontal
// bars list the first count at the top, with its number at the bar's end.
func bars(counts []Count, colors []color.Color, horizontal bool, axis string) (template.HTML, error) {
	p := newPlot()
	names := make([]string, len(counts))
	most := 0
	for i, c := range counts {
		names[i] = label(c.Label)
		most = max(most, c.N)
	}
	pos := func(i int) float64 { return float64(i) }
	if horizontal {
		pos = func(i int) float64 { return float64(len(counts) - 1 - i) }
		rev := make([]string, len(names))
		for i, n := range names {
			rev[len(names)-1-i] = n
		}
		p.NominalY(rev...)
		p.X.Label.Text = axis
		p.X.Min = 0
		p.X.Max = float64(most) * 1.12
		p.X.Tick.Marker = intTicks{}
		p.Y.Min, p.Y.Max = -0.6, float64(len(counts))-0.4
		p.Add(&plotter.Grid{Vertical: draw.LineStyle{Color: colRule, Width: vg.Points(0.5)}})
	} else {
		p.NominalX(names...)
		p.Y.Label.Text = axis
		p.Y.Min = 0
		p.Y.Max = float64(most) * 1.15
		p.Y.Tick.Marker = intTicks{}
		p.X.Min, p.X.Max = -0.6, float64(len(counts))-0.4
		p.Add(&plotter.Grid{Horizontal: draw.LineStyle{Color: colRule, Width: vg.Points(0.5)}})
	}
	width := vg.Points(15)
	if !horizontal {
		width = vg.Points(min(40, 200/float64(len(counts))))
	}
	xys := make(plotter.XYs, len(counts))
	labels := make([]string, len(counts))
	for i, c := range counts {
		b, err := plotter.NewBarChart(plotter.Values{float64(c.N)}, width)
		if err != nil {
			return "", err
		}
		b.XMin = pos(i)
		b.Horizontal = horizontal
		b.Color = colors[i%len(colors)]
		b.LineStyle.Width = 0
		p.Add(b)
		if horizontal {
			xys[i] = plotter.XY{X: float64(c.N), Y: pos(i)}
		} else {
			xys[i] = plotter.XY{X: pos(i), Y: float64(c.N)}
		}
		labels[i] = strconv.Itoa(c.N)
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return "", err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font = sans(9)
		l.TextStyle[i].Color = colInk
		if horizontal {
			l.TextStyle[i].YAlign = draw.YCenter
		} else {
			l.TextStyle[i].XAlign = draw.XCenter
		}
	}
	if horizontal {
		l.Offset = vg.Point{X: vg.Points(4)}
	} else {
		l.Offset = vg.Point{Y: vg.Points(3)}
	}
	p.Add(l)
	w, h := vg.Points(chartWidth), vg.Points(200)
	if horizontal {
		h = vg.Points(float64(36 + 20*len(counts)))
	} else if len(counts) > 6 {
		// Long category names need room below the axis.
		p.X.Tick.Label.Rotation = 0.6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
		h = vg.Points(240)
	}
	return toSVG(p, w, h)
}

// shares draws each client's nodes as stacked v2 and v1 bars, with the v2
// share at the bar's end.
func shares(sh []Share) (template.HTML, error) {
	p := newPlot()
	n := len(sh)
	names := make([]string, n)
	v1, v2 := make(plotter.Values, n), make(plotter.Values, n)
	xys := make(plotter.XYs, n)
	labels := make([]string, n)
	most := 0
	for i, s := range sh {
		j := n - 1 - i // the first at the top
		names[j] = label(s.Label)
		v2[j], v1[j] = float64(s.V2), float64(s.V1)
		xys[j] = plotter.XY{X: float64(s.V1 + s.V2), Y: float64(j)}
		labels[j] = fmt.Sprintf("%d%% v2", 100*s.V2/max(1, s.V1+s.V2))
		most = max(most, s.V1+s.V2)
	}
	p.NominalY(names...)
	p.X.Label.Text = "nodes"
	p.X.Min, p.X.Max = 0, float64(most)*1.25
	p.X.Tick.Marker = intTicks{}
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.Add(&plotter.Grid{Vertical: draw.LineStyle{Color: colRule, Width: vg.Points(0.5)}})
	b2, err := plotter.NewBarChart(v2, vg.Points(15))
	if err != nil {
		return "", err
	}
	b1, err := plotter.NewBarChart(v1, vg.Points(15))
	if err != nil {
		return "", err
	}
	for _, b := range []*plotter.BarChart{b1, b2} {
		b.Horizontal = true
		b.LineStyle.Width = 0
	}
	b2.Color, b1.Color = colPurple, colGrey
	b1.StackOn(b2)
	p.Add(b2, b1)
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return "", err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font = sans(9)
		l.TextStyle[i].Color = colInk
		l.TextStyle[i].YAlign = draw.YCenter
	}
	l.Offset = vg.Point{X: vg.Points(4)}
	p.Add(l)
	return toSVG(p, vg.Points(chartWidth), vg.Points(float64(36+20*n)))
}

// cdfs draws each series as the share of nodes at or below a latency, on a
// logarithmic time axis (loopback answers in microseconds, the far side of
// the world in seconds).
func cdfs(ss []Series) (template.HTML, error) {
	p := newPlot()
	p.X.Label.Text = "milliseconds (log scale)"
	p.Y.Label.Text = "share of nodes at or below"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		var xys plotter.XYs
		for j, v := range s.MS {
			if v > 0 {
				xys = append(xys, plotter.XY{X: v, Y: float64(j+1) / float64(len(s.MS))})
			}
		}
		if len(xys) == 0 {
			continue
		}
		if len(xys) == 1 { // a lone point still draws a step
			xys = append(plotter.XYs{{X: xys[0].X * 0.999, Y: 0}}, xys...)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", err
		}
		l.StepStyle = plotter.PreStep
		l.Color = seriesColor(i)
		l.Width = vg.Points(1.6)
		p.Add(l)
	}
	return toSVG(p, vg.Points(chartWidth), vg.Points(220))
}

// intTicks marks whole numbers only: the charts count nodes.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
		if t.Value != math.Trunc(t.Value) {
			continue
		}
		if t.Label != "" {
			t.Label = strconv.FormatFloat(t.Value, 'f', 0, 64)
		}
		out = append(out, t)
	}
	return out
}
