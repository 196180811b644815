package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

// TestShutdownSendsNoLeave is a rolling restart: many contact pairs, each
// pair also in a room, through several Shutdown cycles of a server and a
// new server after it. No socket may hear a LEAVE or ROOM_USER_LEAVE before
// its own 1001: the SDK would close its connections with that peer, and the
// call must outlive signaling.
func TestShutdownSendsNoLeave(t *testing.T) {
	t.Parallel()
	const (
		cycles = 4
		pairs  = 100
	)
	for cycle := range cycles {
		e := newEnv(t, func(c *signaling.Config) {
			c.ReclaimWindow = time.Minute
			apps := testApps()
			for i := range apps.Apps {
				apps.Apps[i].Limits = config.Limits{MaxPeers: 2*pairs + 10, MaxRoomMembers: 4}
			}
			c.Apps = apps
		})
		clients := make([]*client, 0, 2*pairs)
		for i := range pairs {
			a := e.dial(dialOpts{peerID: fmt.Sprintf("a%d", i), token: "tok"})
			b := e.dial(dialOpts{peerID: fmt.Sprintf("b%d", i), token: "tok"})
			room := fmt.Sprintf("r%d", i)
			joinRoom(a, room, protocol.Mesh)
			joinRoom(b, room, protocol.Mesh)
			a.expect(protocol.RoomUserJoin, nil) // b joined
			a.send(protocol.SendOffer, offer(b.id, "mc_1"))
			b.expect(protocol.Offer, nil)
			b.send(protocol.SendAnswer, protocol.RelayPayload{Dst: a.id, ConnectionID: "mc_1", ConnectionType: protocol.Media,
				Answer: &protocol.SessionDescription{Type: "answer", SDP: "v=0\r\n"}})
			a.expect(protocol.Answer, nil)
			clients = append(clients, a, b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Fatalf("cycle %d: Shutdown: %v", cycle, err)
		}
		cancel()
		var (
			mu      sync.Mutex
			leaves  int
			wrongly []string
			wg      sync.WaitGroup
		)
		for _, c := range clients {
			wg.Go(func() {
				n, code := drainUntilClose(c)
				mu.Lock()
				defer mu.Unlock()
				leaves += n
				if code != websocket.StatusGoingAway {
					wrongly = append(wrongly, fmt.Sprintf("%s closed with %d", c.id, code))
				}
			})
		}
		wg.Wait()
		if leaves != 0 || len(wrongly) != 0 {
			t.Fatalf("cycle %d: %d LEAVE or ROOM_USER_LEAVE received before the 1001 close; %v", cycle, leaves, wrongly)
		}
	}
}

// drainUntilClose reads c until its socket ends and counts the departures
// it was told of.
func drainUntilClose(c *client) (departures int, code websocket.StatusCode) {
	deadline := time.After(wait)
	for {
		select {
		case f := <-c.in:
			var env protocol.Envelope
			if json.Unmarshal(f.data, &env) == nil && (env.Type == protocol.Leave || env.Type == protocol.RoomUserLeave) {
				departures++
			}
		case <-c.done:
			for len(c.in) > 0 {
				f := <-c.in
				var env protocol.Envelope
				if json.Unmarshal(f.data, &env) == nil && (env.Type == protocol.Leave || env.Type == protocol.RoomUserLeave) {
					departures++
				}
			}
			return departures, websocket.CloseStatus(c.err)
		case <-deadline:
			return departures, -1
		}
	}
}
