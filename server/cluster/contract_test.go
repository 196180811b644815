package cluster

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// impls are the Routers the behavioural tests run against: three nodes
// each, which for Local are one and the same.
var impls = []struct {
	name  string
	nodes func(testing.TB) [3]routing.Router
}{
	{"local", func(testing.TB) [3]routing.Router {
		l := routing.NewLocal()
		return [3]routing.Router{l, l, l}
	}},
	{"cluster", func(tb testing.TB) [3]routing.Router {
		r := sharedRouters(tb)
		return [3]routing.Router{r[0], r[1], r[2]}
	}},
}

func TestRouterClaim(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name          string
		first, second func(key string) routing.Claim // first on node 0, second on node 1
		want          error
		holder        string // who holds second's ID afterwards: "a" or "b"
		evicted       bool   // whether a is evicted
	}{
		{"free", c("x", "t1"), c("y", ""), nil, "b", false},
		{"taken by another token", c("x", "t1"), c("x", "t2"), routing.ErrIDTaken, "a", false},
		{"taken, no token", c("x", "t1"), c("x", ""), routing.ErrIDTaken, "a", false},
		{"empty token never reclaims", c("x", ""), c("x", ""), routing.ErrIDTaken, "a", false},
		{"same token passes on", c("x", "t1"), c("x", "t1"), nil, "b", true},
		{"max peers", cm("x", 1), cm("y", 1), routing.ErrPeerLimit, "", false},
		{"max peers spares a reclaim", func(k string) routing.Claim { return routing.Claim{Key: k, ID: "x", Token: "t", MaxPeers: 1} },
			func(k string) routing.Claim { return routing.Claim{Key: k, ID: "x", Token: "t", MaxPeers: 1} }, nil, "b", true},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				nodes := im.nodes(t)
				key := newKey()
				a, b := newInbox(), newInbox()
				defer a.release()
				defer b.release()
				first, second := tt.first(key), tt.second(key)
				if err := nodes[0].Claim(ctx, first, a); err != nil {
					t.Fatalf("first Claim: %v", err)
				}
				if err := nodes[1].Claim(ctx, second, b); !errors.Is(err, tt.want) {
					t.Fatalf("second Claim = %v, want %v", err, tt.want)
				}
				if tt.holder != "" {
					if err := nodes[2].Send(ctx, key, second.ID, text("m")); err != nil {
						t.Fatalf("Send to the holder: %v", err)
					}
					want := map[string]*inbox{"a": a, "b": b}[tt.holder]
					want.wait(t, 1, 5*time.Second)
					if a.count()+b.count() != 1 {
						t.Fatalf("delivered a=%d b=%d, want one at %s", a.count(), b.count(), tt.holder)
					}
				}
				if tt.evicted {
					waitFor(t, 5*time.Second, "the eviction", func() bool { return a.evicted.Load() == 1 })
				} else if a.evicted.Load() != 0 {
					t.Fatal("first holder evicted")
				}
				if b.evicted.Load() != 0 {
					t.Fatal("second holder evicted")
				}
			})
		}
	}
}

func c(id, tok string) func(string) routing.Claim {
	return func(k string) routing.Claim { return routing.Claim{Key: k, ID: id, Token: tok} }
}

func cm(id string, max int) func(string) routing.Claim {
	return func(k string) routing.Claim { return routing.Claim{Key: k, ID: id, MaxPeers: max} }
}

func TestRouterReleaseFreesTheID(t *testing.T) {
	ctx := context.Background()
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			nodes := im.nodes(t)
			key := newKey()
			a, other := newInbox(), newInbox()
			cl := routing.Claim{Key: key, ID: "x", Token: "t", MaxPeers: 1}
			if err := nodes[0].Claim(ctx, cl, a); err != nil {
				t.Fatal(err)
			}
			// Releasing by a non-holder frees nothing.
			if err := nodes[0].Release(ctx, key, "x", other); err != nil {
				t.Fatal(err)
			}
			if ok, err := nodes[1].Exists(ctx, key, "x"); !ok || err != nil {
				t.Fatalf("Exists after a non-holder's Release = %v, %v", ok, err)
			}
			if err := nodes[0].Release(ctx, key, "x", a); err != nil {
				t.Fatal(err)
			}
			if ok, err := nodes[1].Exists(ctx, key, "x"); ok || err != nil {
				t.Fatalf("Exists after Release = %v, %v", ok, err)
			}
			// Freed for any token, and the peer count went back down.
			if err := nodes[1].Claim(ctx, routing.Claim{Key: key, ID: "y", MaxPeers: 1}, other); err != nil {
				t.Fatalf("Claim after Release: %v", err)
			}
		})
	}
}

func TestRouterSendAndPeers(t *testing.T) {
	ctx := context.Background()
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			nodes := im.nodes(t)
			key := newKey()
			ids := []string{"zed", "Alpha", "alpha", "m.1 *>"}
			inboxes := map[string]*inbox{}
			for i, id := range ids {
				inboxes[id] = newInbox()
				defer inboxes[id].release()
				if err := nodes[i%3].Claim(ctx, routing.Claim{Key: key, ID: id}, inboxes[id]); err != nil {
					t.Fatal(err)
				}
			}
			for i, id := range ids {
				m := text("to " + id)
				m.Src = "alpha"
				if err := nodes[(i+1)%3].Send(ctx, key, id, m); err != nil {
					t.Fatalf("Send to %q: %v", id, err)
				}
				got := inboxes[id].wait(t, 1, 5*time.Second)
				if string(got[0].Data) != "to "+id || got[0].Src != "alpha" {
					t.Fatalf("%q got %q from %q", id, got[0].Data, got[0].Src)
				}
			}
			start := time.Now()
			if err := nodes[0].Send(ctx, key, "nobody", text("x")); !errors.Is(err, routing.ErrPeerUnavailable) {
				t.Fatalf("Send to nobody = %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Send to nobody took %v, want at once", d)
			}
			for _, n := range nodes {
				got, err := n.Peers(ctx, key)
				want := slices.Sorted(slices.Values(ids))
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("Peers = %q, %v; want %q", got, err, want)
				}
				if ok, _ := n.Exists(ctx, key, "m.1 *>"); !ok {
					t.Fatal("Exists = false for a claimed ID")
				}
				if ok, _ := n.Exists(ctx, key, "Zed"); ok {
					t.Fatal("Exists = true for an unclaimed ID")
				}
			}
			if got, err := nodes[0].Peers(ctx, newKey()); err != nil || got == nil || len(got) != 0 {
				t.Fatalf("Peers of an unused key = %#v, %v", got, err)
			}
		})
	}
}

func TestRouterRooms(t *testing.T) {
	ctx := context.Background()
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			nodes := im.nodes(t)
			key := newKey()
			j := func(peer string, typ protocol.RoomType, max int) routing.Join {
				return routing.Join{Key: key, Room: "r.*>", Peer: peer, Type: typ, MaxMembers: max}
			}
			inboxes := map[string]*inbox{}
			for i, p := range []string{"c", "a", "b"} {
				inboxes[p] = newInbox()
				defer inboxes[p].release()
				if err := nodes[i].Claim(ctx, routing.Claim{Key: key, ID: p}, inboxes[p]); err != nil {
					t.Fatal(err)
				}
				if _, err := nodes[i].JoinRoom(ctx, j(p, protocol.Mesh, 3)); err != nil {
					t.Fatalf("JoinRoom(%s): %v", p, err)
				}
			}
			if got, _ := nodes[2].RoomMembers(ctx, key, "r.*>"); !slices.Equal(got, []string{"c", "a", "b"}) {
				t.Fatalf("members = %q", got)
			}
			if _, err := nodes[0].JoinRoom(ctx, j("d", protocol.Mesh, 3)); !errors.Is(err, routing.ErrRoomFull) {
				t.Fatalf("join of a full room = %v", err)
			}
			if _, err := nodes[1].JoinRoom(ctx, j("d", protocol.SFU, 0)); !errors.Is(err, routing.ErrRoomType) {
				t.Fatalf("join with the other type = %v", err)
			}
			if got, err := nodes[1].JoinRoom(ctx, j("a", protocol.Mesh, 3)); err != nil || !slices.Equal(got, []string{"c", "a", "b"}) {
				t.Fatalf("rejoin = %q, %v", got, err)
			}
			if err := nodes[1].LogRoomData(ctx, key, "r.*>", "a", []byte(`{"n":1}`), false); err != nil {
				t.Fatal(err)
			}
			if err := nodes[1].LogRoomData(ctx, key, "r.*>", "a", []byte{1, 2, 3}, true); err != nil {
				t.Fatal(err)
			}
			settle(t, func() error { return nodes[1].Broadcast(ctx, key, "r.*>", "a", text("probe")) }, inboxes["b"], inboxes["c"])
			// In order per sender, to every member on every node but except.
			for i := range 5 {
				if err := nodes[1].Broadcast(ctx, key, "r.*>", "a", text(string(rune('0'+i)))); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range []string{"b", "c"} {
				got := inboxes[p].wait(t, 5, 5*time.Second)
				for i, m := range got {
					if string(m.Data) != string(rune('0'+i)) {
						t.Fatalf("%s got %q as message %d", p, m.Data, i)
					}
				}
			}
			if n := inboxes["a"].count(); n != 0 {
				t.Fatalf("the excepted member got %d messages", n)
			}
			if left, err := nodes[0].LeaveRoom(ctx, key, "r.*>", "c"); left != 2 || err != nil {
				t.Fatalf("LeaveRoom = %d, %v", left, err)
			}
			if _, err := nodes[0].LeaveRoom(ctx, key, "r.*>", "c"); !errors.Is(err, routing.ErrNotMember) {
				t.Fatalf("second LeaveRoom = %v", err)
			}
			log, err := nodes[2].RoomLog(ctx, key, "r.*>")
			if err != nil {
				t.Fatal(err)
			}
			want := []protocol.LogEntry{
				{MessageType: protocol.RoomUserJoin, Src: "c"}, {MessageType: protocol.RoomUserJoin, Src: "a"},
				{MessageType: protocol.RoomUserJoin, Src: "b"}, {MessageType: protocol.RoomData, Src: "a", Data: []byte(`{"n":1}`), Size: 7},
				{MessageType: protocol.RoomData, Src: "a", Size: 3}, {MessageType: protocol.RoomUserLeave, Src: "c"},
			}
			if len(log) != len(want) {
				t.Fatalf("log = %+v", log)
			}
			for i := range want {
				if log[i].MessageType != want[i].MessageType || log[i].Src != want[i].Src || string(log[i].Data) != string(want[i].Data) || log[i].Size != want[i].Size || log[i].Timestamp == 0 {
					t.Fatalf("log[%d] = %+v, want %+v", i, log[i], want[i])
				}
			}
			for i, p := range []string{"a", "b"} {
				left, err := nodes[i+1].LeaveRoom(ctx, key, "r.*>", p)
				if err != nil || left != 1-i {
					t.Fatalf("LeaveRoom(%s) = %d, %v", p, left, err)
				}
			}
			// Emptied, the room is gone: it comes back with the other type
			// and a new log.
			if got, err := nodes[0].JoinRoom(ctx, j("x", protocol.SFU, 0)); err != nil || !slices.Equal(got, []string{"x"}) {
				t.Fatalf("join of the emptied room = %q, %v", got, err)
			}
			if log, _ := nodes[1].RoomLog(ctx, key, "r.*>"); len(log) != 1 || log[0].Src != "x" {
				t.Fatalf("log of the new room = %+v", log)
			}
			if got, err := nodes[0].RoomMembers(ctx, key, "absent"); got != nil || err != nil {
				t.Fatalf("RoomMembers of an absent room = %q, %v", got, err)
			}
		})
	}
}
