package signaling_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

// dialConn connects a socket with no read loop: it reads only when the test
// does, so until then it neither drains what the server sends nor answers
// its pings. It waits until the server holds the peer, not for OPEN, which
// stays unread.
func (e *env) dialConn(o dialOpts) *websocket.Conn {
	e.t.Helper()
	conn := e.dialWS(o.query())
	if o.peerID != "" {
		key := o.key
		if key == "" {
			key = keyA
		}
		eventually(e.t, "peer "+o.peerID+" claimed", func() bool { return e.exists(key, o.peerID) })
	}
	return conn
}

// write sends one message of type typ on a socket of dialConn.
func write(t testing.TB, conn *websocket.Conn, typ protocol.MessageType, payload any) {
	t.Helper()
	b, err := protocol.Marshal(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("write %s: %v", typ, err)
	}
}

// read reads the next text message on a socket of dialConn, which must be
// of type typ, into payload (if not nil).
func read(t testing.TB, conn *websocket.Conn, typ protocol.MessageType, payload any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	mt, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("reading %s: %v", typ, err)
	}
	var env protocol.Envelope
	if mt != websocket.MessageText || json.Unmarshal(b, &env) != nil || env.Type != typ {
		t.Fatalf("got %.200q, want %s", b, typ)
	}
	if payload != nil {
		if err := json.Unmarshal(env.Payload, payload); err != nil {
			t.Fatalf("%s payload %s: %v", typ, env.Payload, err)
		}
	}
}

// heavyWait bounds what waits on a 20 MiB frame: under -race the server
// takes seconds of CPU to read one, more when other tests share the CPUs.
const heavyWait = 30 * time.Second

// sendHeavy is sendFrame for a frame of many megabytes, which may take
// longer than the harness's wait to write.
func (c *client) sendHeavy(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), heavyWait)
	defer cancel()
	if err := c.conn.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// awaitMessage waits up to d until c has a message to read or its socket
// has ended, for what may take longer than the harness's wait.
func awaitMessage(c *client, d time.Duration) {
	c.t.Helper()
	within(c.t, d, c.id+" has a message", func() bool {
		select {
		case <-c.done:
			return true
		default:
			return len(c.in) > 0
		}
	})
}

// within polls cond until it holds or d passes, for waits longer than the
// harness's.
func within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMessageRate(t *testing.T) {
	t.Parallel()
	clock := newFakeClock() // the bucket refills only when the test says
	e := newEnv(t, func(c *signaling.Config) {
		c.Now = clock.Now
		c.MessageRate, c.MessageBurst = 10, 20
	})
	a := e.dial(dialOpts{peerID: "a"})
	b := e.dial(dialOpts{peerID: "b"})
	ping := func(n int) {
		for range n {
			a.send(protocol.Ping, nil)
		}
	}
	limited := func(n int) {
		t.Helper()
		for range n {
			if perr := a.expectError(protocol.ErrSignalingLimited); perr.Request != "" {
				t.Fatalf("a refused message is not read, yet the ERROR names %s", perr.Request)
			}
		}
	}

	ping(20) // the burst
	a.expectNothing()
	ping(1)
	limited(1)
	// A refused message is dropped, whatever it was.
	a.send(protocol.SendOffer, offer("b", "mc_1"))
	limited(1)
	b.expectNothing()

	// A tenth of a second earns one message; one that passes starts the
	// count of refusals in a row afresh.
	clock.advance(100 * time.Millisecond)
	a.send(protocol.SendOffer, offer("b", "mc_2"))
	b.expect(protocol.Offer, nil)
	ping(protocol.MaxLimitedMessages - 1)
	limited(protocol.MaxLimitedMessages - 1)
	clock.advance(100 * time.Millisecond)
	ping(1)
	a.expectNothing()
	if got := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("flooding")); got != 0 {
		t.Fatalf("flooding closes = %v before the limit", got)
	}

	// MaxLimitedMessages refusals in a row: the last ERROR, then the close.
	ping(protocol.MaxLimitedMessages)
	limited(protocol.MaxLimitedMessages)
	a.expectClose(protocol.CloseFlooding)
	eventually(t, "a flooding close counted", func() bool {
		return testutil.ToFloat64(e.metrics.Closed.WithLabelValues("flooding")) == 1
	})
	// The flooder is gone, not waiting for a reconnection: b, whom it
	// called, hears so at once.
	var leave protocol.LeavePayload
	b.expect(protocol.Leave, &leave)
	if leave.Src != "a" {
		t.Fatalf("LEAVE from %q", leave.Src)
	}
	eventually(t, "a released", func() bool { return !e.exists(keyA, "a") })
}

func TestMessageRateIsPerSocket(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, func(c *signaling.Config) {
		c.Now = clock.Now
		c.MessageRate, c.MessageBurst = 10, 5
	})
	a := e.dial(dialOpts{peerID: "a"})
	b := e.dial(dialOpts{peerID: "b"})
	for range 5 {
		a.send(protocol.Ping, nil)
	}
	a.send(protocol.Ping, nil)
	a.expectError(protocol.ErrSignalingLimited)
	for range 5 {
		b.send(protocol.SendOffer, offer("a", "mc_1"))
		a.expect(protocol.Offer, nil)
	}
	b.expectNothing()
}

func TestMaxPeers(t *testing.T) {
	t.Parallel()
	twoPeers := appsWith(func(apps *config.Config) { appOf(apps, keyA).Limits.MaxPeers = 2 })
	tests := []struct {
		name  string
		token string
		leave func(*client)
		after time.Duration // the place is free only after this
	}{
		{"close", "", (*client).close, 0},
		{"drop without token", "", (*client).drop, 0},
		{"drop with token", "tok", (*client).drop, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, twoPeers)
			a := e.dial(dialOpts{peerID: "a", token: tt.token})
			e.dial(dialOpts{})
			c := e.dialRaw(dialOpts{peerID: "c"})
			c.expectError(protocol.ErrSignalingLimited)
			c.expectClose(protocol.ClosePeerLimit)
			if e.exists(keyA, "c") {
				t.Fatal("a refused peer holds its ID")
			}
			if got := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(string(protocol.ErrSignalingLimited))); got != 1 {
				t.Fatalf("rejected signaling-limited = %v, want 1", got)
			}
			e.dial(dialOpts{key: keyB}) // another app has its own count

			start := time.Now()
			tt.leave(a)
			eventually(t, "a released", func() bool { return !e.exists(keyA, "a") })
			if elapsed := time.Since(start); elapsed < tt.after {
				t.Fatalf("a released after %v, want after %v", elapsed, tt.after)
			}
			d := e.dial(dialOpts{peerID: "d"})
			if d.id != "d" {
				t.Fatalf("OPEN as %q", d.id)
			}
			e.dialRaw(dialOpts{}).expectClose(protocol.ClosePeerLimit)
		})
	}

	t.Run("reclaim does not count twice", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, twoPeers)
		e.dial(dialOpts{peerID: "a", token: "tok"})
		e.dial(dialOpts{peerID: "b"})
		a2 := e.dial(dialOpts{peerID: "a", token: "tok"}) // the same peer, a new socket
		if a2.id != "a" {
			t.Fatalf("reclaimed as %q", a2.id)
		}
		e.dialRaw(dialOpts{}).expectClose(protocol.ClosePeerLimit)
	})
}

// pairInRoom dials a and b and puts them in room r.
func pairInRoom(e *env) (a, b *client) {
	e.t.Helper()
	cs := roomOf(e, "r", protocol.Mesh, "a", "b")
	return cs[0], cs[1]
}

// stillUsable checks that a's connection works after a refusal: an offer
// reaches b, and a gets nothing more.
func stillUsable(a, b *client) {
	a.t.Helper()
	a.send(protocol.SendOffer, offer(b.id, "mc_after"))
	var got protocol.RelayPayload
	b.expect(protocol.Offer, &got)
	if got.Src != a.id || got.ConnectionID != "mc_after" {
		a.t.Fatalf("OFFER %+v", got)
	}
	barrier(a, a)
}

func TestOversizedMessage(t *testing.T) {
	t.Parallel()
	pad := strings.Repeat("x", protocol.MaxMessageSize)
	tests := []struct {
		name  string
		frame string
		req   protocol.MessageType
	}{
		{"candidate", `{"type":"SEND_CANDIDATE","payload":{"dst":"b","connectionId":"c","connectionType":"data","candidate":{"candidate":"` + pad + `"}}}`, protocol.SendCandidate},
		{"offer", `{"type":"SEND_OFFER","payload":{"dst":"b","connectionId":"c","connectionType":"media","offer":{"type":"offer","sdp":"` + pad + `"}}}`, protocol.SendOffer},
		{"unknown field", `{"type":"ROOM_JOIN","payload":{"roomName":"r2","roomType":"mesh","extra":"` + pad + `"}}`, protocol.RoomJoin},
		{"ping", `{"type":"PING","payload":{"extra":"` + pad + `"}}`, protocol.Ping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			a, b := pairInRoom(e)
			a.sendRaw([]byte(tt.frame))
			if perr := a.expectError(protocol.ErrInvalidMessage); perr.Request != tt.req {
				t.Fatalf("ERROR %+v, want one about %s", perr, tt.req)
			}
			barrier(a, b)
			stillUsable(a, b)
		})
	}

	t.Run("room data may be larger", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		a, b := pairInRoom(e)
		// Room data is bound by MaxRoomDataSize, not MaxMessageSize.
		big := `"` + strings.Repeat("y", 1<<20) + `"`
		a.sendRaw(roomDataFrame("r", big))
		if got := expectRoomData(b, "r", "a"); string(got) != big {
			t.Fatalf("1 MiB of text room data arrived as %d bytes", len(got))
		}
		barrier(a, a)
	})
}

func TestFrameTooBig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a"})
	b := e.dial(dialOpts{peerID: "b"})
	a.send(protocol.SendOffer, offer("b", "mc_1"))
	b.expect(protocol.Offer, nil)
	// The server reads up to the limit, then refuses; the client's write
	// may or may not end in an error.
	written := make(chan struct{})
	go func() {
		defer close(written)
		ctx, cancel := context.WithTimeout(context.Background(), heavyWait)
		defer cancel()
		_ = a.conn.Write(ctx, websocket.MessageBinary, make([]byte, protocol.MaxFrameSize+1))
	}()
	awaitMessage(a, heavyWait)
	a.expectClose(websocket.StatusMessageTooBig)
	<-written
	// Without a token the peer is gone at once.
	var leave protocol.LeavePayload
	b.expect(protocol.Leave, &leave)
	eventually(t, "a released", func() bool { return !e.exists(keyA, "a") })
	// The peer is gone by now, so its socket's end has been counted.
	if got := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("message-too-big")); got != 1 {
		t.Errorf("message-too-big closes = %v, want 1", got)
	}
}

func TestBinaryFrameNotRoomData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame []byte
		req   protocol.MessageType
	}{
		{"ping", protocol.BinaryFrame([]byte(`{"type":"PING"}`), nil), protocol.Ping},
		{"offer", protocol.BinaryFrame([]byte(`{"type":"SEND_OFFER","payload":{"dst":"b","connectionId":"c","connectionType":"media","offer":{"type":"offer","sdp":""}}}`), nil), protocol.SendOffer},
		{"join", protocol.BinaryFrame([]byte(`{"type":"ROOM_JOIN","payload":{"roomName":"r2","roomType":"mesh"}}`), []byte("x")), protocol.RoomJoin},
		{"text JSON", []byte(`{"type":"PING"}`), ""},
		{"empty", []byte{}, ""},
		{"shorter than its length", []byte{0, 0}, ""},
		{"header length beyond the frame", append([]byte{0, 0, 1, 0}, `{"type":"ROOM_SEND_DATA"}`...), ""},
		{"header not JSON", protocol.BinaryFrame([]byte(`not json`), []byte("x")), ""},
		{"data in the header", protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r","data":"x"}}`), nil), protocol.RoomSendData},
		{"no room", protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{}}`), []byte("x")), protocol.RoomSendData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			a, b := pairInRoom(e)
			a.sendFrame(websocket.MessageBinary, tt.frame)
			if perr := a.expectError(protocol.ErrInvalidMessage); perr.Request != tt.req {
				t.Fatalf("ERROR %+v, want one about %q", perr, tt.req)
			}
			barrier(a, b)
			stillUsable(a, b)
		})
	}
}

// TestSlowConsumer checks the per-socket queue: a client that reads nothing
// fills the loopback socket's buffers, then the server's queue, and is
// closed the moment the queue overflows. The sender keeps sending until the
// server counts that close, so the test does not depend on how much the
// kernel buffers; the bound on messages is far above any buffer size. The
// write timeout is long, so only the queue can end the socket.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		adjust func(*signaling.Config)
		room   bool // room data, else relayed offers
		size   int  // of one message
		max    int  // messages at most
	}{
		{"queue length, room data", func(c *signaling.Config) { c.QueueLength = 8 }, true, 512 << 10, 400},
		{"queue length, offers", func(c *signaling.Config) { c.QueueLength = 8 }, false, 100 << 10, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *signaling.Config) {
				tt.adjust(c)
				c.RoomDataInterval = 0
				c.MessageRate, c.MessageBurst = 1e6, 1e6
				c.WriteTimeout = time.Minute
				c.IdleTimeout = time.Hour
			})
			sender := e.dial(dialOpts{peerID: "sender"})
			witness := e.dial(dialOpts{peerID: "witness"})
			slow := e.dialConn(dialOpts{peerID: "slow"})
			if tt.room {
				joinRoom(sender, "r", protocol.Mesh)
				write(t, slow, protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
				expectJoin(sender, "r", "slow", protocol.Mesh)
			}
			payload := []byte(strings.Repeat("p", tt.size))
			closed := func() bool { return testutil.ToFloat64(e.metrics.Closed.WithLabelValues("slow-consumer")) > 0 }
			sent := 0
			for ; sent < tt.max && !closed(); sent++ {
				if tt.room {
					sender.sendFrame(websocket.MessageBinary, binaryRoomDataFrame("r", payload))
				} else {
					o := offer("slow", "mc_1")
					o.Offer.SDP = string(payload)
					sender.send(protocol.SendOffer, o)
				}
			}
			eventually(t, "slow consumer closed", closed)
			t.Logf("closed after %d messages of %d bytes", sent, tt.size)
			// The server has handled every message sent once the next
			// reaches someone else.
			sender.send(protocol.SendOffer, offer("witness", "mc_sync"))
			awaitMessage(witness, heavyWait)
			witness.expect(protocol.Offer, nil)
			expectNoLeave := func() {
				t.Helper()
				select {
				case f := <-sender.in:
					t.Fatalf("sender got %.100s while the slow socket is still being written", f.data)
				default:
				}
			}
			expectNoLeave()

			// Once the slow client reads again, it gets what was queued
			// and then the close.
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			defer cancel()
			var err error
			for err == nil {
				var r io.Reader
				if _, r, err = slow.Reader(ctx); err == nil {
					_, err = io.Copy(io.Discard, r)
				}
			}
			if got := websocket.CloseStatus(err); got != protocol.CloseSlowConsumer {
				t.Fatalf("slow socket ended with %v, want close %d", err, protocol.CloseSlowConsumer)
			}

			// From the sender's view the slow peer leaves (it had no
			// token, so at once), and its ID is free.
			if tt.room {
				expectLeave(sender, "r", "slow")
			} else {
				var leave protocol.LeavePayload
				sender.expect(protocol.Leave, &leave)
				if leave.Src != "slow" {
					t.Fatalf("LEAVE from %q", leave.Src)
				}
			}
			eventually(t, "slow released", func() bool { return !e.exists(keyA, "slow") })
			sender.expectNothing()
		})
	}
}
