package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
	"github.com/skywasm/skywasm/sdk/synth"
	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/config"
)

// Timings of the failover test's cluster: the default lease, and a reclaim
// window shorter than the default, so that a peer that does not come back
// is let go within seconds. Neither can be much shorter: a node that could
// not refresh its lease for longer than the reclaim window evicts its
// peers, and NATS stalled for 6 s under -race on two cores shared with
// other builds.
const (
	failoverLease   = 6 * time.Second
	failoverReclaim = 10 * time.Second
	// failoverWait bounds each wait of the test: generous for a -race run
	// on two busy cores.
	failoverWait = 20 * time.Second
)

// TestClusterFailover runs native SDK peers on a cluster of three nodes
// and kills the node of one of them, as SIGKILL would: that peer moves to a
// live node under its ID within 15 s, its media and data connections run
// on through the move, its room delivers room data to it afterwards with
// no peerJoin or peerLeave for members there all along, and a peer that
// cannot come back (it knows only the dead node) is let go: its contact
// gets LEAVE and the room peerLeave.
func TestClusterFailover(t *testing.T) {
	cfg := &config.Config{Apps: []config.App{{
		Key: key, Secret: secret,
		Permissions: config.Permissions{ListPeers: true},
		Limits:      config.DefaultLimits(),
	}}}
	c := startTestCluster(t, 3, cfg, func(cc *cluster.Config) {
		cc.Lease, cc.ReclaimWindow = failoverLease, failoverReclaim
		if os.Getenv("SDK_DEBUG") != "" {
			cc.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", cc.Node)
		}
	})

	t.Run("dispatcher", func(t *testing.T) {
		var want []string
		for _, nd := range c.nodes {
			want = append(want, nd.url)
		}
		slices.Sort(want)
		for _, nd := range c.nodes {
			if got := dispatch(t, nd.url); !slices.Equal(got, want) {
				t.Errorf("%s's dispatcher: %q, want %q", nd.name, got, want)
			}
		}
	})

	// The mover goes where the dispatcher sends it; that node dies. The
	// contact stays on the next node; the stray knows only the mover's
	// node, so it cannot come back.
	mover := clusterPeer(t, sdk.PeerOptions{URL: c.nodes[0].url})
	v := c.index(t, mover.ServerURL())
	k := (v + 1) % 3
	contact := clusterPeer(t, sdk.PeerOptions{URL: c.nodes[k].url, NoDispatch: true})
	stray := clusterPeer(t, sdk.PeerOptions{URL: c.nodes[v].url, NoDispatch: true})
	t.Logf("mover %s and stray %s on %s, contact %s on %s", mover.ID(), stray.ID(), c.nodes[v].name, contact.ID(), c.nodes[k].name)

	// Across nodes: a call with media both ways, and data connections.
	moverGot, contactGot := clusterCall(t, mover, contact)
	near := make(chan any, 16)
	contact.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) { _ = dc.Send(context.Background(), v) }) // an echo
	})
	dc, err := mover.Connect(contact.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dc.OnData(func(v any) { near <- v })
	roundTrip(t, dc, near, "before the kill")
	strayClosed := make(chan struct{})
	toStray, err := contact.Connect(stray.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	toStray.OnClose(func() { close(strayClosed) })
	waitFor(t, failoverWait, "the contact's connection to the stray to open", toStray.Open)

	rooms := map[*sdk.Peer]*roomWatch{}
	for _, p := range []*sdk.Peer{mover, contact, stray} {
		rooms[p] = watchRoom(t, p, "r")
	}
	// Every peerJoin of the joins has been delivered before the kill: the
	// mover joined first, the contact second.
	for p, want := range map[*sdk.Peer][]string{mover: {contact.ID(), stray.ID()}, contact: {stray.ID()}} {
		w := rooms[p]
		for len(want) > 0 {
			select {
			case id := <-w.joins:
				want = slices.DeleteFunc(want, func(s string) bool { return s == id })
			case <-time.After(failoverWait):
				t.Fatalf("%s: no peerJoin of %q", p.ID(), want)
			}
		}
	}

	// The kill.
	reconnected := make(chan string, 1)
	mover.OnReconnected(func(id string) { reconnected <- id })
	killed := time.Now()
	c.kill(v)
	select {
	case id := <-reconnected:
		took := time.Since(killed)
		t.Logf("the mover reclaimed its ID on %s %v after the kill", mover.ServerURL(), took.Round(time.Millisecond))
		if id != mover.ID() || took > 15*time.Second {
			t.Fatalf("reconnected as %s after %v, want %s within 15s", id, took, mover.ID())
		}
	case <-time.After(failoverWait):
		t.Fatalf("the mover did not reconnect within %v", failoverWait)
	}
	if u := mover.ServerURL(); u == c.nodes[v].url {
		t.Fatalf("the mover reconnected to the dead node %s", u)
	}
	c.waitNodes(t, 2, failoverLease+failoverWait/2)
	t.Logf("the live nodes dropped the dead node %v after the kill", time.Since(killed).Round(time.Millisecond))

	// The connections ran on through the move.
	roundTrip(t, dc, near, "after the move")
	for who, n := range map[string]*rtpCount{"mover": moverGot, "contact": contactGot} {
		n.grows(t, who+" after the move")
	}
	// The room delivers room data both ways on the mover's new node.
	settleRoomData(t, rooms[contact], rooms[mover])
	settleRoomData(t, rooms[mover], rooms[contact])

	// The stray is let go after the lease and the reclaim window: LEAVE
	// closes its contact's connection, and the room says it left.
	select {
	case <-strayClosed:
		t.Logf("the stray's contact got LEAVE %v after the kill", time.Since(killed).Round(time.Millisecond))
	case <-time.After(failoverReclaim + failoverWait):
		t.Fatal("the stray's contact got no LEAVE")
	}
	for _, p := range []*sdk.Peer{mover, contact} {
		w := rooms[p]
		select {
		case id := <-w.leaves:
			if id != stray.ID() {
				t.Errorf("%s: peerLeave %s, want the stray %s", p.ID(), id, stray.ID())
			}
		case <-time.After(failoverWait):
			t.Errorf("%s: no peerLeave for the stray", p.ID())
		}
		select {
		case id := <-w.joins:
			t.Errorf("%s: peerJoin %s: the move must not show in the room", p.ID(), id)
		case id := <-w.leaves:
			t.Errorf("%s: peerLeave %s: the move must not show in the room", p.ID(), id)
		default:
		}
	}
	if !mover.Open() || !dc.Open() {
		t.Error("the mover or its data connection closed")
	}
}

// clusterPeer starts an SDK peer of the test key with a fast first
// reconnection, destroyed at cleanup, and waits until it is open.
func clusterPeer(t *testing.T, opts sdk.PeerOptions) *sdk.Peer {
	t.Helper()
	api, err := sdktest.LoopbackAPI()
	if err != nil {
		t.Fatal(err)
	}
	opts.Key, opts.API, opts.ReconnectDelay = key, api, 100*time.Millisecond
	if os.Getenv("SDK_DEBUG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := sdk.NewPeer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Destroy)
	ctx, cancel := context.WithTimeout(context.Background(), failoverWait)
	defer cancel()
	if _, err := p.WaitOpen(ctx); err != nil {
		t.Fatalf("peer did not open: %v", err)
	}
	return p
}

// index returns the node whose URL is u.
func (c *testCluster) index(t *testing.T, u string) int {
	t.Helper()
	for i, nd := range c.nodes {
		if nd.url == u {
			return i
		}
	}
	t.Fatalf("%s is no node of the cluster", u)
	return -1
}

// dispatch asks a node's dispatcher and returns its nodes' URLs, sorted.
func dispatch(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + cluster.DispatchPath + "?key=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d cluster.DispatchResponse
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("dispatcher: %d, %v", resp.StatusCode, err)
	}
	var urls []string
	for _, n := range d.Nodes {
		urls = append(urls, n.URL)
	}
	slices.Sort(urls)
	return urls
}

// clusterCall calls b from a, each sending a synthetic stream, and returns
// the RTP packets each receives, counted as they come.
func clusterCall(t *testing.T, a, b *sdk.Peer) (aGot, bGot *rtpCount) {
	t.Helper()
	streams := func(name string) *sdk.MediaStream {
		src, err := synth.Start(synth.Options{StreamID: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = src.Close() })
		return sdk.NewMediaStream(src.Tracks()...)
	}
	aGot, bGot = &rtpCount{}, &rtpCount{}
	bStream := streams("b")
	b.OnCall(func(mc *sdk.MediaConnection) {
		mc.OnStream(bGot.count)
		if err := mc.Answer(bStream, nil); err != nil {
			t.Error(err)
		}
	})
	mc, err := a.Call(b.ID(), streams("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mc.OnStream(aGot.count)
	aGot.grows(t, "the caller")
	bGot.grows(t, "the callee")
	return aGot, bGot
}

// rtpCount counts the RTP packets of remote streams.
type rtpCount struct{ n atomic.Int64 }

func (r *rtpCount) count(s *sdk.MediaStream) {
	for _, tr := range s.RemoteTracks() {
		go func() {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				r.n.Add(1)
			}
		}()
	}
}

// grows waits until 50 more packets have come.
func (r *rtpCount) grows(t *testing.T, what string) {
	t.Helper()
	from := r.n.Load()
	waitFor(t, failoverWait, what+" to receive RTP", func() bool { return r.n.Load() >= from+50 })
}

// roundTrip sends a value on dc and waits for the echo.
func roundTrip(t *testing.T, dc *sdk.DataConnection, echo chan any, msg string) {
	t.Helper()
	waitFor(t, failoverWait, "the data connection to open", dc.Open)
	ctx, cancel := context.WithTimeout(context.Background(), failoverWait)
	defer cancel()
	if err := dc.Send(ctx, msg); err != nil {
		t.Fatalf("%s: Send: %v", msg, err)
	}
	select {
	case v := <-echo:
		if v != msg {
			t.Fatalf("%s: echo %v", msg, v)
		}
	case <-time.After(failoverWait):
		t.Fatalf("%s: no echo", msg)
	}
}

// roomWatch is one member's room and its events.
type roomWatch struct {
	peer         *sdk.Peer
	room         sdk.Room
	joins        chan string
	leaves       chan string
	data         chan sdk.RoomData
	opens        atomic.Int32
	sentSequence int
}

// watchRoom joins a mesh room with no stream and records its events.
func watchRoom(t *testing.T, p *sdk.Peer, name string) *roomWatch {
	t.Helper()
	r, err := p.JoinRoom(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &roomWatch{peer: p, room: r, joins: make(chan string, 16), leaves: make(chan string, 16), data: make(chan sdk.RoomData, 64)}
	r.OnOpen(func() { w.opens.Add(1) })
	r.OnPeerJoin(func(id string) { w.joins <- id })
	r.OnPeerLeave(func(id string) { w.leaves <- id })
	r.OnData(func(d sdk.RoomData) { w.data <- d })
	waitFor(t, failoverWait, p.ID()+" to open room "+name, func() bool { return w.opens.Load() == 1 })
	return w
}

// settleRoomData sends room data from one member until the other gets
// some: what a node broadcasts reaches a member newly on another node once
// NATS has spread its interest.
func settleRoomData(t *testing.T, from, to *roomWatch) {
	t.Helper()
	deadline := time.Now().Add(failoverWait)
	for time.Now().Before(deadline) {
		from.sentSequence++
		msg := fmt.Sprintf("%s #%d", from.peer.ID(), from.sentSequence)
		if err := from.room.Send(msg); err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-to.data:
			if d.Src != from.peer.ID() {
				t.Fatalf("%s: room data from %s, want %s", to.peer.ID(), d.Src, from.peer.ID())
			}
			for len(to.data) > 0 {
				<-to.data
			}
			if n := to.opens.Load(); n != 1 {
				t.Fatalf("%s: the room opened %d times", to.peer.ID(), n)
			}
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatalf("%s's room data never reached %s", from.peer.ID(), to.peer.ID())
}

// waitFor polls f until it holds, for at most d.
func waitFor(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
