package report

import (
	"fmt"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/skywasm/skywasm/bench"
)

// Chart is one picture of a section: lines against a numeric axis, or
// horizontal bars, each a stack of layers (a single layer is a plain bar).
// It is drawn as a self-contained SVG, no image tool involved, readable
// on GitHub and by screen readers (<title>, <desc> with every number).
type Chart struct {
	ID      string // file name without .svg
	Title   string
	Kind    string // "line" or "stack"
	X, Y    string // axis labels
	Series  []bench.Series
	Caption string // every number drawn, as text
}

// Charts returns a section's charts: from its Series when it has any,
// else derived from the rows and notes the benchmarks wrote before they
// wrote series (the SFU ramp's note, the signaling latency rows, the
// browser's open times, the sizes).
func Charts(s bench.Section) []Chart {
	var out []Chart
	index := map[string]int{}
	for _, sr := range s.Series {
		if len(sr.Points) == 0 {
			continue
		}
		i, ok := index[sr.Chart]
		if !ok {
			i = len(out)
			index[sr.Chart] = i
			kind := sr.Kind
			if kind != "stack" {
				kind = "line"
			}
			out = append(out, Chart{ID: slug(sr.Chart), Title: sr.Chart, Kind: kind, X: sr.X, Y: sr.Y})
		}
		out[i].Series = append(out[i].Series, sr)
	}
	if len(out) == 0 {
		out = derive(s)
	}
	for i := range out {
		out[i].Caption = caption(out[i])
	}
	return out
}

var (
	rampNote   = regexp.MustCompile(`^Ramp \(subscribers: loss, forwarded packets/s, server CPU\): (.*)$`)
	rampStep   = regexp.MustCompile(`^(\d+): ([\d.]+)%, ([\d.]+)/s, ([\d.]+)%$`)
	latencyRow = regexp.MustCompile(`^relay latency (p\d+), ([\d,]+) peers$`)
)

// derive makes charts from rows and notes, for sections without Series.
func derive(s bench.Section) []Chart {
	var out []Chart
	for _, n := range s.Notes {
		m := rampNote.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		rate := bench.Series{Name: "skywasm"}
		loss := bench.Series{Name: "skywasm"}
		cpu := bench.Series{Name: "skywasm"}
		for part := range strings.SplitSeq(m[1], "; ") {
			p := rampStep.FindStringSubmatch(strings.TrimSpace(part))
			if p == nil {
				continue
			}
			x, _ := strconv.ParseFloat(p[1], 64)
			f := func(i int) float64 { v, _ := strconv.ParseFloat(p[i], 64); return v }
			loss.Points = append(loss.Points, bench.Point{X: x, Y: f(2)})
			rate.Points = append(rate.Points, bench.Point{X: x, Y: f(3)})
			cpu.Points = append(cpu.Points, bench.Point{X: x, Y: f(4)})
		}
		if len(rate.Points) > 0 {
			out = append(out,
				Chart{ID: "sfu-ramp-forwarded", Title: "SFU ramp: forwarded packets/s", Kind: "line", X: "subscribers", Y: "forwarded packets/s", Series: []bench.Series{rate}},
				Chart{ID: "sfu-ramp-loss", Title: "SFU ramp: packet loss", Kind: "line", X: "subscribers", Y: "loss (%)", Series: []bench.Series{loss}},
				Chart{ID: "sfu-ramp-cpu", Title: "SFU ramp: server CPU", Kind: "line", X: "subscribers", Y: "server CPU (% of a core)", Series: []bench.Series{cpu}})
		}
	}

	// Relay latency against peers held: one line per system and percentile.
	lat := map[string]*bench.Series{}
	var order []string
	addPoint := func(name string, x float64, y *float64) {
		if !present(y) {
			return
		}
		if lat[name] == nil {
			lat[name] = &bench.Series{Name: name}
			order = append(order, name)
		}
		lat[name].Points = append(lat[name].Points, bench.Point{X: x, Y: *y})
	}
	for _, r := range s.Rows {
		m := latencyRow.FindStringSubmatch(r.Metric)
		if m == nil {
			continue
		}
		peers, _ := strconv.ParseFloat(strings.ReplaceAll(m[2], ",", ""), 64)
		addPoint("skywasm "+m[1], peers, r.Skywasm)
		if r.OtherName != "" {
			addPoint(r.OtherName+" "+m[1], peers, r.Other)
		}
	}
	if len(order) > 0 {
		c := Chart{ID: "signaling-relay-latency", Title: "Signaling relay latency against peers held", Kind: "line", X: "peers held", Y: "relay latency (" + unitOf(s.Rows, latencyRow) + ")"}
		for _, name := range order {
			c.Series = append(c.Series, *lat[name])
		}
		out = append(out, c)
	}

	// Bars: the browser's open times, the sizes.
	bars := func(id, title, y string, match func(bench.Row) bool) {
		one := bench.Series{Name: "total"}
		for _, r := range s.Rows {
			if !match(r) {
				continue
			}
			if present(r.Skywasm) {
				one.Points = append(one.Points, bench.Point{Label: "skywasm: " + r.Metric, Y: *r.Skywasm})
			}
			if r.OtherName != "" && present(r.Other) {
				one.Points = append(one.Points, bench.Point{Label: r.OtherName + ": " + r.Metric, Y: *r.Other})
			}
		}
		if len(one.Points) > 0 {
			out = append(out, Chart{ID: id, Title: title, Kind: "stack", Y: y, Series: []bench.Series{one}})
		}
	}
	bars("browser-open", "Browser: new Peer() to open", "ms", func(r bench.Row) bool {
		return strings.HasPrefix(r.Metric, "new Peer() to open") && r.Unit == "ms"
	})
	bars("sdk-size", "Download size of the SDK", "KiB", func(r bench.Row) bool {
		return r.Unit == "KiB" && strings.Contains(strings.ToLower(s.Title), "size")
	})
	return out
}

// unitOf is the unit of the first row matching re.
func unitOf(rows []bench.Row, re *regexp.Regexp) string {
	for _, r := range rows {
		if re.MatchString(r.Metric) {
			return r.Unit
		}
	}
	return ""
}

// slug makes a file name of a title.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// caption states every number the chart draws.
func caption(c Chart) string {
	var parts []string
	if c.Kind == "stack" {
		for _, label := range stackLabels(c.Series) {
			total := 0.0
			var layers []string
			for _, sr := range c.Series {
				for _, p := range sr.Points {
					if p.Label == label {
						total += p.Y
						layers = append(layers, sr.Name+" "+Number(p.Y))
					}
				}
			}
			s := label + " " + Number(total) + " " + c.Y
			if len(c.Series) > 1 {
				s += " (" + strings.Join(layers, ", ") + ")"
			}
			parts = append(parts, s)
		}
		return c.Title + ": " + strings.Join(parts, "; ") + "."
	}
	for _, sr := range c.Series {
		var pts []string
		for _, p := range sr.Points {
			pts = append(pts, Number(p.X)+" → "+Number(p.Y))
		}
		parts = append(parts, sr.Name+" ("+c.X+" → "+c.Y+"): "+strings.Join(pts, ", "))
	}
	return c.Title + ". " + strings.Join(parts, "; ") + "."
}

// stackLabels are the bars of a stack chart, in the order first seen.
func stackLabels(series []bench.Series) []string {
	var labels []string
	seen := map[string]bool{}
	for _, sr := range series {
		for _, p := range sr.Points {
			if !seen[p.Label] {
				seen[p.Label] = true
				labels = append(labels, p.Label)
			}
		}
	}
	return labels
}

// Colours that stay apart for the common colour blindnesses (Okabe–Ito),
// and dashes so that lines differ without colour too.
var (
	palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}
	dashes  = []string{"", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"}
)

const (
	chartWidth = 720
	padLeft    = 80
	padRight   = 24
	padTop     = 48
)

// SVG draws the chart.
func (c Chart) SVG() string {
	if c.Kind == "stack" {
		return c.stackSVG()
	}
	return c.lineSVG()
}

func (c Chart) head(b *strings.Builder, height int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height, c.ID, c.ID)
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`+"\n", c.ID, esc(c.Title))
	fmt.Fprintf(b, `<desc id="%s-desc">%s</desc>`+"\n", c.ID, esc(c.Caption))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	fmt.Fprintf(b, `<text x="%d" y="24" font-size="16" font-weight="bold" fill="#000000">%s</text>`+"\n", padLeft, esc(c.Title))
}

func (c Chart) lineSVG() string {
	const height, padBottom = 400, 96
	plotW, plotH := float64(chartWidth-padLeft-padRight), float64(height-padTop-padBottom)
	var xs, ys []float64
	for _, sr := range c.Series {
		for _, p := range sr.Points {
			xs = append(xs, p.X)
			ys = append(ys, p.Y)
		}
	}
	xmin, xmax := minMax(xs)
	_, ymax := minMax(ys)
	// Peers held go 1,000, 10,000: a log axis for a sweep of a few points
	// spanning a decade or more, none of them zero.
	logX := xmin > 0 && xmax/xmin >= 10 && len(uniq(xs)) <= 3
	var xticks []float64
	var xpos func(float64) float64
	if logX {
		lo, hi := math.Floor(math.Log10(xmin)), math.Ceil(math.Log10(xmax))
		if hi == lo {
			hi++
		}
		for e := lo; e <= hi; e++ {
			xticks = append(xticks, math.Pow(10, e))
		}
		xpos = func(x float64) float64 { return padLeft + (math.Log10(x)-lo)/(hi-lo)*plotW }
	} else {
		var top float64
		xticks, top = niceTicks(xmax)
		xpos = func(x float64) float64 { return padLeft + x/top*plotW }
	}
	yticks, ytop := niceTicks(ymax)
	ypos := func(y float64) float64 { return padTop + plotH - y/ytop*plotH }

	var b strings.Builder
	c.head(&b, height)
	b.WriteString(`<g stroke="#cccccc" stroke-width="1">` + "\n")
	for _, t := range yticks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%s" y2="%s"/>`+"\n", padLeft, f(ypos(t)), f(padLeft+plotW), f(ypos(t)))
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<g stroke="#000000" stroke-width="1"><line x1="%d" y1="%s" x2="%s" y2="%s"/><line x1="%d" y1="%d" x2="%d" y2="%s"/></g>`+"\n",
		padLeft, f(padTop+plotH), f(padLeft+plotW), f(padTop+plotH), padLeft, padTop, padLeft, f(padTop+plotH))
	b.WriteString(`<g fill="#000000" aria-hidden="true">` + "\n")
	for _, t := range yticks {
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", padLeft-6, f(ypos(t)), esc(Number(t)))
	}
	for _, t := range xticks {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", f(xpos(t)), f(padTop+plotH+16), esc(Number(t)))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", f(padLeft+plotW/2), f(padTop+plotH+36), esc(c.X+axisNote(logX)))
	fmt.Fprintf(&b, `<text transform="translate(18 %s) rotate(-90)" text-anchor="middle">%s</text>`+"\n", f(padTop+plotH/2), esc(c.Y))
	b.WriteString("</g>\n")
	for i, sr := range c.Series {
		color, dash := palette[i%len(palette)], dashes[i%len(dashes)]
		var pts []string
		for _, p := range sr.Points {
			pts = append(pts, f(xpos(p.X))+","+f(ypos(p.Y)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", color, dashAttr(dash), strings.Join(pts, " "))
		for _, p := range sr.Points {
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"><title>%s: %s %s, %s %s</title></circle>`+"\n",
				f(xpos(p.X)), f(ypos(p.Y)), color, esc(sr.Name), esc(Number(p.X)), esc(c.X), esc(Number(p.Y)), esc(c.Y))
		}
		lx, ly := padLeft+(i%3)*200, height-36+(i/3)*16
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/><text x="%d" y="%d" dominant-baseline="middle" fill="#000000">%s</text>`+"\n",
			lx, ly, lx+24, ly, color, dashAttr(dash), lx+30, ly, esc(sr.Name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func (c Chart) stackSVG() string {
	labels := stackLabels(c.Series)
	const barH, gap = 22, 10
	// The labels' column fits the longest, at about 6.6 px a character of
	// 12 px sans-serif, leaving the bars at least half the width.
	longest := 0
	for _, l := range labels {
		longest = max(longest, len([]rune(l)))
	}
	labelW := min(max(int(float64(longest)*6.6)+16, 120), chartWidth/2)
	legend := 0
	if len(c.Series) > 1 {
		legend = 24
	}
	plotH := len(labels) * (barH + gap)
	height := padTop + plotH + 44 + legend
	left := float64(labelW)
	plotW := float64(chartWidth-padRight) - left - 70 // room for the total
	totals := make([]float64, len(labels))
	for i, l := range labels {
		for _, sr := range c.Series {
			for _, p := range sr.Points {
				if p.Label == l {
					totals[i] += p.Y
				}
			}
		}
	}
	ticks, top := niceTicks(maxOf(totals))
	xpos := func(v float64) float64 { return left + v/top*plotW }

	var b strings.Builder
	c.head(&b, height)
	b.WriteString(`<g stroke="#cccccc" stroke-width="1">` + "\n")
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line x1="%s" y1="%d" x2="%s" y2="%d"/>`+"\n", f(xpos(t)), padTop, f(xpos(t)), padTop+plotH)
	}
	b.WriteString("</g>\n")
	for i, l := range labels {
		y := padTop + i*(barH+gap)
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="end" dominant-baseline="middle" fill="#000000">%s</text>`+"\n", f(left-8), y+barH/2, esc(l))
		x := 0.0
		for j, sr := range c.Series {
			for _, p := range sr.Points {
				if p.Label != l || p.Y <= 0 {
					continue
				}
				fmt.Fprintf(&b, `<rect x="%s" y="%d" width="%s" height="%d" fill="%s"><title>%s, %s: %s %s</title></rect>`+"\n",
					f(xpos(x)), y, f(xpos(x+p.Y)-xpos(x)), barH, palette[j%len(palette)], esc(l), esc(sr.Name), esc(Number(p.Y)), esc(c.Y))
				x += p.Y
			}
		}
		fmt.Fprintf(&b, `<text x="%s" y="%d" dominant-baseline="middle" fill="#000000">%s</text>`+"\n", f(xpos(totals[i])+6), y+barH/2, esc(Number(totals[i])+" "+c.Y))
	}
	fmt.Fprintf(&b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#000000"/>`+"\n", f(left), padTop+plotH, f(left+plotW), padTop+plotH)
	b.WriteString(`<g fill="#000000" aria-hidden="true">` + "\n")
	for _, t := range ticks {
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", f(xpos(t)), padTop+plotH+16, esc(Number(t)))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", f(left+plotW/2), padTop+plotH+34, esc(c.Y))
	b.WriteString("</g>\n")
	if legend > 0 {
		for j, sr := range c.Series {
			lx, ly := padLeft+j*140, height-14
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="14" fill="%s"/><text x="%d" y="%d" dominant-baseline="middle" fill="#000000">%s</text>`+"\n",
				lx, ly-7, palette[j%len(palette)], lx+20, ly, esc(sr.Name))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func axisNote(log bool) string {
	if log {
		return " (log scale)"
	}
	return ""
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}

// niceTicks returns ticks from 0 to a round top at or above max: 4 to 6
// steps of 1, 2 or 5 × 10^k.
func niceTicks(max float64) ([]float64, float64) {
	if !(max > 0) || math.IsInf(max, 0) {
		max = 1
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	top := math.Ceil(max/step) * step
	var ticks []float64
	for v := 0.0; v <= top+step/2; v += step {
		// Through text, so that 3 × 0.2 is 0.6, not 0.6000000000000001.
		t, _ := strconv.ParseFloat(strconv.FormatFloat(math.Round(v/step)*step, 'g', 12, 64), 64)
		ticks = append(ticks, t)
	}
	return ticks, top
}

func minMax(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 1
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func maxOf(xs []float64) float64 { _, hi := minMax(xs); return hi }

func uniq(xs []float64) map[float64]bool {
	m := map[float64]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// f formats a coordinate with at most one decimal, so that the files
// are stable and small.
func f(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func esc(s string) string { return html.EscapeString(s) }
