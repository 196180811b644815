package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
)

func TestMain(m *testing.M) {
	code := m.Run()
	shared.stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testCluster is n embedded nats-servers routed on loopback, each with a
// Router of its own.
type testCluster struct {
	servers []*server.Server
	conns   []*nats.Conn // deliveries
	kvs     []*nats.Conn // the key-value store and the lease
	routers []*Router
	dirs    []string
}

// startCluster starts n servers and routers; tune adjusts each router's
// Config.
func startCluster(tb testing.TB, n int, tune func(*Config)) *testCluster {
	tb.Helper()
	c := &testCluster{}
	// Clustered JetStream needs every server's routes from the start, so
	// the ports are chosen first.
	addrs := make([]string, n)
	routes := make([]string, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		routes[i] = "nats-route://" + addrs[i]
		_ = l.Close()
	}
	for i := range n {
		dir, err := os.MkdirTemp("", "skywasm-cluster-")
		if err != nil {
			tb.Fatal(err)
		}
		c.dirs = append(c.dirs, dir)
		ns, err := Embed(EmbedConfig{Name: fmt.Sprintf("n%d", i), Listen: addrs[i], Routes: routes, StoreDir: dir})
		if err != nil {
			c.stop()
			tb.Fatal(err)
		}
		c.servers = append(c.servers, ns)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, ns := range c.servers {
		for ns.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				c.stop()
				tb.Fatalf("routes did not form: %d", ns.NumRoutes())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i, ns := range c.servers {
		nc, err := Connect("", fmt.Sprintf("n%d", i), nats.InProcessServer(ns), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			tb.Logf("n%d: NATS: %v", i, err)
		}))
		if err != nil {
			c.stop()
			tb.Fatal(err)
		}
		c.conns = append(c.conns, nc)
		kvc, err := Connect("", fmt.Sprintf("n%d kv", i), nats.InProcessServer(ns))
		if err != nil {
			c.stop()
			tb.Fatal(err)
		}
		c.kvs = append(c.kvs, kvc)
	}
	for i, nc := range c.conns {
		cfg := DefaultConfig()
		cfg.KVConn = c.kvs[i]
		cfg.Node = fmt.Sprintf("n%d", i)
		cfg.PublicURL = fmt.Sprintf("http://127.0.0.1:%d", 8000+i)
		cfg.Replicas = min(3, n)
		cfg.ReclaimWindow = 0
		if tune != nil {
			tune(&cfg)
		}
		// The first creation waits for JetStream to elect its leaders.
		var r *Router
		var err error
		for try := 0; ; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r, err = New(ctx, nc, cfg)
			cancel()
			if err == nil || try == 20 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			c.stop()
			tb.Fatalf("New(%s): %v", cfg.Node, err)
		}
		c.routers = append(c.routers, r)
	}
	// Let every router see every other.
	for _, r := range c.routers {
		waitFor(tb, 10*time.Second, "every node live", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, _ = r.sweep(ctx)
			return len(r.Nodes()) == n
		})
	}
	return c
}

// kill stops node i with no clean-up: its server goes, its router stops
// without withdrawing its lease.
func (c *testCluster) kill(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
	if c.routers[i] != nil {
		_ = c.routers[i].Close() // the connection is down: nothing is withdrawn
		c.routers[i] = nil
	}
	c.conns[i].Close()
	c.kvs[i].Close()
}

func (c *testCluster) stop() {
	for _, r := range c.routers {
		if r != nil {
			_ = r.Close()
		}
	}
	for _, nc := range c.conns {
		nc.Close()
	}
	for _, nc := range c.kvs {
		nc.Close()
	}
	for _, ns := range c.servers {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
	for _, d := range c.dirs {
		_ = os.RemoveAll(d)
	}
}

// shared is one 3-node cluster for the tests that leave nodes alive; each
// test keeps to API keys of its own.
var shared sharedCluster

type sharedCluster struct {
	once    sync.Once
	c       *testCluster
	sfuOnce sync.Once
	sfus    []*sfu.SFU    // each node's own SFU
	pinned  []routing.SFU // each node's, pinned to the cluster
}

func (s *sharedCluster) stop() {
	for _, f := range s.sfus {
		_ = f.Close()
	}
	if s.c != nil {
		s.c.stop()
	}
}

// sharedSFUs gives each node of the shared cluster a real SFU behind
// PinSFU, and returns the pinned ones.
func sharedSFUs(tb testing.TB) []routing.SFU {
	nodes := sharedRouters(tb)
	shared.sfuOnce.Do(func() {
		for _, r := range nodes {
			cfg := sfu.DefaultConfig()
			cfg.Router = r
			local, err := sfu.New(cfg)
			if err != nil {
				tb.Fatal(err)
			}
			shared.sfus = append(shared.sfus, local)
			p, err := r.PinSFU(local)
			if err != nil {
				tb.Fatal(err)
			}
			shared.pinned = append(shared.pinned, p)
		}
	})
	if len(shared.pinned) != len(nodes) {
		tb.Fatal("the shared SFUs failed to start")
	}
	return shared.pinned
}

func sharedRouters(tb testing.TB) []*Router {
	shared.once.Do(func() { shared.c = startCluster(tb, 3, nil) })
	if shared.c == nil {
		tb.Fatal("the shared cluster failed to start")
	}
	return shared.c.routers
}

var keySeq atomic.Int64

// newKey returns an API key no other test uses.
func newKey() string { return fmt.Sprintf("key-%d", keySeq.Add(1)) }

func waitFor(tb testing.TB, d time.Duration, what string, f func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inbox records what a Router hands it.
type inbox struct {
	mu      sync.Mutex
	msgs    []*routing.Message
	evicted atomic.Int64
	notify  chan struct{}
}

func newInbox() *inbox { return &inbox{notify: make(chan struct{}, 1)} }

func (in *inbox) Deliver(m *routing.Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

func (in *inbox) Evict(routing.Eviction) { in.evicted.Add(1) }

// wait returns once n messages are in, or fails.
func (in *inbox) wait(tb testing.TB, n int, d time.Duration) []*routing.Message {
	tb.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		in.mu.Lock()
		if len(in.msgs) >= n {
			out := append([]*routing.Message(nil), in.msgs...)
			in.mu.Unlock()
			return out
		}
		got := len(in.msgs)
		in.mu.Unlock()
		select {
		case <-in.notify:
		case <-deadline.C:
			tb.Fatalf("got %d messages, want %d", got, n)
		}
	}
}

func (in *inbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

func (in *inbox) release() {
	in.mu.Lock()
	msgs := in.msgs
	in.msgs = nil
	in.mu.Unlock()
	for _, m := range msgs {
		m.Release()
	}
}

func text(s string) *routing.Message {
	m := routing.NewMessage(false)
	m.Data = append(m.Data, s...)
	return m
}

// settle waits until what send broadcasts reaches every inbox: a room
// member that joined through one node hears another node's broadcasts
// once the NATS servers have exchanged its interest. The probes are
// released.
func settle(tb testing.TB, send func() error, inboxes ...*inbox) {
	tb.Helper()
	waitFor(tb, 5*time.Second, "room interest to spread", func() bool {
		if err := send(); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		for _, in := range inboxes {
			if in.count() == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(20 * time.Millisecond)
	for _, in := range inboxes {
		in.release()
	}
}
