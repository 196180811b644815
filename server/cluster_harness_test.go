package server_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/config"
)

// clusterNode is one skywasm node of an in-process cluster: an embedded
// nats-server routed to the others, a cluster.Router on it, and a skywasm
// server on a 127.0.0.1 port.
type clusterNode struct {
	name   string
	url    string // http://127.0.0.1:port
	ns     *natsserver.Server
	nc     *nats.Conn
	router *cluster.Router
	srv    *server.Server
	hs     *http.Server
	ln     *killableListener
	served chan struct{}
	dir    string
	dead   bool
}

// testCluster is n nodes on loopback.
type testCluster struct {
	nodes []*clusterNode
}

// startTestCluster starts n nodes of the apps of cfg, each node's
// cluster.Config adjusted by tune, and stops them at cleanup.
func startTestCluster(t *testing.T, n int, cfg *config.Config, tune func(*cluster.Config)) *testCluster {
	t.Helper()
	c := &testCluster{}
	t.Cleanup(c.stop)
	// Clustered JetStream needs every server's routes from the start, so
	// the ports are chosen first: free when chosen, but another test may
	// take one before its server binds it, and that server then never
	// gets ready. A failed start is tried again on new ports.
	for attempt := 1; ; attempt++ {
		err := c.embed(n)
		if err == nil {
			break
		}
		c.stop()
		c.nodes = nil
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("starting the cluster again on other ports: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, nd := range c.nodes {
		for nd.ns.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the routes did not form (%d)", nd.name, nd.ns.NumRoutes())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, nd := range c.nodes {
		var err error
		if nd.nc, err = cluster.ConnectEmbedded(nd.ns, nd.name); err != nil {
			t.Fatal(err)
		}
		ccfg := cluster.DefaultConfig()
		ccfg.Node, ccfg.PublicURL, ccfg.Replicas = nd.name, nd.url, min(3, n)
		if tune != nil {
			tune(&ccfg)
		}
		nd.router = newClusterRouter(t, nd.name, nd.nc, ccfg)
		nd.srv, err = server.New(server.Options{
			Config: cfg,
			Router: nd.router,
			Ready:  nd.router.Ready,
			Handlers: map[string]http.Handler{
				"GET " + cluster.DispatchPath: nd.router.Dispatcher(func(key string) bool {
					_, ok := cfg.App(key)
					return ok
				}),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		nd.hs = nd.srv.HTTPServer(log.New(io.Discard, "", 0))
		go func() {
			defer close(nd.served)
			_ = nd.hs.Serve(nd.ln)
		}()
	}
	c.waitNodes(t, n, 20*time.Second)
	return c
}

// waitNodes waits until every live node's dispatcher lists want nodes,
// and returns how long that took.
func (c *testCluster) waitNodes(t *testing.T, want int, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for _, nd := range c.nodes {
		if nd.dead {
			continue
		}
		for len(nd.router.Nodes()) != want {
			if time.Since(start) > d {
				t.Fatalf("%s sees %d nodes after %v, want %d", nd.name, len(nd.router.Nodes()), d, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// kill ends node i as SIGKILL would: its nats-server goes first, so that
// nothing is withdrawn from NATS, then every TCP connection of its HTTP
// server is cut with no close frame. Its peers are left to the others'
// lease and the reclaim window.
func (c *testCluster) kill(i int) {
	nd := c.nodes[i]
	nd.dead = true
	nd.ns.Shutdown()
	nd.ns.WaitForShutdown()
	_ = nd.router.Close() // its connection is down: nothing is withdrawn
	nd.nc.Close()
	nd.ln.kill()
}

// embed starts n embedded NATS servers routed to each other, each with a
// listener for its skywasm node, on ports chosen now.
func (c *testCluster) embed(n int) error {
	routes := make([]string, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		routes[i] = "nats-route://" + l.Addr().String()
		_ = l.Close()
	}
	for i := range n {
		nd := &clusterNode{name: fmt.Sprintf("n%d", i), served: make(chan struct{})}
		c.nodes = append(c.nodes, nd)
		var err error
		if nd.dir, err = os.MkdirTemp("", "skywasm-cluster-test-"); err != nil {
			return err
		}
		nd.ns, err = cluster.Embed(cluster.EmbedConfig{Name: nd.name, Listen: routes[i][len("nats-route://"):], Routes: routes, StoreDir: nd.dir})
		if err != nil {
			return fmt.Errorf("%s on %s: %w", nd.name, routes[i], err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		nd.ln = &killableListener{Listener: ln, conns: map[net.Conn]struct{}{}}
		nd.url = "http://" + ln.Addr().String()
	}
	return nil
}

func (c *testCluster) stop() {
	for _, nd := range c.nodes {
		if nd.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = nd.srv.Shutdown(ctx)
			_ = nd.hs.Shutdown(ctx)
			cancel()
			_ = nd.hs.Close()
			<-nd.served
		}
		if nd.router != nil {
			_ = nd.router.Close()
		}
		if nd.nc != nil {
			nd.nc.Close()
		}
		if nd.ns != nil {
			nd.ns.Shutdown()
			nd.ns.WaitForShutdown()
		}
		if nd.ln != nil {
			nd.ln.kill()
		}
		if nd.dir != "" {
			_ = os.RemoveAll(nd.dir)
		}
	}
}

// killableListener keeps every connection it accepted, WebSockets taken
// over from net/http included, so that kill can cut them all at once.
type killableListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	killed bool
}

func (l *killableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.killed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	return c, nil
}

// kill closes the listener and every connection it accepted.
func (l *killableListener) kill() {
	l.mu.Lock()
	l.killed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	_ = l.Listener.Close()
	for c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as the kernel sends for a killed process
		}
		_ = c.Close()
	}
}

// newClusterRouter joins a node's router to the cluster, retrying while
// JetStream elects its leaders after the servers start.
func newClusterRouter(t *testing.T, name string, nc *nats.Conn, cfg cluster.Config) *cluster.Router {
	t.Helper()
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := cluster.New(ctx, nc, cfg)
		cancel()
		if err == nil {
			return r
		}
		if try == 20 {
			t.Fatalf("%s: cluster.New: %v", name, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
