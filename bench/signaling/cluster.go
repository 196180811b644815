package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skywasm/skywasm/bench"
	"github.com/skywasm/skywasm/server/cluster"
)

// clusterDeployment is the nodes of a skywasm cluster on this machine, each
// a `skywasm serve` with an embedded nats-server routed to the others': the
// third way docs/cluster.md gives to run, and the one that needs nothing
// else installed.
type clusterDeployment struct {
	nodes []*process
}

// startCluster starts n nodes of sky's server and waits until each answers
// /healthz and the dispatcher lists all of them, so that every node's lease
// is in the key-value store before the first peer arrives. The whole start
// is bounded by clusterStartTimeout. A start still under way after
// clusterSlowStart says on progress which step it is on, with the end of
// each node's standard error, and so does a start that fails: one in six
// once never became ready, and nothing said why.
func startCluster(ctx context.Context, sky *target, n int, progress io.Writer) (*clusterDeployment, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, clusterStartTimeout, fmt.Errorf("the cluster did not start within %v", clusterStartTimeout))
	defer cancel()
	began := time.Now()
	c := &clusterDeployment{}
	var (
		mu   sync.Mutex
		step = "choosing ports"
	)
	at := func(s string) {
		mu.Lock()
		step = s
		mu.Unlock()
	}
	where := func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("%s, %v in", step, time.Since(began).Round(time.Second))
	}
	fail := func(err error) (*clusterDeployment, error) {
		err = fmt.Errorf("starting a cluster of %d nodes, %s: %w; the nodes' standard error:%s", n, where(), err, c.lastLines(clusterLogLines))
		c.stop()
		return nil, err
	}
	ports, err := freePorts(n)
	if err != nil {
		return fail(err)
	}
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = "nats-route://127.0.0.1:" + strconv.Itoa(p)
	}
	at("launching the nodes")
	for i := range n {
		t := *sky
		t.name = fmt.Sprintf("%s node %d/%d", sky.name, i+1, n)
		t.command = func(port int) *exec.Cmd {
			cmd := sky.command(port)
			// Each node would take TURN's default port, 3478: the
			// benchmark uses no TURN, so the nodes run without it.
			// At level info a node logs each failed attempt to join
			// the cluster, which a slow start shows; nothing per peer.
			cmd.Args = append(cmd.Args, "-log-level", "info", "-turn-addr", "off", "-node", "n"+strconv.Itoa(i+1),
				"-nats-embed", "127.0.0.1:"+strconv.Itoa(ports[i]), "-nats-routes", strings.Join(routes, ","))
			return cmd
		}
		p, err := launch(&t)
		if err != nil {
			return fail(err)
		}
		c.nodes = append(c.nodes, p)
	}
	// c.nodes is complete: the slow-start report may read it.
	slow := time.AfterFunc(clusterSlowStart, func() {
		fmt.Fprintf(progress, "\nthe cluster start is slow: %s; the nodes' standard error so far:%s\n", where(), c.lastLines(clusterLogLines))
	})
	defer slow.Stop()
	// The nodes wait for each other: they are all started before any is
	// waited for.
	at("waiting for every node's " + sky.readyPath)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, p := range c.nodes {
		wg.Go(func() { errs[i] = p.waitReady(ctx, sky.readyPath, clusterReadyTimeout) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	at("waiting for the dispatcher to list every node")
	if err := c.waitDispatched(ctx); err != nil {
		return fail(err)
	}
	return c, nil
}

// lastLines is the last k lines each node wrote to standard error.
func (c *clusterDeployment) lastLines(k int) string {
	var b strings.Builder
	for _, p := range c.nodes {
		lines := strings.Split(strings.TrimRight(p.logs(), "\n"), "\n")
		fmt.Fprintf(&b, "\n--- %s (pid %d, %s):", p.name, p.cmd.Process.Pid, state(p))
		for _, l := range lines[max(0, len(lines)-k):] {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// state says whether p runs.
func state(p *process) string {
	if err := p.alive(); err != nil {
		return "exited"
	}
	return "running"
}

// waitDispatched polls the first node's dispatcher until it lists every
// node.
func (c *clusterDeployment) waitDispatched(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, clusterReadyTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	url := "http://" + c.nodes[0].addr + cluster.DispatchPath + "?key=" + benchKey
	seen := 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			var d cluster.DispatchResponse
			err = json.NewDecoder(resp.Body).Decode(&d)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				if seen = len(d.Nodes); seen == len(c.nodes) {
					return nil
				}
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the dispatcher listed %d of %d nodes: %w", seen, len(c.nodes), err)
		}
	}
}

func (c *clusterDeployment) addrs() []string {
	a := make([]string, len(c.nodes))
	for i, p := range c.nodes {
		a[i] = p.addr
	}
	return a
}

func (c *clusterDeployment) rss() (float64, error) {
	var sum float64
	for _, p := range c.nodes {
		kib, err := p.rss()
		if err != nil {
			return 0, err
		}
		sum += kib
	}
	return sum, nil
}

func (c *clusterDeployment) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, p := range c.nodes {
		d, err := p.cpu()
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

func (c *clusterDeployment) alive() error {
	var errs []error
	for _, p := range c.nodes {
		errs = append(errs, p.alive())
	}
	return errors.Join(errs...)
}

func (c *clusterDeployment) logs() string {
	var b strings.Builder
	for _, p := range c.nodes {
		fmt.Fprintf(&b, "\n%s: %s", p.name, p.logs())
	}
	return b.String()
}

// stop ends the nodes together: one at a time, each node's departure
// would wait on the others' leases.
func (c *clusterDeployment) stop() {
	var wg sync.WaitGroup
	for _, p := range c.nodes {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// freePorts is n distinct free loopback ports, all held until the last is
// found so that none comes back twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("failed to find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// clusterSection turns the cluster's figures, with the single node's from
// the same run beside them, into the report's rows.
func clusterSection(o *options, args []string, single, multi figures) bench.Section {
	s := bench.Section{Title: "Cluster: " + strconv.Itoa(o.cluster) + " nodes on NATS", Command: "skywasm-bench signaling " + shellJoin(args)}
	one := "skywasm, one node"
	rounds := fmt.Sprintf("median of %d round(s)", o.rounds)
	row := func(metric, unit, better, key, detail string) bench.Row {
		return bench.Row{Metric: metric, Unit: unit, Better: better, OtherName: one,
			Skywasm: multi.median(key), Other: single.median(key), Detail: detail}
	}
	spread := fmt.Sprintf("peers spread evenly over the %d nodes", o.cluster)
	for _, n := range o.peers {
		s.Rows = append(s.Rows,
			row("join storm: connect "+thousands(n)+" peers", "ms", "lower", keyConnect(n),
				fmt.Sprintf("%s, %d handshakes in flight, each until OPEN (a cluster claim is a JetStream key-value create); %s", spread, o.concurrency, rounds)),
			row("memory per peer per node, "+thousands(n)+" peers", "KiB/peer", "lower", keyMemory(n),
				"the nodes' RSS with the peers minus before, ÷ the peers each holds, averaged over the nodes; "+rounds))
	}
	n0 := o.peers[0]
	s.Rows = append(s.Rows,
		row("relayed offers at saturation, "+thousands(n0)+" peers", "msg/s", "higher", keyRelayed,
			fmt.Sprintf("every offer to a random peer on another node; %d unanswered a sender, at most %g/s a sender; %s", o.window, o.pace, rounds)),
		row("CPU per relayed offer", "µs", "lower", keyCPUPer,
			"user + system CPU time of all the nodes (each with its nats-server inside) during the saturation measurement ÷ offers relayed; "+rounds))
	for _, n := range o.peers {
		at := fmt.Sprintf("%g offers/s across %s peers, each to a peer on another node; every offer arrived (a lost one fails the run); %s", o.rate, thousands(n), rounds)
		s.Rows = append(s.Rows,
			row("relay latency p50 across nodes, "+thousands(n)+" peers", "ms", "lower", keyP50(n), at),
			row("relay latency p99 across nodes, "+thousands(n)+" peers", "ms", "lower", keyP99(n), at+"; goal: within 2× of one node's"))
	}
	s.Notes = append(s.Notes,
		fmt.Sprintf("The cluster is %d `skywasm serve -nats-embed … -nats-routes …` processes on 127.0.0.1, each with a nats-server inside routed to the others (JetStream replicas: 3), "+
			"started afresh for each fleet size and ready once the dispatcher listed every node; the compared figures are the single node's from the same run, same generator, same flags.", o.cluster),
		"Every message crosses nodes: a sender on node i picks its receivers among the peers of the other nodes, so an offer goes node → NATS route → node.",
	)
	return s
}
