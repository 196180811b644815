package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// TestClusterProcesses runs the built binary three times as a cluster with
// embedded NATS (serve -nats-embed … -nats-routes …) on 127.0.0.1: every
// node becomes ready, the dispatcher lists the three, a native SDK peer on
// one node reaches a peer on another, and when one process is killed with
// SIGKILL the others stop listing it within the lease.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes: not with -short")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "skywasm")
	build := exec.Command(goTool(t), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build the skywasm binary to run as a cluster (%v): %s", err, out)
	}
	const n = 3
	lease := 6 * time.Second // cluster.DefaultConfig's, which serve uses
	cfg := writeConfig(t, testKey)
	httpAddrs, natsAddrs := freePorts(t, n), freePorts(t, n)
	var routes []string
	for _, a := range natsAddrs {
		routes = append(routes, "nats-route://"+a)
	}
	nodes := make([]*process, n)
	for i := range n {
		nodes[i] = startProcess(t, bin, "serve", "-config", cfg, "-addr", httpAddrs[i], "-node", fmt.Sprintf("p%d", i),
			"-turn-addr", "off", "-static", "", "-nats-embed", natsAddrs[i], "-nats-routes", strings.Join(routes, ","))
	}
	for i, p := range nodes {
		p.waitLine(t, "skywasm: listening on http://"+httpAddrs[i], 60*time.Second)
	}
	for i := range nodes {
		waitUntil(t, 60*time.Second, fmt.Sprintf("node %d's /healthz to say ready", i), func() bool {
			return httpStatus("http://"+httpAddrs[i]+"/healthz") == http.StatusOK
		})
	}
	for i := range nodes {
		waitUntil(t, 2*lease, fmt.Sprintf("node %d's dispatcher to list %d nodes", i, n), func() bool {
			return len(dispatchURLs(t, httpAddrs[i])) == n
		})
	}

	// A peer on node 0 reaches a peer on node 1.
	newPeer := func(addr string) *sdk.Peer {
		api, err := sdktest.LoopbackAPI()
		if err != nil {
			t.Fatal(err)
		}
		p, err := sdk.NewPeer(sdk.PeerOptions{Key: testKey, URL: "http://" + addr, NoDispatch: true, API: api})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Destroy)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := p.WaitOpen(ctx); err != nil {
			t.Fatalf("peer on %s did not open: %v", addr, err)
		}
		return p
	}
	a, b := newPeer(httpAddrs[0]), newPeer(httpAddrs[1])
	got := make(chan any, 1)
	b.OnConnection(func(dc *sdk.DataConnection) { dc.OnData(func(v any) { got <- v }) })
	dc, err := a.Connect(b.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the data connection across nodes to open", dc.Open)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dc.Send(ctx, "across processes"); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != "across processes" {
			t.Fatalf("got %v", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the data did not cross")
	}

	// SIGKILL node 2: the others notice within the lease.
	killed := time.Now()
	nodes[2].kill()
	for i := range 2 {
		waitUntil(t, lease+5*time.Second, fmt.Sprintf("node %d to stop listing the killed node", i), func() bool {
			return len(dispatchURLs(t, httpAddrs[i])) == n-1
		})
	}
	t.Logf("the live nodes stopped listing the killed process %v after SIGKILL (lease %v)", time.Since(killed).Round(time.Millisecond), lease)
}

// process is a running skywasm with its output.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  []string
	seen chan struct{} // pulsed at every line
}

// startProcess starts bin with args, stopped with SIGTERM (then SIGKILL)
// at cleanup.
func startProcess(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{}), seen: make(chan struct{}, 1)}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.kill()
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s output:\n%s", args, strings.Join(p.out, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

func (p *process) read(r io.Reader) {
	defer close(p.done)
	s := bufio.NewScanner(r)
	for s.Scan() {
		p.mu.Lock()
		p.out = append(p.out, s.Text())
		p.mu.Unlock()
		select {
		case p.seen <- struct{}{}:
		default:
		}
	}
	_ = p.cmd.Wait()
}

// kill sends SIGKILL and waits for the process to end.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitLine waits for a line of output starting with prefix.
func (p *process) waitLine(t *testing.T, prefix string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		p.mu.Lock()
		for _, l := range p.out {
			if strings.HasPrefix(l, prefix) {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		select {
		case <-p.seen:
		case <-p.done:
			t.Fatalf("the process ended before printing %q", prefix)
		case <-deadline:
			t.Fatalf("no %q within %v", prefix, d)
		}
	}
}

// freePorts returns n distinct free 127.0.0.1 addresses.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return addrs
}

func httpStatus(u string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// dispatchURLs asks addr's dispatcher for the test key's nodes.
func dispatchURLs(t *testing.T, addr string) []string {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/v1/dispatch?key=" + testKey)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var d struct {
		Nodes []struct {
			URL string `json:"url"`
		} `json:"nodes"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&d) != nil {
		return nil
	}
	var urls []string
	for _, n := range d.Nodes {
		urls = append(urls, n.URL)
	}
	return urls
}

func waitUntil(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
