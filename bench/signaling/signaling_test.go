package signaling

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/bench"
)

// projectRoot is where bin/skywasm and node_modules are: the tests run in
// this package's directory.
const projectRoot = "../.."

// TestSmoke runs the whole benchmark, tiny, against both real servers and
// checks that every row got both figures.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts both servers; skipped under -short")
	}
	defer goleak.VerifyNone(t)
	skywasm := filepath.Join(projectRoot, "bin", "skywasm")
	if _, err := os.Stat(skywasm); err != nil {
		t.Skipf("needs %s: run make build first (%v)", skywasm, err)
	}
	// node_modules/peer is a dev dependency: make test installs it, so its
	// absence is a broken setup, not a reason to skip.
	peerjs := filepath.Join(projectRoot, "node_modules", "peer", "dist", "bin", "peerjs.js")
	out := filepath.Join(t.TempDir(), "signaling.json")
	clusterOut := filepath.Join(t.TempDir(), "cluster.json")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := Main(ctx, []string{"-smoke", "-skywasm", skywasm, "-peerjs", peerjs, "-json", out, "-cluster-json", clusterOut}, &stdout, &stderr)
	t.Logf("progress:\n%s", stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("table:\n%s", stdout.String())
	s, err := bench.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.Title != "Signaling server" || s.Command == "" || len(s.Notes) == 0 {
		t.Errorf("section header incomplete: title %q, command %q, %d notes", s.Title, s.Command, len(s.Notes))
	}
	// 1 connect + 1 memory + 2 throughput + 2 latency rows for one fleet
	// size, 4 join storm rows, and the 20 GiB extrapolation.
	if len(s.Rows) != 11 {
		t.Errorf("got %d rows, want 11", len(s.Rows))
	}
	for _, r := range s.Rows {
		for side, v := range map[string]*float64{"skywasm": r.Skywasm, "other": r.Other} {
			if strings.HasSuffix(r.Metric, "left over") {
				// What a storm leaves may be nothing; peerjs-server has
				// no goroutines to count.
				if v != nil && *v < 0 || v == nil && side == "skywasm" {
					t.Errorf("row %q: %s figure is %v, want zero or more", r.Metric, side, show(v))
				}
				continue
			}
			if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) || *v <= 0 {
				t.Errorf("row %q: %s figure is %v, want a positive number", r.Metric, side, show(v))
			}
		}
		// A row of skywasm's alone (Other nil) names no other server.
		if r.Unit == "" || (r.Better != "lower" && r.Better != "higher") || (r.OtherName == "") != (r.Other == nil) {
			t.Errorf("row %q: unit %q, better %q, other %q", r.Metric, r.Unit, r.Better, r.OtherName)
		}
	}

	// The cluster beside the single node: connect, memory, 2 throughput
	// and 2 latency rows for one fleet size, every one with both figures.
	c, err := bench.ReadFile(clusterOut)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Title, "Cluster: 3 nodes") || len(c.Rows) != 6 {
		t.Errorf("cluster section: title %q, %d rows, want 6", c.Title, len(c.Rows))
	}
	for _, r := range c.Rows {
		if r.Skywasm == nil || r.Other == nil || *r.Skywasm <= 0 || *r.Other <= 0 || r.OtherName != "skywasm, one node" {
			t.Errorf("cluster row %q: cluster %v, one node %v (%q)", r.Metric, show(r.Skywasm), show(r.Other), r.OtherName)
		}
	}
}

func show(v *float64) any {
	if v == nil {
		return "nil"
	}
	return *v
}

// TestFrameTemplate checks that both servers' offers are built whole and
// that a receiver reads back who sent one and when.
func TestFrameTemplate(t *testing.T) {
	sky, err := newSkywasm("skywasm", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pjs, err := newPeerJS("node", filepath.Join(projectRoot, "node_modules", "peer", "dist", "bin", "peerjs.js"))
	if err != nil {
		t.Fatalf("needs node_modules/peer (make deps, or npm ci): %v", err)
	}
	for _, tg := range []*target{sky, pjs} {
		t.Run(tg.name, func(t *testing.T) {
			var cid [48]byte
			frame := tg.offer.append(nil, "p4321", appendConnectionID(cid[:0], 17, 123456789012))
			if !bytes.Contains(frame, []byte(`"p4321"`)) || bytes.Contains(frame, []byte("HOLE")) {
				t.Fatalf("frame not filled in: %.300s", frame)
			}
			if got, want := len(frame), tg.offer.size(len("p4321"), len("sb_17_123456789012")); got != want {
				t.Errorf("frame is %d bytes, size says %d", got, want)
			}
			sender, stamp, ok := parseRelayed(frame)
			if !ok || sender != 17 || stamp != 123456789012 {
				t.Errorf("parseRelayed = %d, %d, %v; want 17, 123456789012, true", sender, stamp, ok)
			}
		})
	}
}

func TestParseRelayedRefuses(t *testing.T) {
	for _, msg := range []string{
		`{"type":"ERROR","payload":{"type":"signaling-limited"}}`,
		`{"connectionId":"sb_"}`,
		`{"connectionId":"sb_12"}`,
		`{"connectionId":"sb_12_"}`,
		`{"connectionId":"sb_x_1"}`,
		`{"connectionId":"sb_1_2x"}`,
	} {
		if _, _, ok := parseRelayed([]byte(msg)); ok {
			t.Errorf("parseRelayed(%s) accepted it", msg)
		}
	}
}

// TestClusterStartSaysWhy: a cluster that does not become ready fails
// within its bound, naming the step and showing each node's last lines of
// standard error, and leaves no process behind.
func TestClusterStartSaysWhy(t *testing.T) {
	sky := &target{
		name: "stuck",
		command: func(port int) *exec.Cmd {
			// Writes a line, then never answers HTTP.
			return exec.Command("sh", "-c", "echo 'nats: waiting for JetStream leaders' >&2; exec sleep 60")
		},
		readyPath: "/healthz",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	c, err := startCluster(ctx, sky, 3, io.Discard)
	if err == nil {
		c.stop()
		t.Fatal("a cluster whose nodes never answer started")
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{"waiting for every node's /healthz", "stuck node 3/3", "nats: waiting for JetStream leaders"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %s", want, msg)
		}
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the failed start took %v", took)
	}
}
