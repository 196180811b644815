package report

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skywasm/skywasm/bench"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestNumber(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{0.000012345, "1.23e-05"},
		{0.0012345, "0.00123"},
		{0.012345, "0.0123"},
		{0.5, "0.500"},
		{1, "1"},
		{3, "3"},
		{1.001, "1.00"},
		{1.2345, "1.23"},
		{12.345, "12.3"},
		{99.96, "100"},
		{9.996, "10.0"},
		{0.99996, "1.00"},
		{123.45, "123"},
		{1234.5, "1,235"},
		{12345.6, "12,346"},
		{1234567, "1,234,567"},
		{-1234.5, "-1,235"},
		{-0.4, "-0.400"},
	}
	for _, c := range cases {
		if got := Number(c.in); got != c.want {
			t.Errorf("Number(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWinner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		sky, other *float64
		better     string
		want       side
	}{
		{"lower wins", bench.F(1), bench.F(2), "lower", sideSkywasm},
		{"lower loses", bench.F(2), bench.F(1), "lower", sideOther},
		{"higher wins", bench.F(2), bench.F(1), "higher", sideSkywasm},
		{"higher loses", bench.F(1), bench.F(2), "higher", sideOther},
		{"within 5%", bench.F(100), bench.F(104), "higher", sideEven},
		{"just over 5%", bench.F(100), bench.F(106), "higher", sideOther},
		{"both zero", bench.F(0), bench.F(0), "lower", sideEven},
		{"no other", bench.F(1), nil, "lower", sideUnknown},
		{"no skywasm", nil, bench.F(1), "lower", sideUnknown},
		{"no direction", bench.F(1), bench.F(2), "", sideUnknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := winner(bench.Row{Skywasm: c.sky, Other: c.other, Better: c.better}); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// golden is a document with every kind of row: won, lost, even, without a
// comparison, with figures missing, and a section that failed.
var golden = Doc{
	Date:    time.Date(2025, 11, 24, 5, 30, 0, 0, time.UTC),
	Machine: "test VM | 2 vCPU",
	Host:    Host{CPU: "AMD EPYC", Cores: 2, RAM: "23.5 GiB", Kernel: "Linux 6.1", Go: "go1.26.8", Node: "v20.20.2"},
	Sections: []Input{
		{File: "signaling.json", Section: bench.Section{
			Title:   "Signaling server",
			Command: "skywasm-bench signaling -json out/signaling.json",
			Notes:   []string{"3 rounds, alternating.", "peer 1.0.2 on node v20.20.2"},
			Rows: []bench.Row{
				{Metric: "connect 1,000 peers", Unit: "ms", Skywasm: bench.F(120.44), Other: bench.F(456.7), OtherName: "peerjs-server 1.0.2", Better: "lower", Detail: "median of 3 rounds"},
				{Metric: "relayed offers", Unit: "messages/s", Skywasm: bench.F(12345.6), Other: bench.F(23456), OtherName: "peerjs-server 1.0.2", Better: "higher", Detail: "random pairs | saturation"},
				{Metric: "memory per peer", Unit: "KiB/peer", Skywasm: bench.F(10.2), Other: bench.F(10.5), OtherName: "peerjs-server 1.0.2", Better: "lower"},
				{Metric: "relay latency p99", Unit: "ms", Skywasm: bench.F(3.21), OtherName: "peerjs-server 1.0.2", Better: "lower"},
			},
		}},
		{File: "sfu.json", Section: bench.Section{
			Title:   "SFU",
			Command: "skywasm-bench sfu -json out/sfu.json",
			Rows: []bench.Row{
				{Metric: "largest room held under 1% loss", Unit: "members", Skywasm: bench.F(121), Better: "higher"},
				{Metric: "packet loss at that step", Unit: "%", Skywasm: bench.F(0.0123), Better: "lower"},
				{Metric: "forwarding latency p99", Unit: "ms", Better: "lower"},
			},
		}},
		{File: "browser.json", Err: errors.New("failed to read section: open browser.json: no such file or directory")},
	},
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	got, problems := Render(golden)
	path := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("the document differs from %s (go test -update rewrites it); got:\n%s", path, got)
	}
	var fatal, other []string
	for _, p := range problems {
		if p.Fatal {
			fatal = append(fatal, p.Text)
		} else {
			other = append(other, p.Text)
		}
	}
	if len(fatal) != 2 || !strings.Contains(fatal[0], "forwarding latency p99") || !strings.Contains(fatal[1], "browser.json") {
		t.Errorf("fatal problems %q, want the SFU's missing p99 and the missing browser section", fatal)
	}
	if len(other) != 1 || !strings.Contains(other[0], "relay latency p99") {
		t.Errorf("other problems %q, want peerjs-server's missing p99", other)
	}
}

func TestMainExit(t *testing.T) {
	dir := t.TempDir()
	good := bench.Section{Title: "sizes", Command: "x", Rows: []bench.Row{{Metric: "raw", Unit: "KiB", Skywasm: bench.F(1), Better: "lower"}}}
	bad := bench.Section{Title: "sfu", Command: "y", Rows: []bench.Row{{Metric: "p99", Unit: "ms", Better: "lower"}}}
	for name, s := range map[string]bench.Section{"good.json": good, "bad.json": bad} {
		if err := s.WriteFile(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		files   []string
		wantErr bool
	}{
		{"every figure", []string{"good.json"}, false},
		{"a figure missing", []string{"good.json", "bad.json"}, true},
		{"a section missing", []string{"good.json", "absent.json"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "benchmarks.md")
			args := []string{"-o", out, "-machine", "test"}
			for _, f := range c.files {
				args = append(args, filepath.Join(dir, f))
			}
			var stdout, stderr bytes.Buffer
			err := Main(context.Background(), args, &stdout, &stderr)
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v, want error %v; stderr:\n%s", err, c.wantErr, stderr.String())
			}
			doc, rerr := os.ReadFile(out)
			if rerr != nil {
				t.Fatalf("no document written, also on failure: %v", rerr)
			}
			if !strings.Contains(string(doc), "## sizes") || !strings.Contains(string(doc), "| Machine | test |") {
				t.Errorf("the document lacks the good section or the machine:\n%s", doc)
			}
		})
	}
	if err := Main(context.Background(), nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("no error without section files")
	}
}
