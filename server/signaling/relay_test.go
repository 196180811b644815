package signaling_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/signaling"
)

func TestOpenAssignsID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{})
	if len(a.id) != protocol.GeneratedPeerIDLength || !protocol.ValidPeerID(a.id) {
		t.Fatalf("assigned ID %q", a.id)
	}
	b := e.dial(dialOpts{peerID: "chosen one"})
	if b.id != "chosen one" {
		t.Fatalf("chosen ID came back as %q", b.id)
	}
}

func TestRelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.dial(dialOpts{peerID: "alice"})
	bob := e.dial(dialOpts{peerID: "bob"})

	alice.send(protocol.SendOffer, offer("bob", "mc_1"))
	var got protocol.RelayPayload
	bob.expect(protocol.Offer, &got)
	if got.Src != "alice" || got.ConnectionID != "mc_1" || got.Offer.SDP != "v=0\r\n" || string(got.Metadata) != `{"caller":"test"}` {
		t.Fatalf("OFFER = %+v", got)
	}

	bob.send(protocol.SendAnswer, protocol.RelayPayload{Dst: "alice", ConnectionID: "mc_1", ConnectionType: protocol.Media,
		Answer: &protocol.SessionDescription{Type: "answer", SDP: "v=0\r\n"}})
	alice.expect(protocol.Answer, &got)
	if got.Src != "bob" || got.Answer.Type != "answer" {
		t.Fatalf("ANSWER = %+v", got)
	}

	alice.send(protocol.SendCandidate, protocol.RelayPayload{Dst: "bob", ConnectionID: "mc_1", ConnectionType: protocol.Media,
		Candidate: []byte(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}`)})
	bob.expect(protocol.Candidate, &got)
	if got.Src != "alice" || string(got.Candidate) == "" {
		t.Fatalf("CANDIDATE = %+v", got)
	}

	alice.send(protocol.SendForceClose, protocol.RelayPayload{Dst: "bob", ConnectionID: "mc_1"})
	bob.expect(protocol.ForceClose, &got)
	if got.Src != "alice" || got.ConnectionID != "mc_1" {
		t.Fatalf("FORCE_CLOSE = %+v", got)
	}
}

func TestPeerUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{})
	a.send(protocol.SendOffer, offer("nobody", "mc_9"))
	perr := a.expectError(protocol.ErrPeerUnavailable)
	if perr.Dst != "nobody" || perr.ConnectionID != "mc_9" || perr.Request != protocol.SendOffer {
		t.Fatalf("ERROR = %+v", perr)
	}
}

func TestKeysAreIsolated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{key: keyA, peerID: "same"})
	b := e.dial(dialOpts{key: keyB, peerID: "same"}) // the same ID under another key is free
	other := e.dial(dialOpts{key: keyB, peerID: "other"})
	a.send(protocol.SendOffer, offer("other", "mc_1"))
	a.expectError(protocol.ErrPeerUnavailable)
	other.expectNothing()

	a.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
	a.expect(protocol.RoomUserJoin, nil)
	b.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
	var join protocol.RoomUserJoinPayload
	b.expect(protocol.RoomUserJoin, &join)
	if len(join.RoomMembers) != 1 || join.RoomMembers[0] != "same" {
		t.Fatalf("room of key B has members %v", join.RoomMembers)
	}
	a.expectNothing()
}

func TestInvalidMessagesKeepTheConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a"})
	e.dial(dialOpts{peerID: "b"})
	for _, bad := range []string{
		`not json`,
		`{"type":"NOPE"}`,
		`{"type":"SEND_OFFER","payload":{"dst":"b"}}`,
		`{"type":"SEND_OFFER","payload":{"dst":"b","connectionId":"c","connectionType":"media","offer":{"type":"offer","sdp":"x"},"src":"b"}}`,
		`{"type":"ROOM_JOIN","payload":{"roomName":"r","roomType":"star"}}`,
	} {
		a.sendRaw([]byte(bad))
		e := a.expectError(protocol.ErrInvalidMessage)
		if e.Message == "" {
			t.Fatalf("ERROR for %s has no message", bad)
		}
	}
	a.send(protocol.Ping, nil)
	a.send(protocol.SendOffer, offer("b", "mc_1"))
	a.expectNothing() // delivered, no error
}

func TestIDReclaim(t *testing.T) {
	t.Parallel()
	// A long window: a loaded machine (the browser tests run beside these)
	// must not let it pass before the reclaim.
	e := newEnv(t, func(c *signaling.Config) { c.ReclaimWindow = time.Minute })
	a := e.dial(dialOpts{peerID: "a", token: "tok1"})
	b := e.dial(dialOpts{peerID: "b"})
	a.send(protocol.SendOffer, offer("b", "mc_1"))
	b.expect(protocol.Offer, nil)

	a.drop()
	// Another instance may not take the ID while it waits for its token.
	thief := e.dialRaw(dialOpts{peerID: "a", token: "tok2"})
	thief.expectError(protocol.ErrUnavailableID)
	thief.expectClose(protocol.CloseUnavailableID)

	// Messages sent meanwhile are kept for the reclaiming socket.
	b.send(protocol.SendAnswer, protocol.RelayPayload{Dst: "a", ConnectionID: "mc_1", ConnectionType: protocol.Media,
		Answer: &protocol.SessionDescription{Type: "answer", SDP: ""}})
	a2 := e.dial(dialOpts{peerID: "a", token: "tok1"})
	if a2.id != "a" {
		t.Fatalf("reclaimed ID %q", a2.id)
	}
	a2.expect(protocol.Answer, nil)
	b.expectNothing() // no LEAVE: a never left
}

func TestIDReclaimReplacesLiveSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a", token: "tok1"})
	a2 := e.dial(dialOpts{peerID: "a", token: "tok1"})
	a.expectClose(protocol.CloseReplaced)
	b := e.dial(dialOpts{peerID: "b"})
	b.send(protocol.SendOffer, offer("a", "mc_1"))
	a2.expect(protocol.Offer, nil)
}

func TestUnavailableIDWithoutToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.dial(dialOpts{peerID: "a"})
	c := e.dialRaw(dialOpts{peerID: "a"})
	c.expectError(protocol.ErrUnavailableID)
	c.expectClose(protocol.CloseUnavailableID)
}

func TestLeaveAfterReclaimWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil) // a one-second window
	a := e.dial(dialOpts{peerID: "a", token: "tok"})
	b := e.dial(dialOpts{peerID: "b"})
	c := e.dial(dialOpts{peerID: "c"})
	a.send(protocol.SendOffer, offer("b", "mc_1")) // a → b
	b.expect(protocol.Offer, nil)
	c.send(protocol.SendOffer, offer("a", "mc_2")) // c → a
	a.expect(protocol.Offer, nil)

	a.drop()
	b.expectNothing() // within the window
	var leave protocol.LeavePayload
	b.expect(protocol.Leave, &leave)
	if leave.Src != "a" {
		t.Fatalf("LEAVE from %q", leave.Src)
	}
	c.expect(protocol.Leave, &leave)
	eventually(t, "ID a released", func() bool { return !e.exists(keyA, "a") })
}

func TestLeaveAtOnceOnNormalClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *signaling.Config) { c.ReclaimWindow = time.Hour })
	a := e.dial(dialOpts{peerID: "a", token: "tok"})
	b := e.dial(dialOpts{peerID: "b"})
	a.send(protocol.SendOffer, offer("b", "mc_1"))
	b.expect(protocol.Offer, nil)
	a.close()
	b.expect(protocol.Leave, nil)
	// A page reload gets its chosen ID back at once.
	e.dial(dialOpts{peerID: "a", token: "other"})
}

func TestRelayedMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a"})
	b := e.dial(dialOpts{peerID: "b"})
	a.send(protocol.SendOffer, offer("b", "mc_1"))
	b.expect(protocol.Offer, nil)
	a.send(protocol.SendOffer, offer("nobody", "mc_2"))
	a.expectError(protocol.ErrPeerUnavailable)
	if got := testutil.ToFloat64(e.metrics.Relayed[protocol.Offer]); got != 1 {
		t.Fatalf("relayed offers = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.Received[protocol.SendOffer]); got != 2 {
		t.Fatalf("received offers = %v, want 2", got)
	}
}
