// Package bench holds what skywasm's load generators share: the result file
// every benchmark writes (one Section of Rows, as JSON) and the order
// statistics they report. It is not a benchmark itself and never measures.
//
// The Node browser benchmark (bench/browser) writes the same JSON, so that one
// report (bench/report) renders every section as one table.
package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
)

// Section is one benchmark's results: what ran, how, and its rows.
type Section struct {
	// Title names the section, e.g. "Signaling server".
	Title string `json:"title"`
	// Command re-runs this section exactly as it ran.
	Command string `json:"command"`
	// Notes say what a reader needs to judge the figures (rounds,
	// alternation, what was extrapolated).
	Notes []string `json:"notes,omitempty"`
	Rows  []Row    `json:"rows"`
	// Series are the curves behind the rows (a ramp, a sweep), which the
	// report draws as charts; rows are the figures, series their shape.
	Series []Series `json:"series,omitempty"`
}

// Series is one curve or one layer of stacked bars. Series with the same
// Chart share one chart, its axes and its kind.
type Series struct {
	// Chart names the chart, e.g. "forwarded packets/s".
	Chart string `json:"chart"`
	// Kind is "line" (numeric X) or "stack" (bars named by Point.Label,
	// each Series a layer: the phases of a time, the parts of a size).
	Kind string `json:"kind"`
	// Name is the legend: "skywasm", "peerjs-server 1.0.2", a phase.
	Name string `json:"name"`
	// X and Y label the axes, with units: "subscribers", "packets/s".
	X      string  `json:"x,omitempty"`
	Y      string  `json:"y"`
	Points []Point `json:"points"`
}

// Point is one value of a Series.
type Point struct {
	X     float64 `json:"x,omitempty"`
	Y     float64 `json:"y"`
	Label string  `json:"label,omitempty"` // the bar of a "stack" series
}

// Row is one measured quantity, for skywasm and, where there is one, for the
// system it is compared with. A figure that was not measured is nil and is
// shown as such; a benchmark must not leave a row empty when it succeeds.
type Row struct {
	// Metric says what was measured, e.g. "connect 1,000 peers".
	Metric string `json:"metric"`
	// Unit of both figures, e.g. "ms", "MB/s", "KiB/peer".
	Unit string `json:"unit"`
	// Skywasm is skywasm's median (or the single figure).
	Skywasm *float64 `json:"skywasm"`
	// Other is the compared system's median; OtherName names it
	// ("peerjs-server 1.0.2", "PeerJS raw", "RTCPeerConnection").
	Other     *float64 `json:"other,omitempty"`
	OtherName string   `json:"otherName,omitempty"`
	// Better is "lower" or "higher": which way is better, so the report can
	// say who wins. Ratio is always skywasm / other.
	Better string `json:"better"`
	// Detail is free text shown beside the row, e.g. "p99 of 3 rounds".
	Detail string `json:"detail,omitempty"`
}

// F returns a pointer to v, for Row's figures.
func F(v float64) *float64 { return &v }

// Ratio is skywasm / other, or NaN when either is missing or other is 0.
func (r Row) Ratio() float64 {
	if r.Skywasm == nil || r.Other == nil || *r.Other == 0 {
		return math.NaN()
	}
	return *r.Skywasm / *r.Other
}

// WriteFile writes s as indented JSON to path.
func (s Section) WriteFile(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode section %q: %w", s.Title, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("failed to write section %q: %w", s.Title, err)
	}
	return nil
}

// ReadFile reads a Section written by WriteFile or by the Node benchmark.
func ReadFile(path string) (Section, error) {
	var s Section
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("failed to read section: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("failed to decode section %s: %w", path, err)
	}
	return s, nil
}

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) of xs by the
// nearest-rank method, or NaN for no samples. It sorts a copy of xs.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Median is the 50th percentile; for an even count it averages the two
// middle samples, as a median of rounds usually does.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
