package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/loopback"
	"github.com/skywasm/skywasm/sdk"
	"github.com/skywasm/skywasm/sdk/synth"
	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
)

// clusterWait bounds each step of a cluster test: under -race on two busy
// cores NATS and pion run many times slower than without.
const clusterWait = 30 * time.Second

// node is one skywasm node of a test cluster: an embedded nats-server,
// the cluster Router on it, and a whole server with its SFU.
type node struct {
	name     string
	ns       *natsserver.Server
	nc, kvc  *nats.Conn
	router   *cluster.Router
	pinned   *cluster.SFU
	srv      *server.Server
	hs       *httptest.Server
	dir      string
	shutdown bool
}

// startNodes starts n nodes whose nats-servers are routed to each other.
func startNodes(t *testing.T, n int) []*node {
	t.Helper()
	routes := make([]string, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes[i] = "nats-route://" + l.Addr().String()
		_ = l.Close()
	}
	nodes := make([]*node, n)
	t.Cleanup(func() {
		for _, nd := range nodes {
			if nd != nil {
				nd.kill(t)
			}
		}
	})
	for i := range n {
		nd := &node{name: fmt.Sprintf("n%d", i)}
		nodes[i] = nd
		var err error
		if nd.dir, err = os.MkdirTemp("", "skywasm-cluster-sfu-"); err != nil {
			t.Fatal(err)
		}
		if nd.ns, err = cluster.Embed(cluster.EmbedConfig{Name: nd.name, Listen: routes[i][len("nats-route://"):], Routes: routes, StoreDir: nd.dir}); err != nil {
			t.Fatal(err)
		}
	}
	for _, nd := range nodes {
		deadline := time.Now().Add(20 * time.Second)
		for nd.ns.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the routes did not form", nd.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, nd := range nodes {
		var err error
		if nd.nc, err = cluster.ConnectEmbedded(nd.ns, nd.name); err != nil {
			t.Fatal(err)
		}
		if nd.kvc, err = cluster.ConnectEmbedded(nd.ns, nd.name+" kv"); err != nil {
			t.Fatal(err)
		}
		cfg := cluster.DefaultConfig()
		cfg.Node, cfg.Replicas, cfg.KVConn = nd.name, min(3, n), nd.kvc
		// The default lease (6 s): a shorter one can lapse on a loaded
		// machine while JetStream elects new leaders after a kill, and a
		// node whose lease lapsed evicts its peers.
		cfg.ReclaimWindow = 5 * time.Second
		nd.router = newClusterRouter(t, nd.name, nd.nc, cfg)
		fcfg := sfu.DefaultConfig()
		nd.srv, err = server.New(server.Options{
			Config: testConfig(), Router: nd.router, Ready: nd.router.Ready, SFU: &fcfg,
			PinSFU: func(local routing.SFU) (routing.SFU, error) {
				s, err := nd.router.PinSFU(local)
				nd.pinned = s
				return s, err
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		nd.hs = httptest.NewServer(nd.srv.Handler())
	}
	for _, nd := range nodes {
		waitUntil(t, 15*time.Second, nd.name+" seeing every node", func() bool { return len(nd.router.Nodes()) == n })
	}
	return nodes
}

// kill stops the node as SIGKILL would, as far as the others can tell:
// its nats-server goes first, so nothing it does afterwards reaches the
// cluster, and its sockets are cut without a close frame.
func (nd *node) kill(t *testing.T) {
	if nd.shutdown {
		return
	}
	nd.shutdown = true
	if nd.ns != nil {
		nd.ns.Shutdown()
		nd.ns.WaitForShutdown()
	}
	// With its connections closed, what the node still tries on NATS
	// fails at once rather than after a timeout.
	if nd.router != nil {
		_ = nd.router.Close()
	}
	for _, c := range []*nats.Conn{nd.nc, nd.kvc} {
		if c != nil {
			c.Close()
		}
	}
	if nd.hs != nil {
		nd.hs.CloseClientConnections()
	}
	if nd.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_ = nd.srv.Shutdown(ctx)
		cancel()
	}
	if nd.hs != nil {
		nd.hs.Close()
	}
	_ = os.RemoveAll(nd.dir)
}

func waitUntil(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sfuMember is a peer in an sfu room and the packets it received.
type sfuMember struct {
	peer         *sdk.Peer
	room         sdk.Room
	video, audio atomic.Int64
	offered      time.Duration // from JoinRoom to the SFU's first offer
	streams      atomic.Int64
	firstRTP     atomic.Int64 // nanoseconds from JoinRoom to the first RTP
}

func newClusterPeer(t *testing.T, nd *node, id string) *sdk.Peer {
	t.Helper()
	api, err := loopback.API()
	if err != nil {
		t.Fatal(err)
	}
	p, err := sdk.NewPeer(sdk.PeerOptions{ID: id, Key: key, URL: nd.hs.URL, API: api})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Destroy)
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	if _, err := p.WaitOpen(ctx); err != nil {
		t.Fatalf("%s did not open: %v", id, err)
	}
	return p
}

// joinSFU joins the room "conf" as an sfu member, publishing stream if
// set, and counts the RTP received from every stream.
func joinSFU(t *testing.T, m *sfuMember, stream *sdk.MediaStream) {
	t.Helper()
	m.video.Store(0)
	m.audio.Store(0)
	m.firstRTP.Store(0)
	m.streams.Store(0)
	opened := make(chan struct{})
	start := time.Now()
	r, err := m.peer.JoinRoom("conf", &sdk.RoomOptions{Mode: sdk.RoomModeSFU, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	m.room = r
	r.OnOpen(func() { close(opened) })
	r.OnStream(func(s *sdk.MediaStream) {
		m.streams.Add(1)
		// An SFU stream's tracks may come one at a time.
		go func() {
			read := map[*webrtc.TrackRemote]bool{}
			for deadline := time.Now().Add(clusterWait); len(read) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				for _, tr := range s.RemoteTracks() {
					if read[tr] {
						continue
					}
					read[tr] = true
					n := &m.audio
					if tr.Kind() == webrtc.RTPCodecTypeVideo {
						n = &m.video
					}
					go func() {
						for {
							if _, _, err := tr.ReadRTP(); err != nil {
								return
							}
							m.firstRTP.CompareAndSwap(0, int64(time.Since(start)))
							n.Add(1)
						}
					}()
				}
			}
		}()
	})
	select {
	case <-opened:
	case <-time.After(clusterWait):
		t.Fatalf("%s did not open the room", m.peer.ID())
	}
	waitUntil(t, clusterWait, m.peer.ID()+"'s offer from the SFU", func() bool {
		return r.(*sdk.SFURoom).PeerConnection() != nil
	})
	m.offered = time.Since(start)
}

// waitRTP waits until m has received n packets of video and of audio.
func (m *sfuMember) waitRTP(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for m.video.Load() < n || m.audio.Load() < n {
		if time.Now().After(deadline) {
			pc := m.room.(*sdk.SFURoom).PeerConnection()
			t.Fatalf("%s received %d video and %d audio packets, want %d of each (%d streams, %d transceivers, %s)",
				m.peer.ID(), m.video.Load(), m.audio.Load(), n, m.streams.Load(), len(pc.GetTransceivers()), pc.ConnectionState())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sfuPort returns the port of the SFU end of m's connected ICE pair.
func (m *sfuMember) sfuPort(t *testing.T) int {
	t.Helper()
	pc := m.room.(*sdk.SFURoom).PeerConnection()
	var port int
	waitUntil(t, clusterWait, m.peer.ID()+"'s ICE pair with the SFU", func() bool {
		for _, tr := range pc.GetTransceivers() {
			if s := tr.Sender(); s != nil && s.Transport() != nil {
				if pair, err := s.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
					port = int(pair.Remote.Port)
					return true
				}
			}
			if r := tr.Receiver(); r != nil && r.Transport() != nil {
				if pair, err := r.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
					port = int(pair.Remote.Port)
					return true
				}
			}
		}
		return false
	})
	return port
}

func source(t *testing.T, id string) *sdk.MediaStream {
	t.Helper()
	src, err := synth.Start(synth.Options{StreamID: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return sdk.NewMediaStream(src.Tracks()...)
}

// TestClusterSFURoomPinned runs an sfu room with a member on each of three
// nodes: the room is pinned to the first asker's node, every member's
// PeerConnection ends at that node's SFU, and the publisher's RTP reaches
// the others. Then the pinned node dies, and the room is pinned again to
// the node of the next member that asks for an offer.
func TestClusterSFURoomPinned(t *testing.T) {
	began := time.Now()
	nodes := startNodes(t, 3)
	t.Logf("3 nodes up after %v", time.Since(began))
	t.Cleanup(func() { t.Logf("the test took %v before its clean-up", time.Since(began)) })
	port := func(nd *node) int { return nd.srv.SFUAddr().(*net.UDPAddr).Port }
	pinOf := func(nd *node) string {
		ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
		defer cancel()
		p, err := nd.pinned.Pin(ctx, key, "conf")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The first to ask is on n2: the room is pinned there.
	first := &sfuMember{peer: newClusterPeer(t, nodes[2], "first")}
	joinSFU(t, first, nil)
	if p := pinOf(nodes[0]); p != "n2" {
		t.Fatalf("the room is pinned to %q, want n2", p)
	}
	pub := &sfuMember{peer: newClusterPeer(t, nodes[0], "pub")}
	stream := source(t, "s")
	joinSFU(t, pub, stream)
	watcher := &sfuMember{peer: newClusterPeer(t, nodes[1], "watcher")}
	joinSFU(t, watcher, nil)
	watcher.waitRTP(t, 30)
	first.waitRTP(t, 30)
	t.Logf("cross-node watcher on n1: SFU_OFFER %v after JoinRoom, first RTP after %v",
		watcher.offered, time.Duration(watcher.firstRTP.Load()))
	for _, m := range []*sfuMember{first, pub, watcher} {
		if got := m.sfuPort(t); got != port(nodes[2]) {
			t.Fatalf("%s's PeerConnection ends at port %d, not n2's SFU (%d)", m.peer.ID(), got, port(nodes[2]))
		}
	}

	// n2 dies; once the others see it gone, the next member to ask for
	// an offer pins the room to its own node.
	t.Logf("killing n2 at %v", time.Since(began))
	killed := time.Now()
	nodes[2].kill(t)
	t.Logf("n2 killed in %v", time.Since(killed))
	for _, nd := range nodes[:2] {
		waitUntil(t, clusterWait, nd.name+" seeing n2 gone", func() bool { return len(nd.router.Nodes()) == 2 })
	}
	t.Logf("n2 seen gone at %v", time.Since(began))
	watcher.room.Close()
	pub.room.Close()
	joinSFU(t, watcher, nil)
	if p := pinOf(nodes[0]); p != "n1" {
		t.Fatalf("after n2 died the room is pinned to %q, want n1", p)
	}
	joinSFU(t, pub, stream)
	watcher.waitRTP(t, 30)
	t.Logf("after the re-pin: SFU_OFFER %v after JoinRoom, first RTP after %v",
		watcher.offered, time.Duration(watcher.firstRTP.Load()))
	for _, m := range []*sfuMember{pub, watcher} {
		if got := m.sfuPort(t); got != port(nodes[1]) {
			t.Fatalf("%s's PeerConnection ends at port %d, not n1's SFU (%d)", m.peer.ID(), got, port(nodes[1]))
		}
	}
}
