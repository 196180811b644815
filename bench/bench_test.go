package bench

import (
	"math"
	"path/filepath"
	"testing"
)

func TestStatistics(t *testing.T) {
	t.Parallel()
	xs := []float64{5, 1, 4, 2, 3}
	cases := []struct {
		name      string
		got, want float64
	}{
		{"median odd", Median(xs), 3},
		{"median even", Median([]float64{4, 1, 3, 2}), 2.5},
		{"p50", Percentile(xs, 50), 3},
		{"p99", Percentile(xs, 99), 5},
		{"p0", Percentile(xs, 0), 1},
		{"ratio", Row{Skywasm: F(2), Other: F(8)}.Ratio(), 0.25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	if xs[0] != 5 {
		t.Error("Median or Percentile sorted its argument")
	}
	for name, v := range map[string]float64{
		"median of none": Median(nil), "percentile of none": Percentile(nil, 50),
		"ratio to zero": Row{Skywasm: F(1), Other: F(0)}.Ratio(), "ratio to missing": Row{Skywasm: F(1)}.Ratio(),
	} {
		if !math.IsNaN(v) {
			t.Errorf("%s = %v, want NaN", name, v)
		}
	}
}

func TestSectionRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.json")
	in := Section{Title: "T", Command: "c", Rows: []Row{{Metric: "m", Unit: "ms", Skywasm: F(1.5), Other: F(3), OtherName: "o", Better: "lower"}}}
	if err := in.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	out, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out.Title != "T" || len(out.Rows) != 1 || *out.Rows[0].Skywasm != 1.5 || out.Rows[0].Ratio() != 0.5 {
		t.Errorf("round trip gave %+v", out)
	}
}
