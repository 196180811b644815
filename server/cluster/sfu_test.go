package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// TestClusterSFUForwarding pins an sfu room to the first asker's node and
// checks what the other nodes send there: the offer comes back to the
// member through the Router, the pinned SFU's refusals come back as they
// were, and a leave through any node reaches it.
func TestClusterSFUForwarding(t *testing.T) {
	nodes := sharedRouters(t)
	sfus := sharedSFUs(t)
	ctx := context.Background()
	key := newKey()
	inboxes := make([]*inbox, 3)
	for i := range 3 {
		inboxes[i] = newInbox()
		defer inboxes[i].release()
		id := string(rune('a' + i))
		if err := nodes[i].Claim(ctx, routing.Claim{Key: key, ID: id}, inboxes[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[i].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Peer: id, Type: protocol.SFU}); err != nil {
			t.Fatal(err)
		}
	}
	member := func(i int) routing.Member { return routing.Member{Key: key, Room: "r", Peer: string(rune('a' + i))} }
	recv := routing.Receive{Video: true, Audio: true}

	// Before any offer there is no pin: what follows an offer is refused.
	var perr *protocol.ProtocolError
	if err := sfus[0].Candidate(ctx, member(0), json.RawMessage(`{"candidate":""}`)); !errors.As(err, &perr) || perr.Type != protocol.ErrRoom {
		t.Fatalf("Candidate before any offer = %v, want room-error", err)
	}
	// b asks first, on n1: the room is pinned there.
	if err := sfus[1].Offer(ctx, member(1), recv); err != nil {
		t.Fatal(err)
	}
	if pin, err := nodes[0].sfu.Pin(ctx, key, "r"); err != nil || pin != "n1" {
		t.Fatalf("pin = %q, %v; want n1", pin, err)
	}
	// a, on n0, gets its offer from n1's SFU through the Router.
	offers := testutil.ToFloat64(nodes[0].m.SFUForwards["offer"])
	start := time.Now()
	if err := sfus[0].Offer(ctx, member(0), recv); err != nil {
		t.Fatal(err)
	}
	got := inboxes[0].wait(t, 1, 10*time.Second)
	if !strings.Contains(string(got[0].Data), `"SFU_OFFER"`) {
		t.Fatalf("a got %q, want SFU_OFFER", got[0].Data)
	}
	t.Logf("a cross-node SFU_OFFER after %v", time.Since(start))
	if got := testutil.ToFloat64(nodes[0].m.SFUForwards["offer"]) - offers; got != 1 {
		t.Errorf("n0 counted %v offers forwarded, want 1", got)
	}
	if got := testutil.ToFloat64(nodes[0].m.Nodes); got != 3 {
		t.Errorf("n0 counts %v nodes, want 3", got)
	}
	// The pinned SFU's refusal of a malformed answer comes back typed.
	err := sfus[0].Answer(ctx, member(0), protocol.SessionDescription{Type: "answer", SDP: "not SDP"})
	if !errors.As(err, &perr) || perr.Type != protocol.ErrInvalidMessage {
		t.Fatalf("a malformed answer through n0 = %v, want invalid-message", err)
	}
	// c never asked: n1's SFU has no connection for it.
	err = sfus[2].Candidate(ctx, member(2), json.RawMessage(`{"candidate":""}`))
	if !errors.As(err, &perr) || perr.Type != protocol.ErrRoom || !strings.Contains(perr.Message, "SFU_GET_OFFER") {
		t.Fatalf("c's candidate = %v, want room-error from the pinned SFU", err)
	}
	// a leaves through n2 (it moved there): n1's SFU lets it go.
	if err := sfus[0].Candidate(ctx, member(0), json.RawMessage(`{"candidate":""}`)); err != nil {
		t.Fatalf("a's candidate before leaving: %v", err)
	}
	sfus[2].Leave(member(0))
	waitFor(t, 5*time.Second, "a's SFU connection gone", func() bool {
		err := sfus[0].Candidate(ctx, member(0), json.RawMessage(`{"candidate":""}`))
		return errors.As(err, &perr) && perr.Type == protocol.ErrRoom
	})
}

// TestDecodeSFURequest refuses what a node cannot serve.
func TestDecodeSFURequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		ok         bool
	}{
		{"offer", `{"op":"offer","key":"k","room":"r","peer":"p","video":true}`, true},
		{"leave", `{"op":"leave","key":"k","room":"r","peer":"p"}`, true},
		{"answer", `{"op":"answer","key":"k","room":"r","peer":"p","answer":{"type":"answer","sdp":"v=0"}}`, true},
		{"answer without one", `{"op":"answer","key":"k","room":"r","peer":"p"}`, false},
		{"candidate without one", `{"op":"candidate","key":"k","room":"r","peer":"p"}`, false},
		{"unknown op", `{"op":"drop","key":"k","room":"r","peer":"p"}`, false},
		{"no peer", `{"op":"offer","key":"k","room":"r"}`, false},
		{"not JSON", `offer`, false},
		{"too big", `{"op":"offer","key":"` + strings.Repeat("k", maxSFURequest) + `","room":"r","peer":"p"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := decodeSFURequest([]byte(tt.data)); (err == nil) != tt.ok {
				t.Fatalf("decodeSFURequest = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// FuzzDecodeSFURequest checks that no request from another node makes the
// decoder panic, and that what it accepts is servable.
func FuzzDecodeSFURequest(f *testing.F) {
	f.Add([]byte(`{"op":"offer","key":"k","room":"r","peer":"p","video":true}`))
	f.Add([]byte(`{"op":"candidate","key":"k","room":"r","peer":"p","candidate":{"candidate":""}}`))
	f.Add([]byte(`{"op":"answer","key":"k","room":"r","peer":"p","answer":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeSFURequest(data)
		if err != nil {
			return
		}
		if req.Key == "" || req.Room == "" || req.Peer == "" || (req.Op == "answer" && req.Answer == nil) {
			t.Fatalf("accepted %q", data)
		}
	})
}

// BenchmarkSFUForward measures one SFU request's round trip from a node to
// the node its room is pinned to and back: an answer the pinned SFU
// refuses at once, so that nothing but the forwarding is timed.
func BenchmarkSFUForward(b *testing.B) {
	nodes := sharedRouters(b)
	sfus := sharedSFUs(b)
	ctx := context.Background()
	key := newKey()
	for i, id := range []string{"a", "b"} {
		if err := nodes[i].Claim(ctx, routing.Claim{Key: key, ID: id}, newInbox()); err != nil {
			b.Fatal(err)
		}
		if _, err := nodes[i].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Peer: id, Type: protocol.SFU}); err != nil {
			b.Fatal(err)
		}
	}
	if err := sfus[1].Offer(ctx, routing.Member{Key: key, Room: "r", Peer: "b"}, routing.Receive{}); err != nil {
		b.Fatal(err)
	}
	m := routing.Member{Key: key, Room: "r", Peer: "a"}
	bad := protocol.SessionDescription{Type: "offer", SDP: "v=0"}
	var perr *protocol.ProtocolError
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := sfus[0].Answer(ctx, m, bad); !errors.As(err, &perr) {
			b.Fatalf("Answer = %v", err)
		}
	}
}

// TestClusterSFUSweep takes away the pins nobody serves: a node's own pin
// of a room that ended, and, on the janitor, a dead node's pin.
func TestClusterSFUSweep(t *testing.T) {
	nodes := sharedRouters(t)
	sfus := sharedSFUs(t)
	ctx := context.Background()
	key := newKey()
	if err := nodes[1].Claim(ctx, routing.Claim{Key: key, ID: "b"}, newInbox()); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].JoinRoom(ctx, routing.Join{Key: key, Room: "ended", Peer: "b", Type: protocol.SFU}); err != nil {
		t.Fatal(err)
	}
	b := routing.Member{Key: key, Room: "ended", Peer: "b"}
	if err := sfus[1].Offer(ctx, b, routing.Receive{}); err != nil {
		t.Fatal(err)
	}
	dead := mustJSON(pinValue{Node: "gone", Inc: "0000000000000000", Epoch: "e"})
	if _, err := nodes[0].pins.Create(ctx, roomKey(key, "orphan"), dead); err != nil {
		t.Fatal(err)
	}
	pinned := func(room string) string {
		e, err := nodes[0].pins.Get(ctx, roomKey(key, room))
		if notFound(err) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		var p pinValue
		_ = json.Unmarshal(e.Value(), &p)
		return p.Node
	}
	// While the room lives its pin stays.
	nodes[1].sfu.sweep(ctx)
	if got := pinned("ended"); got != "n1" {
		t.Fatalf("a live room's pin is %q after a sweep, want n1", got)
	}
	sfus[1].Leave(b)
	if _, err := nodes[1].LeaveRoom(ctx, key, "ended", "b"); err != nil {
		t.Fatal(err)
	}
	nodes[1].sfu.sweep(ctx)
	if got := pinned("ended"); got != "" {
		t.Fatalf("an ended room is still pinned to %q", got)
	}
	if !nodes[0].isJanitor() {
		t.Fatal("n0 is not the janitor")
	}
	if nodes[1].sfu.sweep(ctx); pinned("orphan") == "" {
		t.Fatal("a node that is not the janitor swept a dead node's pin")
	}
	nodes[0].sfu.sweep(ctx)
	if got := pinned("orphan"); got != "" {
		t.Fatalf("a dead node's pin to %q outlived the janitor's sweep", got)
	}
}
