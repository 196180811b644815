//go:build !js

package sdk_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// TestRoomRejoinAfterRestart: the server restarts with no memory of its
// rooms. The members that reconnect join their rooms again by themselves:
// no second open, one peerLeave for a member that did not come back,
// members as the server has them, and room data flows again. (A cluster
// keeps its rooms' members when a node dies: server's
// TestClusterFailover checks that a move there brings no event at all.)
func TestRoomRejoinAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fast := sdk.PeerOptions{ReconnectDelay: 50 * time.Millisecond}
	a := join(t, e.peer(fast), "r", nil)
	b := join(t, e.peer(fast), "r", nil)
	gone := e.peer(sdk.PeerOptions{NoReconnect: true})
	join(t, gone, "r", nil)
	// Every peerJoin of the first joins has been delivered before the
	// restart.
	for _, m := range []*member{a, b} {
		want := map[string]bool{gone.ID(): true}
		if m == a {
			want[b.peer.ID()] = true
		}
		for len(want) > 0 {
			delete(want, recv(t, m.joins, m.peer.ID()+"'s peerJoin"))
		}
	}
	reconnected := make(chan string, 2)
	a.peer.OnReconnected(func(id string) { reconnected <- id })
	b.peer.OnReconnected(func(id string) { reconnected <- id })

	e.srv.Restart(t)
	recv(t, reconnected, "a reconnection")
	recv(t, reconnected, "a reconnection")
	// The rejoin is on the wire before reconnected fires; the other's
	// data shows it reached the server.
	settleRoomData(t, a, b)
	settleRoomData(t, b, a)
	for _, m := range []*member{a, b} {
		other := a
		if m == a {
			other = b
		}
		// The restarted server knew no one: whichever member rejoined
		// first saw the other leave and come back, which is the
		// server's truth; the member that did not come back left once.
		joined, left := map[string]int{}, map[string]int{}
		for len(m.joins) > 0 {
			joined[<-m.joins]++
		}
		for len(m.leaves) > 0 {
			left[<-m.leaves]++
		}
		if left[gone.ID()] != 1 || joined[gone.ID()] != 0 {
			t.Errorf("%s: %s left %d times and joined %d times, want once and never", m.peer.ID(), gone.ID(), left[gone.ID()], joined[gone.ID()])
		}
		if id := other.peer.ID(); left[id] != joined[id] || left[id] > 1 {
			t.Errorf("%s: %s left %d times and joined %d times", m.peer.ID(), id, left[id], joined[id])
		}
		select {
		case <-m.opened: // closed at the first open: a second would panic
		default:
			t.Errorf("%s: the room is not open", m.peer.ID())
		}
		if got := m.room.Members(); len(got) != 1 || got[0] != other.peer.ID() {
			t.Errorf("%s: members %q after the restart, want only %s", m.peer.ID(), got, other.peer.ID())
		}
	}
}

// settleRoomData sends from one member until the other receives it.
func settleRoomData(t *testing.T, from, to *member) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if err := from.room.Send("ping from " + from.peer.ID()); err != nil {
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
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatalf("%s's room data never reached %s", from.peer.ID(), to.peer.ID())
}

// TestSFURoomAfterRestart: the server restarts and its SFU with it, so the
// PeerConnections it had with the members are gone, and the watcher does
// not hear it (its UDP is cut meanwhile, as for a node that was killed:
// no DTLS close). The members rejoin, ask for an offer again, and take the
// new SFU's offer, made with another certificate, as a new link: the
// publisher's media reaches the watcher again, as a new stream, long
// before the old link's ICE would have given up.
func TestSFURoomAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fast := sdk.PeerOptions{ReconnectDelay: 50 * time.Millisecond}
	fast.ID = "pub"
	pub := join(t, e.peer(fast), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU, Stream: source(t, "s")})
	fast.ID = "watcher"
	var hole *sdktest.Blackhole
	fast.API, hole = blackholedAPI(t)
	watcher := join(t, e.peer(fast), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU})
	rm := collect(t, watcher, 1)
	waitPackets(t, "watcher", rm.video["pub"], rm.audio["pub"], 30)
	before := watcher.room.(*sdk.SFURoom).PeerConnection()

	hole.Freeze()
	e.srv.Restart(t)
	hole.Thaw()
	rm = collect(t, watcher, 1)
	waitPackets(t, "watcher after the restart", rm.video["pub"], rm.audio["pub"], 30)
	if after := watcher.room.(*sdk.SFURoom).PeerConnection(); after == before || after == nil {
		t.Error("the watcher kept its old PeerConnection with the SFU")
	}
	if got := watcher.room.(*sdk.SFURoom).RemoteStreams(); len(got) != 1 {
		var desc []string
		for _, s := range got {
			desc = append(desc, fmt.Sprintf("%s from %s (%d tracks)", s.ID(), s.PeerID(), len(s.RemoteTracks())))
		}
		t.Errorf("the watcher holds %d remote streams, want the new one only: %s", len(got), strings.Join(desc, ", "))
	}
	select {
	case s := <-pub.streams:
		t.Errorf("the publisher received a stream from %q", s.PeerID())
	default:
	}
}
