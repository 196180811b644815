package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/routing"
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
		budget = signaling.FrameBufferSize + 8<<20
		size   = 2 << 20
	)
	tests := []struct {
		name string
		// held is what other sockets' frames hold of the budget.
		held int64
		// routed: the message comes through the Router as a cluster node
		// would hand it over, not read from a socket of this server.
		routed bool
		// senderError and recipientError say who gets the ERROR.
		senderError, recipientError bool
	}{
		{name: "within the budget the message goes through"},
		{name: "a sender over the budget gets an ERROR", held: budget - signaling.FrameBufferSize + 1, senderError: true},
		{name: "a message not read here is counted while queued", routed: true},
		{name: "a message not read here, over the budget, is dropped for its recipient", held: budget - size/2, routed: true, recipientError: true},
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
			if tt.routed {
				msg := routing.NewMessage(true)
				msg.Data = append(msg.Data, bigRoomData("r", size)...)
				if err := e.router.Send(context.Background(), keyA, "b", msg); err != nil {
					t.Fatal(err)
				}
			} else {
				a.sendHeavy(websocket.MessageBinary, bigRoomData("r", size))
			}
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
			e.srv.TrimLargeBuffers()
			if n := e.srv.LargeFree(); n != 0 {
				t.Fatalf("%d bytes of free frame buffers after a trim", n)
			}
			// Both sockets still work.
			a.send(protocol.SendOffer, offer("b", "mc_1"))
			b.expect(protocol.Offer, nil)
		})
	}
}

// readFrames reads n binary messages or ERRORs from conn, and says how
// many of each.
func readFrames(t *testing.T, conn *websocket.Conn, n int) (data, errs int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), heavyWait)
	defer cancel()
	for data+errs < n {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages and %d ERRORs: %v", data, errs, err)
		}
		var env protocol.Envelope
		switch {
		case typ == websocket.MessageBinary:
			data++
		case json.Unmarshal(b, &env) == nil && env.Type == protocol.Error:
			errs++
		}
	}
	return data, errs
}

// sendPaused writes frame on c's socket as far as n bytes, and returns
// what writes the rest: meanwhile the server has read n bytes, less the
// few KiB the client buffers, and waits for more.
func (c *client) sendPaused(frame []byte, n int) (rest func()) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), heavyWait)
	w, err := c.conn.Writer(ctx, websocket.MessageBinary)
	if err == nil {
		_, err = w.Write(frame[:n])
	}
	if err != nil {
		cancel()
		c.t.Fatalf("%s: write: %v", c.id, err)
	}
	return func() {
		c.t.Helper()
		defer cancel()
		if _, err := w.Write(frame[n:]); err != nil {
			c.t.Fatalf("%s: write: %v", c.id, err)
		}
		if err := w.Close(); err != nil {
			c.t.Fatalf("%s: write: %v", c.id, err)
		}
	}
}

// TestLargeFrameBudgetCountsReads: the budget counts what a socket reading
// a frame over 64 KiB holds, from its first bytes: a mid buffer
// (LargeFrame) for up to LargeFrame bytes, then a frame buffer beside it
// until the mid buffer's bytes are copied. A sender it cannot pay for at
// either step gets ERROR signaling-limited and keeps its socket; what it
// counts never passes its limit, and is whole again afterwards.
func TestLargeFrameBudgetCountsReads(t *testing.T) {
	t.Parallel()
	const (
		limit = signaling.FrameBufferSize + 8<<20
		head  = 512 << 10 // what a paused sender has sent: over 64 KiB, under LargeFrame
	)
	tests := []struct {
		name string
		size int // each sender's room data
		// hold is what other sockets hold of the budget.
		hold int64
		// paused senders send head bytes and wait while the others send
		// whole frames, which the budget cannot pay for; then the paused
		// ones finish, one at a time, and are delivered.
		paused, refused int
	}{
		// 8 mid buffers, and no ERROR for a frame under LargeFrame.
		{name: "frames under LargeFrame within the budget", size: 768 << 10, paused: 8},
		// Room for 4 mid buffers: the other senders are refused theirs.
		{name: "frames under LargeFrame past the budget", size: 768 << 10, hold: limit - 4<<20, paused: 4, refused: 4},
		// 8 mid buffers leave room for one frame buffer beside them, but
		// not for one more mid buffer as well.
		{name: "frames over LargeFrame", size: 3 << 20, paused: 8, refused: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *signaling.Config) {
				c.LargeFrameBudget = limit
				c.RoomDataInterval = 0
			})
			// Each sender in a room of its own with r, who reads it all.
			r := e.dial(dialOpts{peerID: "r"})
			senders := make([]*client, tt.paused+tt.refused)
			for i := range senders {
				room := fmt.Sprintf("r%d", i)
				senders[i] = e.dial(dialOpts{peerID: fmt.Sprintf("s%d", i)})
				joinRoom(r, room, protocol.Mesh)
				joinRoom(senders[i], room, protocol.Mesh)
				expectJoin(r, room, senders[i].id, protocol.Mesh)
			}
			var peak atomic.Int64
			stop, sampled := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Microsecond):
					}
					if u := e.srv.LargeUsed(); u > peak.Load() {
						peak.Store(u)
					}
				}
			}()
			defer func() {
				close(stop)
				<-sampled
				if p := peak.Load(); p > limit {
					t.Errorf("the budget counted %d bytes, over its limit of %d", p, int64(limit))
				}
			}()
			if tt.hold > 0 {
				defer e.srv.HoldLargeBudget(tt.hold)()
			}
			held := func(mids int) func() bool {
				return func() bool { return e.srv.LargeInFlight() == tt.hold+int64(mids)*signaling.LargeFrame }
			}

			rest := make([]func(), tt.paused)
			for i := range rest {
				rest[i] = senders[i].sendPaused(bigRoomData(fmt.Sprintf("r%d", i), tt.size), head)
			}
			within(t, wait, "a mid buffer counted for each paused sender", held(tt.paused))
			for i, s := range senders[tt.paused:] {
				s.sendHeavy(websocket.MessageBinary, bigRoomData(fmt.Sprintf("r%d", tt.paused+i), tt.size))
				awaitMessage(s, heavyWait)
				s.expectError(protocol.ErrSignalingLimited)
			}
			if !held(tt.paused)() {
				t.Fatalf("%d bytes of the budget held after the refusals, want the paused senders' mid buffers", e.srv.LargeInFlight())
			}
			for i, finish := range rest {
				finish()
				awaitMessage(r, heavyWait)
				if f := r.next(); !f.binary || len(f.data) < tt.size {
					t.Fatalf("r got %d bytes, binary %v, from s%d", len(f.data), f.binary, i)
				}
				within(t, heavyWait, "the buffers given back", held(tt.paused-i-1))
			}
			expectNothingAll(senders...)
			for _, s := range senders { // every socket still works
				s.send(protocol.SendOffer, offer("r", "mc_"+s.id))
				r.expect(protocol.Offer, nil)
			}
			e.srv.TrimLargeBuffers()
			if used, held := e.srv.LargeUsed(), e.srv.LargeInFlight(); used != tt.hold || held != tt.hold {
				t.Fatalf("after a trim the budget counts %d bytes, %d of them held, want %d of other sockets", used, held, tt.hold)
			}
		})
	}
}

// TestLargeFrameBudgetReturns: a large room message is one frame buffer of
// the budget, however many members it goes to, from its read to its last
// write, and the buffer comes back on every path a message can take.
func TestLargeFrameBudgetReturns(t *testing.T) {
	t.Parallel()
	const size = 8 << 20
	frame := bigRoomData("r", size)
	tests := []struct {
		name string
		run  func(t *testing.T, e *env, a *client, members []*websocket.Conn)
	}{
		{"shared by every member, delivered", func(t *testing.T, e *env, a *client, members []*websocket.Conn) {
			a.sendHeavy(websocket.MessageBinary, frame)
			// The members do not read yet: the message waits in
			// their queues (and sockets), one buffer for all three.
			time.Sleep(200 * time.Millisecond)
			if n := e.srv.LargeInFlight(); n != signaling.FrameBufferSize {
				t.Fatalf("%d bytes of the budget held for one message to %d members, want one frame buffer (%d)", n, len(members), signaling.FrameBufferSize)
			}
			for _, m := range members {
				if data, _ := readFrames(t, m, 1); data != 1 {
					t.Fatal("no data")
				}
			}
		}},
		{"dropped for a member whose queue is full", func(t *testing.T, e *env, a *client, members []*websocket.Conn) {
			for range 4 {
				a.sendHeavy(websocket.MessageBinary, frame)
			}
			for _, m := range members {
				if data, errs := readFrames(t, m, 4); errs == 0 {
					t.Fatalf("%d messages and no ERROR: the queue held 4 × 8 MiB", data)
				}
			}
		}},
		{"the members' sockets closed with messages queued", func(t *testing.T, e *env, a *client, members []*websocket.Conn) {
			for range 2 {
				a.sendHeavy(websocket.MessageBinary, frame)
			}
			within(t, heavyWait, "both messages read", func() bool { return e.srv.LargeInFlight() == 2*signaling.FrameBufferSize })
			for _, m := range members {
				m.CloseNow()
			}
		}},
		{"kept for members within their reclaim window", func(t *testing.T, e *env, a *client, members []*websocket.Conn) {
			for _, m := range members {
				m.CloseNow()
			}
			time.Sleep(100 * time.Millisecond) // the server sees them go
			a.sendHeavy(websocket.MessageBinary, frame)
			// ReclaimWindow (1 s) ends them, and their backlogs.
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *signaling.Config) {
				c.QueueBytes = protocol.MaxFrameSize + 1<<20
				c.RoomDataInterval = 0
				c.WriteTimeout = heavyWait
			})
			a := e.dial(dialOpts{peerID: "a"})
			joinRoom(a, "r", protocol.Mesh)
			members := make([]*websocket.Conn, 3)
			for i := range members {
				id := fmt.Sprintf("m%d", i)
				members[i] = e.dialConn(dialOpts{peerID: id, token: "tok" + id})
				read(t, members[i], protocol.Open, nil)
				write(t, members[i], protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
				read(t, members[i], protocol.RoomUserJoin, nil)
				a.expect(protocol.RoomUserJoin, nil)
				for _, m := range members[:i] {
					read(t, m, protocol.RoomUserJoin, nil)
				}
			}
			tt.run(t, e, a, members)
			within(t, heavyWait, "budget given back", func() bool { return e.srv.LargeInFlight() == 0 })
			for len(a.in) > 0 { // room events, but no ERROR for the sender
				if f := a.next(); strings.Contains(string(f.data), `"ERROR"`) {
					t.Fatalf("a: %s", f.data)
				}
			}
			for _, m := range members {
				m.CloseNow()
			}
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
	within(t, heavyWait, "budget given back", func() bool { return e.srv.LargeInFlight() == 0 })
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
