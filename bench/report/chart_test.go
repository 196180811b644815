package report

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skywasm/skywasm/bench"
)

// chartSections are sections as the benchmarks write them: with Series
// (a ramp of two servers, phases of an open time) and without (the rows
// and notes of docs/benchmarks.md's first run).
var chartSections = []bench.Section{
	{Title: "SFU", Series: []bench.Series{
		{Chart: "SFU ramp: forwarded packets/s", Kind: "line", Name: "skywasm", X: "subscribers", Y: "forwarded packets/s",
			Points: []bench.Point{{X: 1, Y: 122}, {X: 8, Y: 930}, {X: 64, Y: 7543}, {X: 264, Y: 30971}}},
		{Chart: "SFU ramp: forwarded packets/s", Kind: "line", Name: "LiveKit", X: "subscribers", Y: "forwarded packets/s",
			Points: []bench.Point{{X: 1, Y: 120}, {X: 8, Y: 900}, {X: 64, Y: 7000}, {X: 200, Y: 21000}}},
		{Chart: "SFU ramp: forwarding latency p99", Kind: "line", Name: "skywasm", X: "subscribers", Y: "latency p99 (ms)",
			Points: []bench.Point{{X: 1, Y: 2.5}, {X: 8, Y: 3.1}, {X: 64, Y: 12}, {X: 264, Y: 247}}},
	}},
	{Title: "In the browser", Series: []bench.Series{
		{Chart: "Browser: open time by phase", Kind: "stack", Name: "fetch", Y: "ms", Points: []bench.Point{{Label: "skywasm cold", Y: 420}, {Label: "skywasm warm", Y: 80}}},
		{Chart: "Browser: open time by phase", Kind: "stack", Name: "compile", Y: "ms", Points: []bench.Point{{Label: "skywasm cold", Y: 300}, {Label: "skywasm warm", Y: 310}}},
		{Chart: "Browser: open time by phase", Kind: "stack", Name: "signaling", Y: "ms", Points: []bench.Point{{Label: "skywasm cold", Y: 38}, {Label: "skywasm warm", Y: 37}, {Label: "PeerJS 1.5.5 cold", Y: 38.9}}},
	}},
	{Title: "SFU (notes only)", Notes: []string{
		"Ramp (subscribers: loss, forwarded packets/s, server CPU): 1: 0.00%, 122/s, 3%; 2: 0.00%, 242/s, 3%; 264: 0.00%, 30971/s, 92%; 328: 100.00%, 0/s, 99%",
	}},
	{Title: "Signaling server", Rows: []bench.Row{
		{Metric: "relay latency p50, 1,000 peers", Unit: "ms", Skywasm: bench.F(0.755), Other: bench.F(0.842), OtherName: "peerjs-server 1.0.2", Better: "lower"},
		{Metric: "relay latency p99, 1,000 peers", Unit: "ms", Skywasm: bench.F(4.93), Other: bench.F(11.7), OtherName: "peerjs-server 1.0.2", Better: "lower"},
		{Metric: "relay latency p50, 10,000 peers", Unit: "ms", Skywasm: bench.F(0.978), Other: bench.F(0.866), OtherName: "peerjs-server 1.0.2", Better: "lower"},
		{Metric: "relay latency p99, 10,000 peers", Unit: "ms", Skywasm: bench.F(41.7), Other: bench.F(15.5), OtherName: "peerjs-server 1.0.2", Better: "lower"},
		{Metric: "connect 1,000 peers", Unit: "ms", Skywasm: bench.F(340), Better: "lower"},
	}},
	{Title: "sdk.wasm size", Rows: []bench.Row{
		{Metric: "sdk.wasm raw", Unit: "KiB", Skywasm: bench.F(7705), Other: bench.F(84.9), OtherName: "PeerJS 1.5.5 peerjs.min.js", Better: "lower"},
		{Metric: "sdk.wasm brotli quality 9", Unit: "KiB", Skywasm: bench.F(1728), Other: bench.F(21.3), OtherName: "PeerJS 1.5.5 peerjs.min.js", Better: "lower"},
	}},
}

func TestChartsGolden(t *testing.T) {
	t.Parallel()
	wantIDs := []string{
		"sfu-ramp-forwarded-packets-s", "sfu-ramp-forwarding-latency-p99",
		"browser-open-time-by-phase",
		"sfu-ramp-forwarded", "sfu-ramp-loss", "sfu-ramp-cpu",
		"signaling-relay-latency",
		"sdk-size",
	}
	var got []Chart
	for _, s := range chartSections {
		got = append(got, Charts(s)...)
	}
	if len(got) != len(wantIDs) {
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		t.Fatalf("charts %v, want %v", ids, wantIDs)
	}
	for i, c := range got {
		t.Run(wantIDs[i], func(t *testing.T) {
			t.Parallel()
			if c.ID != wantIDs[i] {
				t.Fatalf("chart %d is %s, want %s", i, c.ID, wantIDs[i])
			}
			svg := c.SVG()
			checkSVG(t, svg, c)
			path := filepath.Join("testdata", "charts", c.ID+".svg")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(svg), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if svg != string(want) {
				t.Errorf("%s differs from %s (go test -update rewrites it); got:\n%s", c.ID, path, svg)
			}
		})
	}
}

// checkSVG checks that svg is well-formed XML with the title and a
// description holding every number the chart's caption states.
func checkSVG(t *testing.T, svg string, c Chart) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var title, desc string
	var in string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local
		case xml.CharData:
			if in == "title" && title == "" {
				title = string(tok)
			}
			if in == "desc" && desc == "" {
				desc = string(tok)
			}
		case xml.EndElement:
			in = ""
		}
	}
	if title != c.Title {
		t.Errorf("<title> %q, want %q", title, c.Title)
	}
	if desc != c.Caption || desc == "" {
		t.Errorf("<desc> %q, want the caption %q", desc, c.Caption)
	}
	for _, sr := range c.Series {
		for _, p := range sr.Points {
			if !strings.Contains(desc, Number(p.Y)) {
				t.Errorf("the description lacks %s's %s", sr.Name, Number(p.Y))
			}
		}
	}
}

func TestNiceTicks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		max, top float64
		n        int
	}{
		{30971, 40000, 5}, {100, 100, 6}, {0.978, 1, 6}, {0, 1, 6}, {7705, 8000, 5},
	} {
		ticks, top := niceTicks(tc.max)
		if top != tc.top || len(ticks) != tc.n || ticks[len(ticks)-1] != top {
			t.Errorf("niceTicks(%v) = %v, %v; want top %v in %d ticks", tc.max, ticks, top, tc.top, tc.n)
		}
	}
}
