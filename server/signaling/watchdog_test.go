package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/signaling"
)

// A client that stops reading leaves the server's write hanging once the
// loopback socket buffers fill; the watchdog must drop it after the write
// timeout rather than hold the session forever.
func TestHungWriteIsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *signaling.Config) {
		// Long enough that a machine loaded by the browser tests cannot
		// stall the sender's own small writes (pings) past it; the stuck
		// client's write never ends, so any bound catches it.
		c.WriteTimeout = 1500 * time.Millisecond
		c.MinWriteRate = 1 << 30 // a flat WriteTimeout, whatever the size
		// No pings during the test: the sender's client would have to
		// answer them while its own 10 MiB writes hold its write lock,
		// which a loaded machine can stretch past the pong's timeout. The
		// watchdog checks every WriteTimeout/2 regardless.
		c.PingInterval = 30 * time.Minute
		c.IdleTimeout = time.Hour // only the watchdog may end it
		c.RoomDataInterval = 0
		c.ReclaimWindow = 0
	})
	sender := e.dial(dialOpts{peerID: "sender"})
	sender.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
	sender.expect(protocol.RoomUserJoin, nil)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// A client with no read loop: nothing it is sent is ever read.
	stuck, _, err := websocket.Dial(ctx, e.url+"?key="+keyA+"&peerId=stuck", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.CloseNow()
	join, _ := protocol.Marshal(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
	if err := stuck.Write(ctx, websocket.MessageText, join); err != nil {
		t.Fatal(err)
	}
	var joined protocol.RoomUserJoinPayload
	sender.expect(protocol.RoomUserJoin, &joined) // stuck is in the room
	if joined.Src != "stuck" {
		t.Fatalf("ROOM_USER_JOIN from %q", joined.Src)
	}

	// 10 MiB twice is more than the socket buffers hold for a client that never
	// reads (the kernel grows a receive buffer only as it is drained), and within
	// the server's per-socket queue, so only a hung write can end it.
	big := protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r"}}`), make([]byte, protocol.MaxRoomDataSize/2))
	sender.sendHeavy(websocket.MessageBinary, big)
	sender.sendHeavy(websocket.MessageBinary, big)

	var leave protocol.RoomUserLeavePayload
	sender.expect(protocol.RoomUserLeave, &leave)
	if leave.Src != "stuck" {
		t.Fatalf("ROOM_USER_LEAVE from %q", leave.Src)
	}
	if got := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("write-timeout")); got != 1 {
		t.Fatalf("write-timeout closes = %v, want 1", got)
	}
}
