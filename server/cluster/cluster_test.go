package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
)

// TestClusterIDRace claims each of many IDs on two nodes at once, with
// different tokens: exactly one claim of each wins.
func TestClusterIDRace(t *testing.T) {
	nodes := sharedRouters(t)
	ctx := context.Background()
	key := newKey()
	for i := range 20 {
		id := fmt.Sprintf("race-%d", i)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for n := range 2 {
			wg.Go(func() {
				errs[n] = nodes[n].Claim(ctx, routing.Claim{Key: key, ID: id, Token: fmt.Sprint("t", n)}, newInbox())
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, routing.ErrIDTaken):
				t.Fatalf("claim of %s: %v", id, err)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d claims won, want 1 (%v)", id, won, errs)
		}
	}
}

// TestClusterRelayInOrder sends many messages across nodes: all arrive, in
// order, with their source, and the sender learns the contact.
func TestClusterRelayInOrder(t *testing.T) {
	nodes := sharedRouters(t)
	ctx := context.Background()
	key := newKey()
	bob := newInbox()
	defer bob.release()
	if err := nodes[2].Claim(ctx, routing.Claim{Key: key, ID: "bob"}, bob); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].Claim(ctx, routing.Claim{Key: key, ID: "alice"}, newInbox()); err != nil {
		t.Fatal(err)
	}
	const n = 500
	start := time.Now()
	for i := range n {
		m := text(fmt.Sprint(i))
		m.Src = "alice"
		if err := nodes[0].Send(ctx, key, "bob", m); err != nil {
			t.Fatal(err)
		}
	}
	got := bob.wait(t, n, 10*time.Second)
	t.Logf("%d cross-node sends in %v (%v each, one at a time)", n, time.Since(start), time.Since(start)/n)
	for i, m := range got {
		if string(m.Data) != fmt.Sprint(i) || m.Src != "alice" {
			t.Fatalf("message %d = %q from %q", i, m.Data, m.Src)
		}
	}
	nodes[0].mu.Lock()
	rm := nodes[0].remote[peerKey{key, "bob"}]
	nodes[0].mu.Unlock()
	if rm == nil || rm.inc != nodes[2].Incarnation() {
		t.Fatalf("alice's node did not note bob as a contact on n2: %+v", rm)
	}
}

// TestClusterReclaimAcrossNodes moves an ID with its token from one node
// to another: the old holder is evicted and messages go to the new one.
func TestClusterReclaimAcrossNodes(t *testing.T) {
	nodes := sharedRouters(t)
	ctx := context.Background()
	key := newKey()
	old, cur := newInbox(), newInbox()
	defer cur.release()
	cl := routing.Claim{Key: key, ID: "p", Token: "tok"}
	if err := nodes[0].Claim(ctx, cl, old); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Peer: "p", Type: protocol.Mesh}); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].Claim(ctx, cl, cur); err != nil {
		t.Fatal(err)
	}
	if old.evicted.Load() != 1 {
		t.Fatalf("old holder evicted %d times, want 1 before Claim returns", old.evicted.Load())
	}
	// The old node's Release is that of a former holder: it frees nothing.
	if err := nodes[0].Release(ctx, key, "p", old); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := n.Send(ctx, key, "p", text("hi")); err != nil {
			t.Fatalf("Send after the move: %v", err)
		}
	}
	cur.wait(t, 3, 5*time.Second)
	if old.count() != 0 {
		t.Fatalf("the old holder got %d messages", old.count())
	}
	// Still a member: rejoining through the new node keeps its place.
	// What another node broadcasts reaches it there once that node knows
	// of the rejoin: after the ROOM_USER_JOIN its new node broadcasts.
	q := newInbox()
	defer q.release()
	if err := nodes[2].Claim(ctx, routing.Claim{Key: key, ID: "q"}, q); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[2].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Peer: "q", Type: protocol.Mesh}); err != nil {
		t.Fatal(err)
	}
	if got, err := nodes[1].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Peer: "p", Type: protocol.Mesh}); err != nil || len(got) != 2 {
		t.Fatalf("rejoin = %q, %v", got, err)
	}
	settle(t, func() error { return nodes[1].Broadcast(ctx, key, "r", "p", text("joined")) }, q)
	if err := nodes[2].Broadcast(ctx, key, "r", "q", text("room")); err != nil {
		t.Fatal(err)
	}
	if got := cur.wait(t, 4, 5*time.Second); string(got[3].Data) != "room" {
		t.Fatalf("got %q", got[3].Data)
	}
}

// TestClusterLimits holds maxPeers and maxRoomMembers across nodes under
// concurrent claims and joins.
func TestClusterLimits(t *testing.T) {
	nodes := sharedRouters(t)
	ctx := context.Background()
	key := newKey()
	const limit = 4
	var mu sync.Mutex
	claimed, joined := 0, 0
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			id := fmt.Sprint("p", i)
			err := nodes[i%3].Claim(ctx, routing.Claim{Key: key, ID: id, MaxPeers: limit}, newInbox())
			if err != nil && !errors.Is(err, routing.ErrPeerLimit) {
				t.Errorf("Claim: %v", err)
			}
			_, jerr := nodes[i%3].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Peer: id, Type: protocol.Mesh, MaxMembers: limit - 1})
			if jerr != nil && !errors.Is(jerr, routing.ErrRoomFull) {
				t.Errorf("JoinRoom: %v", jerr)
			}
			mu.Lock()
			if err == nil {
				claimed++
			}
			if jerr == nil {
				joined++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if claimed != limit || joined != limit-1 {
		t.Fatalf("%d claims and %d joins won, want %d and %d", claimed, joined, limit, limit-1)
	}
}

// TestClusterClaimStorm claims many IDs of one key at once on every node:
// the key's count is one compare-and-swap entry, and a write per claim had
// the nodes' claims retry against each other until they failed with
// server-error. Exactly limit claims win; the rest are told the key is
// full, and nothing else goes wrong.
func TestClusterClaimStorm(t *testing.T) {
	nodes := sharedRouters(t)
	ctx := context.Background()
	key := newKey()
	// 1,000 claims made the old count fail (10 won); under -race the
	// embedded servers are slowed so much that 1,000 R3 creates at once
	// outlast the timeout whatever the count does.
	claims, limit := 1000, 900
	if raceEnabled {
		claims, limit = 200, 150
	}
	var won, full atomic.Int64
	var wg sync.WaitGroup
	inboxes := make([]*inbox, claims)
	for i := range claims {
		inboxes[i] = newInbox()
		wg.Go(func() {
			err := nodes[i%3].Claim(ctx, routing.Claim{Key: key, ID: fmt.Sprint("s", i), MaxPeers: limit}, inboxes[i])
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, routing.ErrPeerLimit):
				full.Add(1)
			default:
				t.Errorf("Claim %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != int64(limit) || full.Load() != int64(claims-limit) {
		t.Fatalf("%d claims won and %d were refused as full, want %d and %d", won.Load(), full.Load(), limit, claims-limit)
	}
	// Releasing gives every place back, batched the same way: the full
	// limit can be claimed again.
	for i := range claims {
		wg.Go(func() {
			if err := nodes[i%3].Release(ctx, key, fmt.Sprint("s", i), inboxes[i]); err != nil {
				t.Errorf("Release %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range limit {
		wg.Go(func() {
			if err := nodes[i%3].Claim(ctx, routing.Claim{Key: key, ID: fmt.Sprint("t", i), MaxPeers: limit}, newInbox()); err != nil {
				t.Errorf("Claim after release %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// TestClusterRoomData20MiB broadcasts the largest room data from one node:
// the members on the others get it whole, chunked under NATS's max
// payload, and in order with what follows.
func TestClusterRoomData20MiB(t *testing.T) {
	nodes := sharedRouters(t)
	ctx := context.Background()
	key := newKey()
	inboxes := make([]*inbox, 3)
	for i := range 3 {
		inboxes[i] = newInbox()
		defer inboxes[i].release()
		id := fmt.Sprint("m", i)
		if err := nodes[i].Claim(ctx, routing.Claim{Key: key, ID: id}, inboxes[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[i].JoinRoom(ctx, routing.Join{Key: key, Room: "big", Peer: id, Type: protocol.Mesh}); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, func() error { return nodes[0].Broadcast(ctx, key, "big", "m0", text("probe")) }, inboxes[1], inboxes[2])
	size := protocol.MaxFrameSize
	if raceEnabled {
		size = 3 << 20 // still three chunks
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	m := routing.NewMessage(true)
	m.Data = append(m.Data, big...)
	start := time.Now()
	if err := nodes[0].Broadcast(ctx, key, "big", "m0", m); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].Broadcast(ctx, key, "big", "m0", text("after")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		got := inboxes[i].wait(t, 2, 60*time.Second)
		if !got[0].Binary || !bytes.Equal(got[0].Data, big) || string(got[1].Data) != "after" {
			t.Fatalf("m%d got %d bytes (binary %v), then %q", i, len(got[0].Data), got[0].Binary, got[1].Data)
		}
	}
	t.Logf("%d bytes reached two other nodes in %v", len(big), time.Since(start))
	if inboxes[0].count() != 0 {
		t.Fatal("the sender got its own broadcast")
	}
	// A relayed message over the max payload is chunked too.
	mid := routing.NewMessage(false)
	mid.Data = append(mid.Data, strings.Repeat("x", 2<<20)...)
	if err := nodes[2].Send(ctx, key, "m1", mid); err != nil {
		t.Fatal(err)
	}
	if got := inboxes[1].wait(t, 3, 10*time.Second); len(got[2].Data) != 2<<20 {
		t.Fatalf("relayed %d bytes", len(got[2].Data))
	}
}

// TestClusterNodeDeath stops a node with no clean-up: within the lease its
// claims are released, the peers that talked to its peers get LEAVE, its
// peers leave their rooms; then, with two of three NATS servers gone,
// claims fail closed.
func TestClusterNodeDeath(t *testing.T) {
	// A short lease, for a quick test, but not 1.5 s: under -race on a
	// loaded machine, while JetStream re-elected the leaders the killed
	// server held, the survivors' leases lapsed and they fenced themselves
	// before the quorum loss below.
	c := startCluster(t, 3, func(cfg *Config) { cfg.Lease = 3 * time.Second })
	defer c.stop()
	r := c.routers
	ctx := context.Background()
	const key = "key"
	alice, carol, dead := newInbox(), newInbox(), newInbox()
	defer alice.release()
	defer carol.release()
	for i, p := range []struct {
		id string
		in *inbox
	}{{"alice", alice}, {"carol", carol}, {"dave", dead}} {
		if err := r[i].Claim(ctx, routing.Claim{Key: key, ID: p.id, Token: "t-" + p.id, MaxPeers: 10}, p.in); err != nil {
			t.Fatal(err)
		}
		if _, err := r[i].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Peer: p.id, Type: protocol.Mesh}); err != nil {
			t.Fatal(err)
		}
	}
	offer := text("offer")
	offer.Src = "alice"
	if err := r[0].Send(ctx, key, "dave", offer); err != nil {
		t.Fatal(err)
	}
	dead.wait(t, 1, 5*time.Second)
	start := time.Now()
	c.kill(2)
	waitFor(t, 20*time.Second, "dave's claim released", func() bool {
		ok, err := r[1].Exists(ctx, key, "dave")
		return err == nil && !ok
	})
	t.Logf("claim gone after %v", time.Since(start))
	got := alice.wait(t, 2, 20*time.Second) // ROOM_USER_LEAVE and LEAVE, in either order
	t.Logf("alice told after %v", time.Since(start))
	var sawLeave, sawRoomLeave bool
	for _, m := range got {
		sawLeave = sawLeave || strings.Contains(string(m.Data), `"type":"LEAVE"`) && strings.Contains(string(m.Data), `"dave"`)
		sawRoomLeave = sawRoomLeave || strings.Contains(string(m.Data), `"ROOM_USER_LEAVE"`)
	}
	if !sawLeave || !sawRoomLeave {
		t.Fatalf("alice got %q then %q", got[0].Data, got[1].Data)
	}
	if got := carol.wait(t, 1, 20*time.Second); !strings.Contains(string(got[0].Data), "ROOM_USER_LEAVE") {
		t.Fatalf("carol got %q", got[0].Data)
	}
	if members, _ := r[0].RoomMembers(ctx, key, "r"); len(members) != 2 {
		t.Fatalf("members = %q", members)
	}
	// The ID is free for anyone now, and the count of peers went down.
	waitFor(t, 20*time.Second, "dave's ID claimed again", func() bool {
		return r[0].Claim(ctx, routing.Claim{Key: key, ID: "dave", Token: "other", MaxPeers: 3}, newInbox()) == nil
	})
	if len(r[0].Nodes()) != 2 {
		t.Fatalf("nodes = %+v", r[0].Nodes())
	}

	// Quorum loss: with one server of three, what is held here still
	// relays (until the lease lapses past the reclaim window, when the
	// node fences itself), and claims, joins and SFU offers fail closed.
	fcfg := sfu.DefaultConfig()
	fcfg.Router = r[0]
	local, err := sfu.New(fcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	pinned, err := r[0].PinSFU(local)
	if err != nil {
		t.Fatal(err)
	}
	c.servers[1].Shutdown()
	c.servers[1].WaitForShutdown()
	if err := r[0].Send(ctx, key, "alice", text("local")); err != nil {
		t.Fatalf("local Send without a quorum: %v", err)
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = r[0].Claim(qctx, routing.Claim{Key: key, ID: "eve"}, newInbox())
	if err == nil || errors.Is(err, routing.ErrIDTaken) {
		t.Fatalf("Claim without a quorum = %v, want an error", err)
	}
	if _, err := r[0].JoinRoom(qctx, routing.Join{Key: key, Room: "q", Peer: "alice", Type: protocol.Mesh}); err == nil {
		t.Fatal("JoinRoom without a quorum succeeded")
	}
	// Not a protocol error: signaling answers server-error.
	var perr *protocol.ProtocolError
	octx, ocancel := context.WithTimeout(ctx, 5*time.Second)
	defer ocancel()
	if err := pinned.Offer(octx, routing.Member{Key: key, Room: "r", Peer: "alice"}, routing.Receive{}); err == nil || errors.As(err, &perr) {
		t.Fatalf("an SFU offer without a quorum = %v, want a server error", err)
	}
	waitFor(t, 20*time.Second, "alice evicted once the lease lapsed", func() bool { return alice.evicted.Load() == 1 })
}

// TestClusterKVConnApart checks that the key-value store and the lease use
// their own connection, not the one deliveries (such as a 20 MiB room
// broadcast) queue on: what a look-up or a lease refresh sends goes out
// on the KV connection only. (Without a KV connection of its own, all of
// it goes on the one connection.)
func TestClusterKVConnApart(t *testing.T) {
	nodes := sharedRouters(t)
	r := nodes[0]
	if r.kvc == r.nc {
		t.Fatal("the router shares one connection")
	}
	data, kv := r.nc.Stats().OutMsgs, r.kvc.Stats().OutMsgs
	if _, err := r.Exists(context.Background(), newKey(), "nobody"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RoomMembers(context.Background(), newKey(), "nowhere"); err != nil {
		t.Fatal(err)
	}
	// The lease is refreshed every Lease/3 through the same JetStream
	// context: wait for one.
	time.Sleep(r.cfg.Lease/3 + 500*time.Millisecond)
	if got := r.nc.Stats().OutMsgs - data; got != 0 {
		t.Errorf("look-ups and lease refreshes sent %d messages on the delivery connection", got)
	}
	if got := r.kvc.Stats().OutMsgs - kv; got < 3 {
		t.Errorf("look-ups and a lease refresh sent %d messages on the KV connection, want 3 or more", got)
	}
}
