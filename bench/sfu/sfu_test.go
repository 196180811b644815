//go:build !js

package sfu

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/bench"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// pion's ICE agents and coder/websocket's timers end shortly
		// after Close returns, as in the SDK's own tests.
		goleak.IgnoreTopFunction("time.Sleep"),
	)
}

// TestSmoke runs the whole benchmark briefly against bin/skywasm: one
// publisher, one then two subscribers.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the SFU benchmark's smoke run takes several seconds")
	}
	skywasm, err := filepath.Abs("../../bin/skywasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(skywasm); err != nil {
		t.Skipf("the smoke run needs bin/skywasm (make build): %v", err)
	}
	out := filepath.Join(t.TempDir(), "sfu.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := Main(ctx, []string{"-smoke", "-skywasm", skywasm, "-json", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("stdout:\n%s", stdout.String())
	sec, err := bench.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Rows) == 0 || len(sec.Notes) == 0 || !strings.Contains(sec.Command, "-smoke") {
		t.Fatalf("incomplete section: %+v", sec)
	}
	figures := map[string]float64{}
	for _, r := range sec.Rows {
		if r.Skywasm == nil || math.IsNaN(*r.Skywasm) || math.IsInf(*r.Skywasm, 0) || *r.Skywasm < 0 {
			t.Fatalf("row %q has no usable figure: %v", r.Metric, r.Skywasm)
		}
		if r.Unit == "" || (r.Better != "lower" && r.Better != "higher") || r.Other != nil {
			t.Errorf("row %q: unit %q, better %q, other %v", r.Metric, r.Unit, r.Better, r.Other)
		}
		figures[r.Metric] = *r.Skywasm
	}
	checks := []struct {
		metric string
		ok     func(float64) bool
		want   string
	}{
		// Two subscribers of one ~115 packets/s publisher.
		{"forwarded packets per second", func(v float64) bool { return v > 50 && v < 400 }, "between 50 and 400"},
		{"forwarded packets per server CPU-second", func(v float64) bool { return v > 0 }, "positive"},
		{"largest room held under 1% loss", func(v float64) bool { return v == 3 }, "3 (1 publisher, 2 subscribers)"},
		{"packet loss at that step", func(v float64) bool { return v < 1 }, "under 1%"},
		{"forwarding latency p50", func(v float64) bool { return v > 0 && v < 200 }, "between 0 and 200 ms on loopback"},
		{"forwarding latency p99", func(v float64) bool { return v >= figures["forwarding latency p50"] }, "at least p50"},
	}
	for _, c := range checks {
		v, ok := figures[c.metric]
		if !ok {
			t.Errorf("no row %q", c.metric)
			continue
		}
		if !c.ok(v) {
			t.Errorf("%s = %v, want %s", c.metric, v, c.want)
		}
	}
}

// TestSmokeLiveKit runs the comparison briefly against bin/skywasm and
// bin/livekit/server (scripts/bench.sh builds it): every row has both
// figures but the cliff's, which a two-step ramp never reaches.
func TestSmokeLiveKit(t *testing.T) {
	if testing.Short() {
		t.Skip("the SFU comparison's smoke run takes several seconds")
	}
	var bins []string
	for _, b := range []string{"../../bin/skywasm", "../../bin/livekit/server"} {
		abs, err := filepath.Abs(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Skipf("the comparison's smoke run needs %s (make build; scripts/bench.sh builds LiveKit): %v", b, err)
		}
		bins = append(bins, abs)
	}
	out := filepath.Join(t.TempDir(), "sfu-livekit.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := Main(ctx, []string{"-smoke", "-skywasm", bins[0], "-livekit", bins[1], "-json", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("stdout:\n%s", stdout.String())
	sec, err := bench.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sec.Rows {
		if strings.Contains(r.Metric, "cliff") {
			continue
		}
		if r.Skywasm == nil || r.Other == nil || *r.Skywasm < 0 || *r.Other < 0 || r.OtherName == "" {
			t.Errorf("row %q: skywasm %v, %s %v", r.Metric, r.Skywasm, r.OtherName, r.Other)
		}
		if strings.HasPrefix(r.Metric, "largest room") && (*r.Skywasm != 3 || *r.Other != 3) {
			t.Errorf("row %q: %v and %v, want 3 and 3", r.Metric, *r.Skywasm, *r.Other)
		}
	}
}

func TestSplitFrame(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		size int
		want []int
	}{
		{"one packet", 500, []int{500}},
		{"exactly one", maxPayload, []int{maxPayload}},
		{"just over one", maxPayload + 1, []int{591, 590}},
		{"delta frame", 3906, []int{977, 977, 976, 976}},
		{"keyframe", 19530, nil}, // checked by the invariants only
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := splitFrame(nil, c.size)
			sum := 0
			for _, s := range got {
				sum += s
				if s > maxPayload || s < recordSize+11 {
					t.Errorf("packet of %d bytes", s)
				}
			}
			if sum != c.size {
				t.Errorf("sizes %v add up to %d, want %d", got, sum, c.size)
			}
			if want := (c.size + maxPayload - 1) / maxPayload; len(got) != want {
				t.Errorf("%d packets, want %d", len(got), want)
			}
			if c.want != nil && !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestFrameSizerBitrate checks that a minute of frames makes the bitrate
// asked for, with keyframes where they are due or asked for.
func TestFrameSizerBitrate(t *testing.T) {
	t.Parallel()
	f := newFrameSizer(1)
	total, keys := 0, 0
	const seconds = 60
	for i := range seconds * frameRate {
		size, key := f.next(i == 45)
		total += size
		if key {
			keys++
			if size != keyframeFactor*meanDeltaFrame {
				t.Fatalf("keyframe of %d bytes", size)
			}
		}
	}
	// One keyframe every keyframeEvery, counting from the asked-for one
	// after 45 frames, which restarts the period.
	if want := 1 + 1 + (seconds*frameRate-46)/int(keyframeEvery.Seconds()*frameRate); keys != want {
		t.Errorf("%d keyframes, want %d", keys, want)
	}
	bitrate := float64(total) * 8 / seconds
	if math.Abs(bitrate-videoBitrate)/videoBitrate > 0.05 {
		t.Errorf("bitrate %.0f, want %d within 5%%", bitrate, videoBitrate)
	}
}

func TestRecord(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		payload int
		padding int
		first   bool
		key     bool
	}{
		{"first packet of a keyframe", 1180, 0, true, true},
		{"first packet of a delta frame", 977, 0, true, false},
		{"middle packet", 600, 0, false, false},
		{"padded", 600, 7, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			header := []byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
			if c.padding > 0 {
				header[0] |= 0x20
			}
			payload := make([]byte, c.payload)
			n := writeVP8Start(payload, c.first, c.key)
			if c.first && (payload[0] != 0x10 || (payload[1]&1 == 0) != c.key) {
				t.Errorf("VP8 start % x does not say first=%v key=%v", payload[:n], c.first, c.key)
			}
			putRecord(payload, 1, 123456, 42*time.Millisecond)
			pkt := append(append(header, payload...), make([]byte, c.padding)...)
			if c.padding > 0 {
				pkt[len(pkt)-1] = byte(c.padding)
			}
			pub, counter, sent, ok := readRecord(pkt)
			if !ok || pub != 1 || counter != 123456 || sent != 42*time.Millisecond {
				t.Fatalf("read %v %v %v %v", pub, counter, sent, ok)
			}
		})
	}
	if _, _, _, ok := readRecord(make([]byte, 40)); ok {
		t.Error("a packet without the magic number was read as a record")
	}
	if _, _, _, ok := readRecord(make([]byte, 20)); ok {
		t.Error("a packet too short was read as a record")
	}
}

// TestReceived checks the counting of counters that arrived, across the
// words of the bit set and with duplicates.
func TestReceived(t *testing.T) {
	t.Parallel()
	var rec atomic.Bool
	rec.Store(true)
	s := &subscriber{recording: &rec, got: make([][]uint64, 2), heard: make([]bool, 2), missing: 2, first: make(chan struct{})}
	for c := uint32(0); c < 300; c++ {
		if c%10 != 3 { // every tenth is lost
			s.note(0, c, time.Millisecond)
		}
	}
	s.note(0, 5, time.Millisecond) // a retransmission
	select {
	case <-s.first:
		t.Fatal("first closed before the second publisher was heard")
	default:
	}
	s.note(1, 7, time.Millisecond)
	select {
	case <-s.first:
	default:
		t.Fatal("first not closed once both publishers were heard")
	}
	cases := []struct {
		from, to uint64
		want     int64
	}{
		{0, 300, 270},
		{0, 10, 9},
		{60, 70, 9},
		{62, 66, 3}, // across a word boundary, 63 lost
		{100, 100, 0},
		{290, 400, 9},
	}
	for _, c := range cases {
		if got := s.received(0, c.from, c.to); got != c.want {
			t.Errorf("received [%d, %d) = %d, want %d", c.from, c.to, got, c.want)
		}
	}
	if lat, late := s.takeLatency(); len(lat) != 271 || late != 0 {
		t.Errorf("%d latencies and %d late, want 271 (no duplicate) and 0", len(lat), late)
	}
	// A packet later than lateLimit is recorded but not received.
	s.note(0, 3, lateLimit+time.Millisecond)
	if got := s.received(0, 0, 10); got != 9 {
		t.Errorf("a late packet counted as received: %d of [0, 10)", got)
	}
	if lat, late := s.takeLatency(); len(lat) != 1 || late != 1 {
		t.Errorf("%d latencies and %d late, want 1 and 1", len(lat), late)
	}
}

func TestRampSteps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		limit int
		want  []int
	}{
		{1, []int{1}},
		{2, []int{1, 2}},
		{20, []int{1, 2, 4, 8, 16, 20}},
		{100, []int{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 100}},
	}
	for _, c := range cases {
		if got := rampSteps(c.limit); !slices.Equal(got, c.want) {
			t.Errorf("rampSteps(%d) = %v, want %v", c.limit, got, c.want)
		}
	}
}

// TestCPUTime spins until this process's CPU time moves, which on a
// loaded machine may take a while of wall time.
func TestCPUTime(t *testing.T) {
	before, err := cpuTime("self")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for x := 0; ; x++ {
		_ = x * x
		if x%100000 != 0 {
			continue
		}
		after, err := cpuTime("self")
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s of spinning left the CPU time at %v", after)
		}
	}
	if _, err := cpuTime("0"); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestMainFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-publishers", "5"}, {"-max-subscribers", "0"}, {"-budget", "0s"}, {"extra"}} {
		var stderr bytes.Buffer
		if err := Main(context.Background(), args, &stderr, &stderr); err == nil {
			t.Errorf("Main(%q) did not fail", args)
		}
	}
}
