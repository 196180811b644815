package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

// bigRoomData is a binary ROOM_SEND_DATA of n bytes to room.
func bigRoomData(room string, n int) []byte {
	return protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"`+room+`"}}`), make([]byte, n))
}

// TestLargeFrameBudget: past the server's budget for large frames, a sender
// or a recipient loses the message with ERROR signaling-limited and keeps
// its socket; the budget is whole again afterwards.
func TestLargeFrameBudget(t *testing.T) {
	t.Parallel()
	const (
		budget = protocol.MaxFrameSize + 8<<20
		size   = 2 << 20
	)
	tests := []struct {
		name string
		// held is what other sockets' frames hold of the budget.
		held int64
		// senderError and recipientError say who gets the ERROR.
		senderError, recipientError bool
	}{
		{"within the budget the message goes through", 0, false, false},
		{"a sender over the budget gets an ERROR", budget - protocol.MaxFrameSize + 1, true, false},
		{"a recipient over the budget gets an ERROR", budget - protocol.MaxFrameSize - size/2, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *signaling.Config) {
				c.LargeFrameBudget = budget
				c.RoomDataInterval = 0
			})
			a := e.dial(dialOpts{peerID: "a"})
			b := e.dial(dialOpts{peerID: "b"})
			joinRoom(a, "r", protocol.Mesh)
			joinRoom(b, "r", protocol.Mesh)
			a.expect(protocol.RoomUserJoin, nil)
			release := e.srv.HoldLargeBudget(tt.held)
			a.sendHeavy(websocket.MessageBinary, bigRoomData("r", size))
			switch {
			case tt.senderError:
				awaitMessage(a, heavyWait) // a 2 MiB read is slow under -race
				a.expectError(protocol.ErrSignalingLimited)
				b.expectNothing()
			case tt.recipientError:
				awaitMessage(b, heavyWait)
				b.expectError(protocol.ErrSignalingLimited)
				a.expectNothing()
			default:
				awaitMessage(b, heavyWait)
				if f := b.next(); !f.binary || len(f.data) < size {
					t.Fatalf("b got %d bytes, binary %v", len(f.data), f.binary)
				}
			}
			release()
			eventually(t, "budget given back", func() bool { return e.srv.LargeInFlight() == 0 })
			// Both sockets still work.
			a.send(protocol.SendOffer, offer("b", "mc_1"))
			b.expect(protocol.Offer, nil)
		})
	}
}

// TestSimultaneousBigSenders: every member of a room sends a large message
// at once to members that read only afterwards. Past a member's queue the
// messages are dropped for that member with an ERROR, but no socket is
// closed as a slow consumer (which closed them all with 4010).
func TestSimultaneousBigSenders(t *testing.T) {
	if signaling.RaceEnabled {
		t.Skip("under -race, 8 × 35 MiB of reads take a minute of CPU and starve the timing tests beside it")
	}
	t.Parallel()
	const (
		members = 8
		size    = 5 << 20 // 7 × 5 MiB = 35 MiB for each member, over its queue
	)
	e := newEnv(t, func(c *signaling.Config) {
		c.QueueBytes = protocol.MaxFrameSize + 1<<20
		c.RoomDataInterval = 0
		c.WriteTimeout = heavyWait    // the members read only at the end
		c.IdleTimeout = 4 * heavyWait // and answer no ping until then
		apps := testApps()
		apps.Apps[0].Limits = config.Limits{MaxPeers: 50, MaxRoomMembers: members}
		c.Apps = apps
	})
	conns := make([]*websocket.Conn, members)
	for i := range conns {
		id := fmt.Sprintf("m%d", i)
		conns[i] = e.dialConn(dialOpts{peerID: id})
		read(t, conns[i], protocol.Open, nil)
		write(t, conns[i], protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
		read(t, conns[i], protocol.RoomUserJoin, nil) // its own
	}
	// Each earlier member hears of each later join: drain them.
	for i := range conns {
		for range members - i - 1 {
			read(t, conns[i], protocol.RoomUserJoin, nil)
		}
	}
	frame := bigRoomData("r", size)
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), heavyWait)
			defer cancel()
			if err := conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
				t.Errorf("write: %v", err)
			}
		})
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // let the server queue what it will
	for i, conn := range conns {
		wg.Go(func() {
			got, dropped := 0, 0
			ctx, cancel := context.WithTimeout(context.Background(), heavyWait)
			defer cancel()
			for got+dropped < members-1 {
				typ, b, err := conn.Read(ctx)
				if err != nil {
					t.Errorf("m%d: %v after %d messages and %d ERRORs", i, err, got, dropped)
					return
				}
				var env protocol.Envelope
				switch {
				case typ == websocket.MessageBinary:
					got++
				case json.Unmarshal(b, &env) == nil && env.Type == protocol.Error:
					dropped++
				}
			}
			t.Logf("m%d: %d messages, %d dropped", i, got, dropped)
		})
	}
	wg.Wait()
	if n := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("slow-consumer")); n != 0 {
		t.Fatalf("%v sockets closed as slow consumers", n)
	}
}

// TestRoomLogsRateLimit: ROOM_GET_LOGS has its own, much lower, rate: a
// full log costs milliseconds of CPU to encode, and at the general 100
// messages a second two sockets saturated a machine.
func TestRoomLogsRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *signaling.Config) {
		c.RoomLogsInterval = time.Hour
		c.RoomLogsBurst = 2
	})
	a := e.dial(dialOpts{peerID: "a"})
	joinRoom(a, "r", protocol.Mesh)
	for range 2 {
		a.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: "r"})
		a.expect(protocol.RoomLogs, nil)
	}
	a.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: "r"})
	if e := a.expectError(protocol.ErrSignalingLimited); e.Request != protocol.RoomGetLogs {
		t.Fatalf("ERROR about %q, want ROOM_GET_LOGS", e.Request)
	}
	// Other messages are not affected.
	a.send(protocol.RoomGetUsers, protocol.RoomPayload{RoomName: "r"})
	a.expect(protocol.RoomUsers, nil)
}

// TestPerAppMessageRate: an app's limits.messageRate replaces the server's
// 100 messages a second for its sockets alone.
func TestPerAppMessageRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *signaling.Config) {
		apps := testApps()
		apps.Apps[1].Limits.MessageRate, apps.Apps[1].Limits.MessageBurst = 1, 3 // keyB
		c.Apps = apps
	})
	slow := e.dial(dialOpts{key: keyB, peerID: "slow"})
	fast := e.dial(dialOpts{peerID: "fast"})
	for range 3 {
		slow.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
		slow.expect(protocol.RoomUserJoin, nil)
	}
	slow.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
	slow.expectError(protocol.ErrSignalingLimited)
	for range 4 { // the other app keeps the server's rate
		fast.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
		fast.expect(protocol.RoomUserJoin, nil)
	}
}
