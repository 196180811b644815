//go:build !js

// Package sfu is the SFU load generator behind `skywasm-bench sfu`. It runs
// `skywasm serve` as a child process, has native bots built on the Go SDK
// publish synthetic video of about 1 Mbit/s into one sfu room, and adds
// receive-only subscribers in steps until more than 1% of the forwarded
// packets are lost or too late to use. At each step it measures the
// packets forwarded per second and per CPU-second of the server (read from
// /proc), the forwarding latency from a timestamp in each packet, and the
// loss from a counter in each packet.
//
// The bots share the machine with the server, so the largest room it finds
// is what this machine holds with both on it, not the SFU's own limit. It
// measures; it must not tune the server or the SDK to look better.
package sfu

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/bench"
	"github.com/skywasm/skywasm/internal/loopback"
)

// maxLoss is the loss at which the ramp stops.
const maxLoss = 0.01

// options are Main's flags.
type options struct {
	skywasm    string
	json       string
	smoke      bool
	publishers int
	maxSubs    int
	budget     time.Duration
	args       []string
	livekit    string // compare with this LiveKit binary
	shed       bool   // skywasm with sfu.shedLoad
	rounds     int    // turns of each server, with livekit
	target     target // the server under test; skywasm's when unset
}

// timing is how long each part of a step takes.
type timing struct {
	settle  time.Duration // after the step's subscribers receive, before measuring
	measure time.Duration // the measured window
	grace   time.Duration // for the window's last packets, up to lateLimit
	join    time.Duration // bound on one subscriber joining and receiving
	// parallel is how many subscribers join at once: each join is a
	// DTLS handshake on both sides, which is CPU-heavy.
	parallel int
}

var (
	fullTiming  = timing{settle: time.Second, measure: 3 * time.Second, grace: lateLimit + 100*time.Millisecond, join: 20 * time.Second, parallel: 4}
	smokeTiming = timing{settle: 500 * time.Millisecond, measure: time.Second, grace: lateLimit + 100*time.Millisecond, join: 20 * time.Second, parallel: 2}
)

// Main runs the benchmark with the command-line args of `skywasm-bench
// sfu`, writes progress to stderr, a table of the steps to stdout and the
// bench.Section as JSON to the -json file.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := options{args: args}
	fs := flag.NewFlagSet("skywasm-bench sfu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.skywasm, "skywasm", "bin/skywasm", "the skywasm `binary` to run as the server")
	fs.BoolVar(&o.shed, "shed", true, "skywasm's sfu.shedLoad: past capacity the newest joiners' video pauses (-shed=false: the SFU without it)")
	fs.StringVar(&o.json, "json", "", "write the results as JSON to `file`")
	fs.BoolVar(&o.smoke, "smoke", false, "a few seconds' run with 1 and 2 subscribers, for tests")
	fs.IntVar(&o.publishers, "publishers", 1, "publishing bots, 1 to 4")
	fs.StringVar(&o.livekit, "livekit", "", "compare with this LiveKit server `binary`, taking turns (see compare.go)")
	fs.IntVar(&o.rounds, "rounds", 1, "with -livekit: turns of each server per publisher count")
	fs.IntVar(&o.maxSubs, "max-subscribers", 400, "stop the ramp at this many subscribers")
	fs.DurationVar(&o.budget, "budget", 2*time.Minute, "stop the ramp when the next step would end after this much time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("sfu: unexpected arguments %q", fs.Args())
	case o.publishers < 1 || o.publishers > 4:
		return fmt.Errorf("sfu: -publishers %d: must be 1 to 4", o.publishers)
	case o.maxSubs < 1:
		return fmt.Errorf("sfu: -max-subscribers %d: must be at least 1", o.maxSubs)
	case o.budget <= 0:
		return fmt.Errorf("sfu: -budget %v: must be positive", o.budget)
	}
	t := fullTiming
	if o.smoke {
		t = smokeTiming
		o.maxSubs = min(o.maxSubs, 2)
	}
	if o.livekit != "" {
		return compare(ctx, o, t, stdout, &lockedWriter{w: stderr})
	}
	// The server's log and the progress lines both go to stderr.
	r, err := run(ctx, o, t, &lockedWriter{w: stderr})
	if err != nil {
		return fmt.Errorf("sfu: %w", err)
	}
	sec, err := r.section(o)
	printSteps(stdout, r)
	if err != nil {
		return fmt.Errorf("sfu: %w", err)
	}
	if o.json != "" {
		if err := sec.WriteFile(o.json); err != nil {
			return fmt.Errorf("sfu: %w", err)
		}
	}
	return nil
}

// step is what one step of the ramp measured.
type step struct {
	subscribers, members int
	window               time.Duration
	delivered, expected  int64 // packets of the window, over every subscriber
	// medianLoss is the loss of the median subscriber: past capacity
	// the SFU sheds a minority's video, which counts in loss but not
	// in this.
	medianLoss          float64
	late                int64 // packets that came too late to count
	serverCPU, benchCPU time.Duration
	latency             []float64 // ms
	remeasured          bool      // the first measurement lost over maxLoss
	// The server's own counts over the window: packets it read from the
	// publishers, NACKs it got from subscribers.
	read, nacks float64
	shed        int   // subscribers whose video the SFU shed at the window's end
	rss         int64 // the server's resident memory, bytes, after the window
}

func (s step) loss() float64 { return 1 - float64(s.delivered)/float64(s.expected) }

// rate is the forwarded packets a second that arrived.
func (s step) rate() float64 { return float64(s.delivered) / s.window.Seconds() }

// perCPU is the forwarded packets per CPU-second of the server.
func (s step) perCPU() float64 { return float64(s.delivered) / s.serverCPU.Seconds() }

func (s step) String() string {
	return fmt.Sprintf("%4d subscribers: %8.0f packets/s forwarded, server %4.0f%% CPU (%7.0f packets/CPU-s), bench %4.0f%% CPU, loss %6.3f%% (late %d; median subscriber %.3f%%), latency p50 %6.2f ms p99 %7.2f ms",
		s.subscribers, s.rate(), 100*s.serverCPU.Seconds()/s.window.Seconds(), s.perCPU(),
		100*s.benchCPU.Seconds()/s.window.Seconds(), 100*s.loss(), s.late, 100*s.medianLoss,
		bench.Percentile(s.latency, 50), bench.Percentile(s.latency, 99)) +
		fmt.Sprintf(", SFU read %.0f packets/s, %.0f NACKs/s, %d shed", s.read/s.window.Seconds(), s.nacks/s.window.Seconds(), s.shed) +
		secondLook(s.remeasured)
}

func secondLook(again bool) string {
	if again {
		return " (second look)"
	}
	return ""
}

// result is a whole run.
type result struct {
	steps    []step
	best     int    // index in steps of the largest step under maxLoss, or -1
	stopped  string // why the ramp ended
	sent     uint64 // packets the publishers sent
	sentB    uint64 // their payload bytes
	sentFor  time.Duration
	plis     int64
	timing   timing
	wallTime time.Duration
}

// rampSteps are the subscriber counts to measure, up to max: doubling to
// 8, then growing by a quarter (at least 8, in multiples of 8), so that
// the room the machine holds is found within about 25% in few steps.
func rampSteps(limit int) []int {
	var s []int
	for n := 1; n < limit; {
		s = append(s, n)
		if n < 8 {
			n *= 2
		} else {
			n += max(8, n/4/8*8)
		}
	}
	return append(s, limit)
}

// run starts the server and the publishers and ramps subscribers.
func run(ctx context.Context, o options, t timing, progress io.Writer) (*result, error) {
	start := time.Now()
	deadline := start.Add(o.budget)
	res := &result{best: -1, timing: t}
	tgt := o.target
	if tgt.name == "" {
		tgt = skywasmTarget(o.skywasm, o.shed)
	}
	srv, err := tgt.start(ctx, o.maxSubs+o.publishers, progress)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	const room = "bench"
	epoch := time.Now()

	var pubs []*publisher
	sendCtx, stopSending := context.WithCancel(ctx)
	defer func() {
		stopSending()
		for _, p := range pubs {
			p.stop()
		}
	}()
	for i := range o.publishers {
		jctx, cancel := context.WithTimeout(ctx, t.join)
		p, err := tgt.publisher(jctx, srv, room, i, epoch)
		cancel()
		if err != nil {
			return nil, err
		}
		pubs = append(pubs, p)
	}
	sendStart := time.Now()
	for _, p := range pubs {
		p.send(sendCtx)
	}

	api, err := loopback.API()
	if err != nil {
		return nil, fmt.Errorf("failed to create the subscribers' pion API: %w", err)
	}
	var (
		subs      []*subscriber
		recording atomic.Bool
		joinTime  time.Duration // spent adding subscribers so far
	)
	defer func() {
		// Side by side: each waits for its PeerConnection to close.
		var wg sync.WaitGroup
		for _, s := range subs {
			wg.Go(s.stop)
		}
		wg.Wait()
	}()
	ramp := rampSteps(o.maxSubs)
	for _, target := range ramp {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Wall time per subscriber added so far, joins overlapping.
		perJoin := time.Duration(0)
		if len(subs) > 0 {
			perJoin = joinTime / time.Duration(len(subs))
		}
		need := time.Duration(target-len(subs))*perJoin + t.settle + 2*(t.measure+t.grace)
		if len(res.steps) > 0 && time.Now().Add(need).After(deadline) {
			res.stopped = fmt.Sprintf("the %v budget ran out before %d subscribers, so this is a lower bound", o.budget, target)
			break
		}
		began, have := time.Now(), len(subs)
		added, err := addSubscribers(ctx, tgt, srv, api, room, have, target, o.publishers, epoch, &recording, t)
		subs = append(subs, added...)
		joinTime += time.Since(began)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.stopped = fmt.Sprintf("going from %d to %d subscribers, one could not join or receive: %v", have, target, err)
			break
		}
		if err := sleep(ctx, t.settle); err != nil {
			return nil, err
		}
		st, err := measure(ctx, srv, pubs, subs, &recording, t)
		if err != nil {
			return nil, err
		}
		if st.loss() > maxLoss {
			// One more look: a single noisy window on a shared machine
			// must not end the ramp.
			fmt.Fprintf(progress, "skywasm-bench sfu: %v; measuring again\n", st)
			if st, err = measure(ctx, srv, pubs, subs, &recording, t); err != nil {
				return nil, err
			}
			st.remeasured = true
		}
		// The ramp stops at the first step over the loss bound or at the
		// budget, whichever comes first: the budget bounds the time left.
		fmt.Fprintf(progress, "skywasm-bench sfu: step %d of at most %d, at most %v left: %v\n",
			len(res.steps)+1, len(ramp), max(time.Until(deadline), 0).Round(time.Second), st)
		res.steps = append(res.steps, st)
		if st.loss() > maxLoss {
			res.stopped = fmt.Sprintf("loss passed %.0f%% (%.2f%%) at %d subscribers", 100*maxLoss, 100*st.loss(), target)
			break
		}
		res.best = len(res.steps) - 1
	}
	if res.stopped == "" {
		res.stopped = fmt.Sprintf("it reached -max-subscribers %d, so this is a lower bound", o.maxSubs)
	}
	stopSending()
	res.sentFor = time.Since(sendStart)
	for _, p := range pubs {
		res.sent += p.packets.Load()
		res.sentB += p.bytes.Load()
		res.plis += p.plis.Load()
	}
	res.wallTime = time.Since(start)
	return res, nil
}

// addSubscribers adds subscribers from index have up to want, t.parallel
// at a time, and waits until each receives every publisher's video. It
// returns those that joined, also on error.
//
// A subscriber that joined while the SFU sheds video (see waitMedia) has
// joined: its missing video counts as loss in the steps.
func addSubscribers(ctx context.Context, tgt target, srv *server, api *webrtc.API, room string, have, want, publishers int, epoch time.Time, recording *atomic.Bool, t timing) ([]*subscriber, error) {
	shedding := func(ctx context.Context) bool {
		c, err := srv.counters(ctx)
		return err == nil && c.shed > 0
	}
	var (
		mu    sync.Mutex
		added []*subscriber
		errs  []error
		next  = have
		wg    sync.WaitGroup
	)
	for range t.parallel {
		wg.Go(func() {
			for {
				mu.Lock()
				if next >= want || len(errs) > 0 {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				jctx, cancel := context.WithTimeout(ctx, t.join)
				s, err := tgt.subscriber(jctx, srv, api, room, i, publishers, epoch, recording)
				if err == nil {
					err = s.waitMedia(jctx, shedding)
					if errors.Is(err, errShed) {
						err = nil
					}
				}
				cancel()
				mu.Lock()
				if s != nil {
					added = append(added, s)
				}
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return added, errors.Join(errs...)
}

// measure measures one window: the packets sent in it that arrived, the
// CPU both processes used and the latencies recorded.
func measure(ctx context.Context, srv *server, pubs []*publisher, subs []*subscriber, recording *atomic.Bool, t timing) (step, error) {
	st := step{subscribers: len(subs), members: len(subs) + len(pubs)}
	for _, s := range subs {
		s.takeLatency()
	}
	counters := func() []uint64 {
		c := make([]uint64, len(pubs))
		for i, p := range pubs {
			c[i] = p.next.Load()
		}
		return c
	}
	cpu := func() (server, self time.Duration, err error) {
		if server, err = srv.cpu(); err == nil {
			self, err = cpuTime("self")
		}
		return server, self, err
	}
	from := counters()
	sfu0, err := srv.counters(ctx)
	if err != nil {
		return st, err
	}
	server0, self0, err := cpu()
	if err != nil {
		return st, err
	}
	t0 := time.Now()
	recording.Store(true)
	err = sleep(ctx, t.measure)
	recording.Store(false)
	if err != nil {
		return st, err
	}
	to := counters()
	server1, self1, err := cpu()
	if err != nil {
		return st, err
	}
	sfu1, err := srv.counters(ctx)
	if err != nil {
		return st, err
	}
	st.read, st.nacks, st.shed = sfu1.read-sfu0.read, sfu1.nacks-sfu0.nacks, int(sfu1.shed)
	if st.rss, err = srv.rss(); err != nil {
		return st, err
	}
	st.window = time.Since(t0)
	st.serverCPU, st.benchCPU = server1-server0, self1-self0
	if err := sleep(ctx, t.grace); err != nil {
		return st, err
	}
	losses := make([]float64, 0, len(subs))
	for _, s := range subs {
		var delivered, expected int64
		for p := range pubs {
			delivered += s.received(p, from[p], to[p])
			expected += int64(to[p] - from[p])
		}
		st.delivered, st.expected = st.delivered+delivered, st.expected+expected
		if expected > 0 {
			losses = append(losses, 100*(1-float64(delivered)/float64(expected)))
		}
		lat, late := s.takeLatency()
		st.latency, st.late = append(st.latency, lat...), st.late+late
	}
	if err := srv.exited(); err != nil {
		return st, err
	}
	st.medianLoss = bench.Median(losses) / 100
	if st.expected == 0 {
		return st, errors.New("the publishers sent nothing in a measured window")
	}
	if st.serverCPU <= 0 {
		return st, errors.New("the server used no measurable CPU in a measured window")
	}
	return st, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// section turns the run into its bench.Section; it fails if no step
// stayed under maxLoss, since its rows would be empty.
func (r *result) section(o options) (bench.Section, error) {
	cmd := "skywasm-bench sfu"
	if len(o.args) > 0 {
		cmd += " " + strings.Join(o.args, " ")
	}
	sec := bench.Section{Title: "SFU", Command: cmd}
	if r.best < 0 {
		return sec, fmt.Errorf("no step stayed under %.0f%% loss (%s)", 100*maxLoss, r.stopped)
	}
	b := r.steps[r.best]
	at := fmt.Sprintf("at %d subscribers + %d publisher(s), the largest step under %.0f%% loss", b.subscribers, b.members-b.subscribers, 100*maxLoss)
	lat := fmt.Sprintf("publisher bot → SFU → subscriber bot, every packet of a %v window, ", b.window.Round(time.Second)) + at
	sec.Rows = []bench.Row{
		{Metric: "forwarded packets per server CPU-second", Unit: "packets/CPU-s", Skywasm: bench.F(b.perCPU()), Better: "higher",
			Detail: fmt.Sprintf("%s; the server used %.0f%% of a core", at, 100*b.serverCPU.Seconds()/b.window.Seconds())},
		{Metric: "forwarded packets per second", Unit: "packets/s", Skywasm: bench.F(b.rate()), Better: "higher", Detail: at},
		{Metric: "forwarding latency p50", Unit: "ms", Skywasm: bench.F(bench.Percentile(b.latency, 50)), Better: "lower", Detail: lat},
		{Metric: "forwarding latency p99", Unit: "ms", Skywasm: bench.F(bench.Percentile(b.latency, 99)), Better: "lower", Detail: lat},
		{Metric: "largest room held under 1% loss", Unit: "members", Skywasm: bench.F(float64(b.members)), Better: "higher", Detail: "ramp ended: " + r.stopped},
		{Metric: "packet loss at that step", Unit: "%", Skywasm: bench.F(100 * b.loss()), Better: "lower", Detail: fmt.Sprintf("lost or later than %v, after NACK repair; %s", lateLimit, at)},
	}
	pubs := b.members - b.subscribers
	meanPacket := float64(r.sentB) / float64(max(r.sent, 1))
	sec.Notes = []string{
		fmt.Sprintf("%d publisher bot(s), each sending synthetic VP8-framed video: %.2f Mbit/s of payload at %d fps, %.0f packets/s of %.0f payload bytes on average (at most %d), a frame's packets back to back, a keyframe %d× a delta frame every %v and on each PLI (%d PLIs over the run). Each payload ends with a counter and a monotonic send time; subscribers never decode.",
			pubs, 8*float64(r.sentB)/r.sentFor.Seconds()/1e6/float64(pubs), frameRate,
			float64(r.sent)/r.sentFor.Seconds()/float64(pubs), meanPacket, maxPayload, keyframeFactor, keyframeEvery, r.plis),
		fmt.Sprintf("Subscribers are receive-only room members, each an sdk.Peer with its own PeerConnection to the SFU, joining %d at a time; they read RTP and RTCP so that pion's NACK, receiver reports and TWCC run as in a browser. Publishers receive nothing.", r.timing.parallel),
		fmt.Sprintf("Each step: %v settling after the new subscribers receive, a %v window, %v more for its last packets. Loss counts the window's packets that did not reach a subscriber within %v of being sent (ITU-T G.114's bound for interactive use): an SFU that falls behind queues seconds of video in pion's buffers instead of dropping it, and such packets are lost to a call. A step over %.0f%% is measured once more before the ramp stops.", r.timing.settle, r.timing.measure, r.timing.grace, lateLimit, 100*maxLoss),
		fmt.Sprintf("The server is `skywasm serve` as a child process with dev mode's configuration (one app, SFU allowed, UDP on 127.0.0.1) but a room limit above dev mode's 100 members, no sfu: admission limits and sfu.shedLoad %v; its CPU time is utime+stime from /proc/PID/stat. Nothing is compared here: no other SFU is run.", o.shed),
		fmt.Sprintf("The bots run in the bench process on the same cores as the server (at the largest step the bots used %.0f%% of a core, the server %.0f%%), so the largest room is what this machine holds with both, not the SFU's own limit. There the SFU read %.0f packets/s from the publisher(s) and got %.0f NACKs/s from subscribers (its /metrics).",
			100*b.benchCPU.Seconds()/b.window.Seconds(), 100*b.serverCPU.Seconds()/b.window.Seconds(), b.read/b.window.Seconds(), b.nacks/b.window.Seconds()),
		"Ramp (subscribers: loss (the median subscriber's), forwarded packets/s, server CPU): " + r.rampSummary(),
		fmt.Sprintf("Wall time %v.", r.wallTime.Round(time.Second)),
	}
	sec.Series = r.series()
	return sec, nil
}

// rampSummary is one line with every step.
func (r *result) rampSummary() string {
	var parts []string
	for _, s := range r.steps {
		parts = append(parts, fmt.Sprintf("%d: %.2f%% (median %.2f%%), %.0f/s, %.0f%%", s.subscribers, 100*s.loss(), 100*s.medianLoss, s.rate(), 100*s.serverCPU.Seconds()/s.window.Seconds()))
	}
	return strings.Join(parts, "; ")
}

// printSteps writes the ramp as a table.
func printSteps(w io.Writer, r *result) {
	fmt.Fprintln(w, "SFU ramp:")
	for i, s := range r.steps {
		mark := " "
		if i == r.best {
			mark = "*"
		}
		fmt.Fprintf(w, "%s %v\n", mark, s)
	}
	fmt.Fprintf(w, "ramp ended: %s; wall time %v\n", r.stopped, r.wallTime.Round(time.Second))
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
