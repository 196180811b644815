// Package signaling is the signaling benchmark: skywasm serve against
// peerjs-server (the npm package peer), each started as a child process and
// driven over its own protocol by the same load generator. It measures the
// time to connect N peers, the servers' memory per peer, relayed offers a
// second at saturation, relay latency at a fixed rate, and extrapolates the
// peers one skywasm serve holds in 20 GiB.
//
// Only the protocol adapters (target.go) differ between the two servers;
// everything that connects, sends, times and counts is shared, so that a
// difference in the figures is the servers'. Both run in the same run,
// alternating which goes first each round, and the report gives medians.
//
// It talks to 127.0.0.1 only and should run in a loopback-only network
// namespace (scripts/netns.sh). It never measures a server's limiter: the
// servers are configured past every limit that configuration can raise, and
// each generator peer stays under skywasm's fixed per-socket rate.
package signaling

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/skywasm/skywasm/bench"
	"github.com/skywasm/skywasm/protocol"
)

// options are Main's flags.
type options struct {
	skywasm, node, peerjs string
	peers                 []int
	rounds                int
	jsonPath              string
	smoke                 bool
	budget                time.Duration
	// rate is the fixed-rate phase's offers a second, across the fleet.
	rate float64
	// measure is how long each throughput and latency measurement runs,
	// after a warm-up of a third (throughput) or a sixth (latency) of it.
	measure time.Duration
	// concurrency bounds the handshakes in flight while connecting.
	concurrency int
	// storm is the join storm's fleet; 0 skips it.
	storm int
	// big runs the big-frame row.
	big bool
	// perSource is the most peers dialled from one source address: past
	// it the fleet spreads over 127.0.0.1, 127.0.0.2, …, since one
	// address reaches the server from at most ~28,000 ephemeral ports.
	perSource int
	// window is each sender's unanswered offers at saturation, and pace
	// its most offers a second.
	window int
	pace   float64
	// cluster is the nodes of the cluster measured beside the single
	// node (0 skips it), and clusterJSON where its section goes.
	cluster     int
	clusterJSON string
}

// peerList is a comma-separated list of fleet sizes.
type peerList []int

func (l *peerList) String() string {
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *peerList) Set(v string) error {
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return fmt.Errorf("%q is not a fleet size of at least 2", f)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

// parseFlags reads args. -smoke sets small values for every flag the
// command line leaves unset.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{
		skywasm: "bin/skywasm", node: "node", peerjs: "node_modules/peer/dist/bin/peerjs.js",
		peers: []int{1000, 10000}, rounds: 3, budget: 5 * time.Minute,
		rate: 2000, measure: 3 * time.Second, concurrency: 200, window: 4, pace: 80, perSource: 20000, storm: 10000,
		cluster: 3,
	}
	fs := flag.NewFlagSet("skywasm-bench signaling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: skywasm-bench signaling [flags]\n\n"+
			"Benchmarks skywasm serve against peerjs-server on 127.0.0.1 (run it in a loopback-only\n"+
			"network namespace: scripts/netns.sh). Progress goes to stderr, the table to stdout.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.skywasm, "skywasm", o.skywasm, "the skywasm `binary` to run as the server")
	fs.StringVar(&o.node, "node", o.node, "the Node.js `binary` that runs peerjs-server")
	fs.StringVar(&o.peerjs, "peerjs", o.peerjs, "peerjs-server's `script`, from the npm package peer")
	peers := peerList(o.peers)
	fs.Var(&peers, "peers", "fleet `sizes`, comma-separated; throughput is measured at the first, the 20 GiB extrapolation uses the largest")
	fs.IntVar(&o.rounds, "rounds", o.rounds, "rounds; each runs both servers, alternating which goes first")
	fs.StringVar(&o.jsonPath, "json", "", "write the results as a bench.Section to `file`")
	fs.BoolVar(&o.smoke, "smoke", false, "a tiny run for tests: 20 peers, 1 round, short measurements")
	fs.DurationVar(&o.budget, "budget", o.budget, "give up after this wall time")
	fs.Float64Var(&o.rate, "rate", o.rate, "offers a `second` across the fleet in the latency measurement")
	fs.DurationVar(&o.measure, "measure", o.measure, "length of each throughput and latency measurement")
	fs.IntVar(&o.concurrency, "concurrency", o.concurrency, "handshakes in flight while connecting")
	fs.BoolVar(&o.big, "big", true, "measure skywasm's peak memory while 50 peers each send 20 MiB of room data at once")
	fs.IntVar(&o.storm, "storm", o.storm, "peers of the join storm: connected at once, then all dropped; 0 skips it")
	fs.IntVar(&o.perSource, "per-source", o.perSource, "most peers dialled from one source address; a larger fleet spreads over 127.0.0.1, 127.0.0.2, …")
	fs.IntVar(&o.window, "window", o.window, "unanswered offers per sender at saturation")
	fs.Float64Var(&o.pace, "pace", o.pace, "most offers a `second` one peer sends (skywasm allows 100 per socket)")
	fs.IntVar(&o.cluster, "cluster", o.cluster, "`nodes` of a skywasm cluster (embedded NATS) measured beside the single node with the same fleets; 0 skips it")
	fs.StringVar(&o.clusterJSON, "cluster-json", "", "write the cluster's results as a bench.Section to `file`")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("signaling: unexpected argument %q", fs.Arg(0))
	}
	o.peers = peers
	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["peers"] {
			o.peers = []int{20}
		}
		if !set["rounds"] {
			o.rounds = 1
		}
		if !set["storm"] {
			o.storm = 20
		}
		if !set["big"] {
			o.big = false // a gigabyte of traffic is no smoke test
		}
		if !set["rate"] {
			o.rate = 100
		}
		if !set["measure"] {
			o.measure = 600 * time.Millisecond
		}
	}
	switch {
	case len(o.peers) == 0:
		return nil, errors.New("signaling: -peers is empty")
	case o.rounds < 1 || o.concurrency < 1 || o.window < 1:
		return nil, errors.New("signaling: -rounds, -concurrency and -window must be positive")
	case o.cluster == 1 || o.cluster < 0:
		return nil, errors.New("signaling: -cluster is 0 (none) or at least 2 nodes")
	case o.rate <= 0 || o.pace <= 0 || o.measure <= 0 || o.budget <= 0:
		return nil, errors.New("signaling: -rate, -pace, -measure and -budget must be positive")
	case o.rate/float64(slices.Min(o.peers)) > o.pace:
		return nil, fmt.Errorf("signaling: -rate %g over %d peers is more than -pace %g a peer", o.rate, slices.Min(o.peers), o.pace)
	}
	return o, nil
}

// Main runs the benchmark with command-line args, writes progress to
// stderr, the results as a readable table to stdout and, with -json, as a
// bench.Section to that file.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.budget, fmt.Errorf("the run took longer than -budget %v", o.budget))
	defer cancel()
	start, loadBefore := time.Now(), loadAverage()

	if err := raiseFileLimit(slices.Max(o.peers) + fileSlack); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "skywasm-bench-signaling-")
	if err != nil {
		return fmt.Errorf("failed to make a working directory: %w", err)
	}
	defer os.RemoveAll(dir)
	sky, err := newSkywasm(o.skywasm, dir)
	if err != nil {
		return err
	}
	pjs, err := newPeerJS(o.node, o.peerjs)
	if err != nil {
		return err
	}
	skyVersion, err := exec.Command(o.skywasm, "version").Output()
	if err != nil {
		return fmt.Errorf("failed to run %s version: %w", o.skywasm, err)
	}
	nodeVersion, heapLimit, err := nodeInfo(o.node)
	if err != nil {
		return err
	}

	res := map[*target]figures{sky: {}, pjs: {}}
	clustered := figures{}
	// Progress: parts done of all, and the time left at the pace so far.
	perRound := 2
	if o.cluster > 0 {
		perRound = 3
	}
	parts, done, began := o.rounds*len(o.peers)*perRound, 0, time.Now()
	progress := func(round, n int, name string) {
		left := "time left unknown"
		if done > 0 {
			left = fmt.Sprintf("about %v left", (time.Since(began) / time.Duration(done) * time.Duration(parts-done)).Round(time.Second))
		}
		done++
		fmt.Fprintf(stderr, "part %d/%d (%s), round %d/%d, %s peers, %s: ", done, parts, left, round+1, o.rounds, thousands(n), name)
	}
	for round := range o.rounds {
		order := []*target{sky, pjs}
		if round%2 == 1 {
			order = []*target{pjs, sky}
		}
		for i, n := range o.peers {
			for _, t := range order {
				progress(round, n, t.name)
				start := func(ctx context.Context) (deployment, error) { return startProcess(ctx, t) }
				if err := measureFleet(ctx, o, t, start, n, i == 0, res[t], stderr); err != nil {
					fmt.Fprintln(stderr, "failed")
					return fmt.Errorf("round %d, %d peers, %s: %w", round+1, n, t.name, err)
				}
			}
			if o.cluster > 0 {
				progress(round, n, fmt.Sprintf("skywasm cluster of %d", o.cluster))
				start := func(ctx context.Context) (deployment, error) { return startCluster(ctx, sky, o.cluster, stderr) }
				if err := measureFleet(ctx, o, sky, start, n, i == 0, clustered, stderr); err != nil {
					fmt.Fprintln(stderr, "failed")
					return fmt.Errorf("round %d, %d peers, cluster: %w", round+1, n, err)
				}
			}
		}
		if o.big {
			fmt.Fprintf(stderr, "round %d/%d, skywasm: ", round+1, o.rounds)
			if err := bigFrames(ctx, sky, res[sky], stderr); err != nil {
				fmt.Fprintln(stderr, "failed")
				return fmt.Errorf("round %d, big frames: %w", round+1, err)
			}
		}
		if o.storm > 0 {
			for _, t := range order {
				fmt.Fprintf(stderr, "round %d/%d, %s: ", round+1, o.rounds, t.name)
				if err := joinStorm(ctx, o, t, o.storm, res[t], stderr); err != nil {
					fmt.Fprintln(stderr, "failed")
					return fmt.Errorf("round %d, join storm, %s: %w", round+1, t.name, err)
				}
			}
		}
	}

	s := section(o, args, sky, pjs, res)
	s.Notes = append(s.Notes,
		fmt.Sprintf("%d round(s), both servers in each, alternating which went first; every figure is the median over rounds. "+
			"Each server was started afresh for each fleet size on 127.0.0.1, in a loopback-only network namespace, and shared this machine's %d cores with the load generator "+
			"(one Go process, coder/websocket, the same code for both servers but the protocol adapter).", o.rounds, runtime.NumCPU()),
		fmt.Sprintf("Versions: %s; %s (npm peer) on Node %s; the generator built with %s.", strings.TrimSpace(string(skyVersion)), pjs.name, nodeVersion, runtime.Version()),
		fmt.Sprintf("skywasm ran with a -config raising the app's maxPeers to 1,000,000 (default 10,000). Its per-socket limit of %d messages/s (bursts of %d) is kept at its default (an app's limits.messageRate could raise it), "+
			"so each generator peer sends at most %g offers/s and saturation comes from many peers; no limit was met (a refusal fails the run).",
			protocol.MessageRate, protocol.MessageBurst, o.pace),
		"peerjs-server ran with --concurrent_limit 1000000 (default 5,000), its other defaults kept; it has no limit on messages. It logs a line per connection to stdout, as it does by default; the generator sends that to /dev/null.",
		fmt.Sprintf("Offers are about %d bytes (skywasm's SEND_OFFER) and %d bytes (PeerJS's OFFER): the same %d-byte SDP and metadata in each protocol's envelope.",
			sampleSize(sky, o.peers[0]), sampleSize(pjs, o.peers[0]), len(offerSDP)),
		"Memory is the server's VmRSS with the fleet connected minus before it, ÷ peers; no collection is forced, in either runtime. "+
			"Latency is open-loop: each offer is stamped with the time it was due, and the generator, which both sends and receives, takes the difference on arrival.",
		fmt.Sprintf("The most peers in 20 GiB is extrapolated (20 GiB ÷ KiB/peer at %s peers), not connected. Node's default V8 heap limit here is %.1f GiB, so peerjs-server as started would stop far short of its figure.",
			thousands(slices.Max(o.peers)), heapLimit/(1<<30)),
		fmt.Sprintf("Wall time of this run: %.0f s. The machine's one-minute load average was %s at its start and %s at its end "+
			"(the generator and a server account for about 2 of it; more means other work competed for the cores).",
			time.Since(start).Seconds(), loadBefore, loadAverage()),
	)
	printTable(stdout, s)
	if o.jsonPath != "" {
		if err := s.WriteFile(o.jsonPath); err != nil {
			return err
		}
	}
	if o.cluster > 0 {
		c := clusterSection(o, args, res[sky], clustered)
		fmt.Fprintln(stdout)
		printTable(stdout, c)
		if o.clusterJSON != "" {
			if err := c.WriteFile(o.clusterJSON); err != nil {
				return err
			}
		}
	}
	return nil
}

// sampleSize is the size of a typical offer frame of t in a fleet of n:
// to the last peer, stamped 10 s into the run.
func sampleSize(t *target, n int) int {
	var cid [48]byte
	return len(t.offer.append(nil, peerID(n-1), appendConnectionID(cid[:0], n-1, int64(10*time.Second))))
}

// figures are one server's measurements: per metric key, one value a round.
type figures map[string][]float64

func (f figures) add(key string, v float64) { f[key] = append(f[key], v) }

// median is the median of a metric, or nil if it was never measured.
func (f figures) median(key string) *float64 {
	if len(f[key]) == 0 {
		return nil
	}
	return bench.F(bench.Median(f[key]))
}

// Metric keys.
func keyConnect(n int) string { return "connect/" + strconv.Itoa(n) }
func keyMemory(n int) string  { return "memory/" + strconv.Itoa(n) }
func keyP50(n int) string     { return "p50/" + strconv.Itoa(n) }
func keyP99(n int) string     { return "p99/" + strconv.Itoa(n) }

const (
	keyRelayed = "relayed"
	keyCPU     = "cpu"
	keyCPUPer  = "cpu-per-offer"
	keyPaced   = "paced"
)

// deployment is what a measurement runs against: one server process, or
// the nodes of a cluster.
type deployment interface {
	// addrs are the host:ports peers dial, peer i the (i % len)-th.
	addrs() []string
	// rss is the resident memory of all its processes, in KiB.
	rss() (float64, error)
	// cpu is the CPU time all its processes have used.
	cpu() (time.Duration, error)
	// alive returns nil while every process runs.
	alive() error
	// logs is the end of what its processes wrote to standard error.
	logs() string
	stop()
}

// measureFleet starts a deployment of t's servers, connects n peers over it
// and measures them: memory, throughput if saturate, latency. It adds to
// figs and prints a line of progress.
func measureFleet(ctx context.Context, o *options, t *target, start func(context.Context) (deployment, error), n int, saturate bool, figs figures, progress io.Writer) error {
	srv, err := start(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	before, err := srv.rss()
	if err != nil {
		return err
	}
	f, took, err := connect(ctx, t, srv.addrs(), n, o.concurrency, o.perSource)
	if err != nil {
		if aerr := srv.alive(); aerr != nil {
			return errors.Join(err, aerr)
		}
		return fmt.Errorf("%w; standard error: %s", err, srv.logs())
	}
	defer f.close()
	var keeper sync.WaitGroup
	kctx, stopKeeper := context.WithCancel(ctx)
	keeper.Go(func() { f.keepAlive(kctx, 20*time.Second) })
	defer keeper.Wait()
	defer stopKeeper()

	// Let the server finish what connecting left (buffers, timers) before
	// reading its memory.
	if err := f.settle(ctx, srv); err != nil {
		return err
	}
	if err := sleep(ctx, 300*time.Millisecond); err != nil {
		return err
	}
	after, err := srv.rss()
	if err != nil {
		return err
	}
	perPeer := (after - before) / float64(n)
	figs.add(keyConnect(n), float64(took)/float64(time.Millisecond))
	figs.add(keyMemory(n), perPeer)
	fmt.Fprintf(progress, "connect %.0f ms, %.2f KiB/peer", float64(took)/float64(time.Millisecond), perPeer)

	if saturate {
		s, err := f.saturate(ctx, srv, o.window, o.pace, o.measure/3, o.measure)
		if err != nil {
			return err
		}
		figs.add(keyRelayed, s.perSecond)
		figs.add(keyCPU, s.cpu)
		figs.add(keyCPUPer, s.cpuPerOffer)
		if s.paced {
			figs.add(keyPaced, 1)
		}
		fmt.Fprintf(progress, ", %.0f offers/s (server %.2f cores, %.1f µs an offer)", s.perSecond, s.cpu, s.cpuPerOffer)
	}
	l, err := f.fixedRate(ctx, srv, o.rate, o.measure/6, o.measure)
	if err != nil {
		return err
	}
	figs.add(keyP50(n), l.p50)
	figs.add(keyP99(n), l.p99)
	fmt.Fprintf(progress, ", latency p50 %.2f ms p99 %.2f ms (%d offers, sent up to %.0f ms late)\n",
		l.p50, l.p99, l.samples, float64(l.lateness)/float64(time.Millisecond))
	return nil
}

// gib20 is 20 GiB in KiB.
const gib20 = 20 << 20

// section turns the figures into the report's rows.
func section(o *options, args []string, sky, pjs *target, res map[*target]figures) bench.Section {
	s := bench.Section{Title: "Signaling server", Command: "skywasm-bench signaling " + shellJoin(args)}
	if len(args) == 0 {
		s.Command = "skywasm-bench signaling"
	}
	rounds := fmt.Sprintf("median of %d round(s)", o.rounds)
	row := func(metric, unit, better, key, detail string) bench.Row {
		return bench.Row{Metric: metric, Unit: unit, Better: better, OtherName: pjs.name,
			Skywasm: res[sky].median(key), Other: res[pjs].median(key), Detail: detail}
	}
	for _, n := range o.peers {
		s.Rows = append(s.Rows, row("connect "+thousands(n)+" peers", "ms", "lower", keyConnect(n),
			fmt.Sprintf("%d handshakes in flight, each until OPEN; %s", o.concurrency, rounds)))
	}
	for _, n := range o.peers {
		s.Rows = append(s.Rows, row("memory with "+thousands(n)+" peers", "KiB/peer", "lower", keyMemory(n),
			"server RSS with the peers minus before, ÷ peers; "+rounds))
	}
	n0 := o.peers[0]
	detail := fmt.Sprintf("random pairs among %s peers, %d unanswered a sender, at most %g/s a sender; server CPU %s vs %s cores; %s",
		thousands(n0), o.window, o.pace, coreFigure(res[sky].median(keyCPU)), coreFigure(res[pjs].median(keyCPU)), rounds)
	if len(res[sky][keyPaced])+len(res[pjs][keyPaced]) > 0 {
		detail += "; the senders' pace, not the server, set the rate in some rounds: raise -peers"
	}
	s.Rows = append(s.Rows,
		row("relayed offers at saturation, "+thousands(n0)+" peers", "msg/s", "higher", keyRelayed, detail),
		row("server CPU per relayed offer", "µs", "lower", keyCPUPer,
			"user + system CPU time of the server process during the saturation measurement ÷ offers relayed; "+rounds))
	for _, n := range o.peers {
		at := fmt.Sprintf("%g offers/s across %s peers", o.rate, thousands(n))
		s.Rows = append(s.Rows,
			row("relay latency p50, "+thousands(n)+" peers", "ms", "lower", keyP50(n), at+"; "+rounds),
			row("relay latency p99, "+thousands(n)+" peers", "ms", "lower", keyP99(n), at+"; "+rounds))
	}

	if o.storm > 0 {
		storm := thousands(o.storm) + " peers connected as fast as " + strconv.Itoa(o.concurrency) + " handshakes in flight allow, then all dropped at once"
		s.Rows = append(s.Rows,
			row("join storm: connect "+thousands(o.storm)+" peers", "ms", "lower", keyStormConnect, storm+"; "+rounds),
			row("join storm: back to baseline after all left", "ms", "lower", keyStormBack,
				fmt.Sprintf("until the server's file descriptors (and skywasm's goroutines) are within %d of before the storm, at most %v; %s", stormSlack, stormWait, rounds)),
			row("join storm: file descriptors left over", "fds", "lower", keyStormFDs, "open descriptors above before the storm, once back or at the limit; "+rounds),
			bench.Row{Metric: "join storm: goroutines left over", Unit: "goroutines", Better: "lower", Skywasm: res[sky].median(keyStormGoroutines),
				Detail: "go_goroutines above before the storm (skywasm only: peerjs-server has no such figure); " + rounds})
	}

	if o.big {
		big := fmt.Sprintf("skywasm only (peerjs-server has no rooms): %d peers in rooms of %d each send one 20 MiB ROOM_SEND_DATA at once, skywasm started with -frame-budget %dMiB; peak RSS (VmHWM) once every member has the data or an ERROR, minus idle; %s",
			bigSenders, bigRoom, bigBudget>>20, rounds)
		s.Rows = append(s.Rows,
			bench.Row{Metric: "big frames: peak memory", Unit: "MiB", Better: "lower", Skywasm: res[sky].median(keyBigPeak), Detail: big},
			bench.Row{Metric: "big frames: delivered", Unit: "messages", Better: "higher", Skywasm: res[sky].median(keyBigDelivered),
				Detail: fmt.Sprintf("of %d (each sender's message to each other member of its room); the rest dropped with ERROR signaling-limited; %s", bigSenders*(bigRoom-1), rounds)})
	}

	// The most peers in 20 GiB, from the memory per peer at the largest
	// fleet, on condition that relay p99 stayed under 50 ms there.
	nmax := slices.Max(o.peers)
	capacity := func(t *target) *float64 {
		m := res[t].median(keyMemory(nmax))
		if m == nil || *m <= 0 {
			return nil
		}
		return bench.F(math.Floor(gib20 / *m))
	}
	p99 := func(t *target) string {
		p := res[t].median(keyP99(nmax))
		if p == nil {
			return "not measured"
		}
		verdict := "under 50 ms"
		if *p >= 50 {
			verdict = "NOT under 50 ms"
		}
		return fmt.Sprintf("%.1f ms, %s", *p, verdict)
	}
	s.Rows = append(s.Rows, bench.Row{
		Metric: "peers one server holds in 20 GiB", Unit: "peers", Better: "higher", OtherName: pjs.name,
		Skywasm: capacity(sky), Other: capacity(pjs),
		Detail: fmt.Sprintf("extrapolated: 20 GiB ÷ KiB/peer at %s peers, not connected; relay p99 at %s peers (the most held): skywasm %s, peerjs-server %s",
			thousands(nmax), thousands(nmax), p99(sky), p99(pjs)),
	})
	return s
}

// coreFigure shows a CPU share.
func coreFigure(v *float64) string {
	if v == nil {
		return "?"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

// printTable writes s as an aligned table.
func printTable(w io.Writer, s bench.Section) {
	fmt.Fprintf(w, "%s\n\n", s.Title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tskywasm\tother\tskywasm/other\tunit\tbetter\t")
	for _, r := range s.Rows {
		ratio := "-"
		if v := r.Ratio(); !math.IsNaN(v) {
			ratio = strconv.FormatFloat(v, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Metric, figure(r.Skywasm), figure(r.Other), ratio, r.Unit, r.Better)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nother: %s\n", otherName(s))
	for _, r := range s.Rows {
		fmt.Fprintf(w, "- %s: %s\n", r.Metric, r.Detail)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "* %s\n", n)
	}
}

func otherName(s bench.Section) string {
	for _, r := range s.Rows {
		if r.OtherName != "" {
			return r.OtherName
		}
	}
	return "-"
}

// figure shows a measured value with three significant digits, or "-".
func figure(v *float64) string {
	if v == nil {
		return "-"
	}
	if math.Abs(*v) >= 1000 {
		return thousands(int(math.Round(*v)))
	}
	return strconv.FormatFloat(*v, 'g', 3, 64)
}

// thousands writes n with a comma every three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// shellJoin quotes args for a POSIX shell where they need it.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
