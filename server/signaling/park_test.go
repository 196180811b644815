package signaling_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/internal/poller"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

// skipWithoutPoller skips a test of parked sockets where there is no
// poller: there every socket keeps its goroutine.
func skipWithoutPoller(t *testing.T) {
	if !poller.Supported {
		t.Skip("no poller on this platform: sockets do not park")
	}
}

// manyPeers lets an app of testApps hold n peers.
func manyPeers(n int) func(*signaling.Config) {
	return func(c *signaling.Config) {
		apps := testApps()
		for i := range apps.Apps {
			apps.Apps[i].Limits = config.Limits{MaxPeers: n + 10, MaxRoomMembers: 4}
		}
		c.Apps = apps
	}
}

// serverReaders counts the goroutines reading a signaling socket: those in
// the session's reader.
func serverReaders() int {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "signaling.(*session).readLoop") {
			n++
		}
	}
	return n
}

// TestIdleSocketsHoldNoGoroutine: 500 peers connected and silent hold no
// goroutine of the server's each (issue 17: a reader blocked in a read
// keeps a stack of 4 KiB or more).
//
// SKYWASM_IDLE_PEERS sets another number of peers, to measure: each takes
// two descriptors of the process.
func TestIdleSocketsHoldNoGoroutine(t *testing.T) {
	skipWithoutPoller(t)
	peers := 500
	if n, err := strconv.Atoi(os.Getenv("SKYWASM_IDLE_PEERS")); err == nil && n > 1 {
		peers = n
	}
	e := newEnv(t, manyPeers(peers))
	before := runtime.NumGoroutine()
	conns := make([]*websocket.Conn, peers)
	for i := range conns {
		conns[i] = e.dialConn(dialOpts{peerID: fmt.Sprintf("p%d", i)})
		read(t, conns[i], protocol.Open, nil)
	}
	within(t, heavyWait, "all parked", func() bool { return e.srv.Parked() == peers })
	t.Logf("%d idle peers: %d goroutines in a reader, the process's goroutines %d → %d", peers, serverReaders(), before, runtime.NumGoroutine())
	if n := serverReaders(); n > peers/10 {
		t.Fatalf("%d goroutines in a socket's reader with %d idle peers, want far fewer", n, peers)
	}
	// The clients' sockets have no goroutine either (no read loop), so
	// the process's count tells the same.
	if grown := runtime.NumGoroutine() - before; grown > peers/10 {
		t.Fatalf("goroutines grew by %d with %d idle peers, want far fewer", grown, peers)
	}
	// Each still works: a message wakes it, and it parks again.
	write(t, conns[0], protocol.SendOffer, offer("p1", "mc_1"))
	read(t, conns[1], protocol.Offer, nil)
	within(t, heavyWait, "parked again", func() bool { return e.srv.Parked() == peers })
}

// TestParkedSocket: what a parked socket must still do.
func TestParkedSocket(t *testing.T) {
	skipWithoutPoller(t)
	t.Parallel()
	parked := func(t *testing.T, e *env, n int) {
		t.Helper()
		eventually(t, fmt.Sprintf("%d parked", n), func() bool { return e.srv.Parked() == n })
	}

	t.Run("receives and sends", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		a := e.dial(dialOpts{peerID: "a"})
		b := e.dial(dialOpts{peerID: "b"})
		for i := range 20 {
			parked(t, e, 2)
			// b's socket is written to while no goroutine reads it.
			a.send(protocol.SendOffer, offer("b", fmt.Sprintf("mc_%d", i)))
			var got protocol.RelayPayload
			b.expect(protocol.Offer, &got)
			if got.ConnectionID != fmt.Sprintf("mc_%d", i) {
				t.Fatalf("got %s, want mc_%d", got.ConnectionID, i)
			}
		}
	})

	t.Run("answers the server's pings and stays open", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, lenientIdle) // a ping every 100 ms, idle after 2 s
		a := e.dial(dialOpts{peerID: "a"})
		parked(t, e, 1)
		// Each pong wakes the socket; it parks again after it.
		time.Sleep(4500 * time.Millisecond)
		expectOpen(a)
		parked(t, e, 1)
		if got := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("idle")); got != 0 {
			t.Fatalf("idle closes = %v", got)
		}
	})

	t.Run("answers the client's pings", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		a := e.dial(dialOpts{peerID: "a"})
		for range 10 {
			parked(t, e, 1)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err := a.conn.Ping(ctx)
			cancel()
			if err != nil {
				t.Fatalf("ping: %v", err)
			}
		}
		expectOpen(a)
	})

	t.Run("is closed when idle, once", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *signaling.Config) {
			// The client never reads, so answers no ping: nothing
			// wakes the socket until the idle close.
			c.PingInterval = 900 * time.Millisecond
			c.IdleTimeout = time.Second
		})
		conn := e.dialConn(dialOpts{peerID: "silent"})
		read(t, conn, protocol.Open, nil)
		parked(t, e, 1)
		eventually(t, "idle close", func() bool { return testutil.ToFloat64(e.metrics.Closed.WithLabelValues("idle")) == 1 })
		// Reading at last (and answering pings), the client finds the
		// close.
		if code := readUntilClose(t, conn); code != protocol.CloseIdle {
			t.Fatalf("closed with %d, want %d", code, protocol.CloseIdle)
		}
		eventually(t, "released", func() bool { return !e.exists(keyA, "silent") })
		eventually(t, "no connection", func() bool { return testutil.ToFloat64(e.metrics.Connections) == 0 })
		if got := testutil.ToFloat64(e.metrics.Peers); got != 0 {
			t.Fatalf("peers gauge %v, want 0", got)
		}
	})

	t.Run("is replaced by a reconnect with its token", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		old := e.dial(dialOpts{peerID: "a", token: "tok"})
		parked(t, e, 1)
		e.dial(dialOpts{peerID: "a", token: "tok"})
		old.expectClose(protocol.CloseReplaced)
		parked(t, e, 1)
		eventually(t, "one connection", func() bool { return testutil.ToFloat64(e.metrics.Connections) == 1 })
	})

	t.Run("ends when the client drops it", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.dial(dialOpts{peerID: "b"})
		a := e.dial(dialOpts{peerID: "a"})
		a.send(protocol.SendOffer, offer("b", "mc_1"))
		parked(t, e, 2)
		a.drop()
		eventually(t, "a released", func() bool { return !e.exists(keyA, "a") })
		eventually(t, "one connection", func() bool { return testutil.ToFloat64(e.metrics.Connections) == 1 })
	})
}

// TestShutdownParked: a Shutdown closes parked sockets with 1001 and ends
// each exactly once: the release KeepUntilClosed passes is called once a
// socket, and the gauges come back to zero, not below.
func TestShutdownParked(t *testing.T) {
	skipWithoutPoller(t)
	t.Parallel()
	const peers = 50
	e := newEnv(t, manyPeers(peers))
	var released atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.srv.ServeHTTP(w, signaling.KeepUntilClosed(r, func() { released.Add(1) }))
	}))
	defer hs.Close()
	e.url = "ws" + strings.TrimPrefix(hs.URL, "http") + signaling.Path
	clients := make([]*client, peers)
	for i := range clients {
		clients[i] = e.dial(dialOpts{peerID: fmt.Sprintf("p%d", i), token: "tok"})
	}
	eventually(t, "all parked", func() bool { return e.srv.Parked() == peers })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("Shutdown: %v; %d parked, readers' states %v; goroutines:\n%s", err, e.srv.Parked(), e.srv.States(), buf)
	}
	for _, c := range clients {
		c.expectClose(websocket.StatusGoingAway)
	}
	if got := released.Load(); got != peers {
		t.Fatalf("released %d times for %d sockets", got, peers)
	}
	for name, g := range map[string]float64{
		"peers":       testutil.ToFloat64(e.metrics.Peers),
		"connections": testutil.ToFloat64(e.metrics.Connections),
	} {
		if g != 0 {
			t.Errorf("%s = %v after Shutdown", name, g)
		}
	}
	if got := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("shutdown")); got != peers {
		t.Errorf("shutdown closes = %v, want %d", got, peers)
	}
}

// rawSocket is a client written by hand, to send frames in pieces of its
// choosing.
type rawSocket struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (e *env) dialRawSocket(t *testing.T, peerID string) *rawSocket {
	t.Helper()
	u := strings.TrimPrefix(e.url, "ws://")
	host, path, _ := strings.Cut(u, "/")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.(*net.TCPConn).SetNoDelay(true) // each write its own segment
	fmt.Fprintf(conn, "GET /%s?key=%s&peerId=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, keyA, peerID, host)
	s := &rawSocket{t: t, conn: conn, r: bufio.NewReader(conn)}
	conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(s.r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	s.expect(protocol.Open)
	return s
}

// frame returns a masked text frame of payload.
func maskedFrame(payload []byte) []byte {
	var mask [4]byte
	rand.Read(mask[:])
	f := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i%4])
	}
	return f
}

// expect reads one server frame, which must be a text message of type typ.
func (s *rawSocket) expect(typ protocol.MessageType) json.RawMessage {
	s.t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(wait))
	var h [2]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		s.t.Fatalf("reading a frame: %v", err)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(s.r, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(s.r, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		s.t.Fatalf("reading a frame: %v", err)
	}
	var env protocol.Envelope
	if h[0] != 0x81 || json.Unmarshal(b, &env) != nil || env.Type != typ {
		s.t.Fatalf("got frame %#x %.200q, want %s", h[0], b, typ)
	}
	return env.Payload
}

// TestFrameInPieces: frames that come in many small TCP segments, split
// within the header and within the payload, with pauses in which the
// socket would park if it could, and frames whose end and the next one's
// start come together, are each read whole and in order.
func TestFrameInPieces(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.dial(dialOpts{peerID: "b"})
	a := e.dialRawSocket(t, "a")
	pause := func() { time.Sleep(30 * time.Millisecond) }
	// Until both sockets have parked (see linger).
	parkPause := func() {
		t.Helper()
		if !poller.Supported {
			return
		}
		eventually(t, "both parked", func() bool { return e.srv.Parked() == 2 })
	}
	msg := func(i int) []byte {
		m, err := protocol.Marshal(protocol.SendOffer, offer("b", fmt.Sprintf("mc_%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		return maskedFrame(m)
	}
	expect := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			var got protocol.RelayPayload
			b.expect(protocol.Offer, &got)
			if want := fmt.Sprintf("mc_%d", i); got.ConnectionID != want {
				t.Fatalf("got %s, want %s", got.ConnectionID, want)
			}
		}
	}
	send := func(p []byte) {
		t.Helper()
		if _, err := a.conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}

	// Byte by byte through the header (2, 4 and 6 bytes with the mask),
	// then the payload in three pieces.
	f := msg(0)
	for i := range 6 {
		send(f[i : i+1])
		pause()
	}
	third := (len(f) - 6) / 3
	send(f[6 : 6+third])
	pause()
	send(f[6+third : 6+2*third])
	pause()
	send(f[6+2*third:])
	expect(0, 1)

	// Two frames and the first byte of a third in one segment, the rest
	// after a pause: the socket has bytes buffered at a frame boundary.
	f1, f2, f3 := msg(1), msg(2), msg(3)
	send(append(append(append([]byte{}, f1...), f2...), f3[0]))
	pause()
	send(f3[1:2])
	pause()
	send(f3[2:])
	expect(1, 4)

	// A frame ending in the same segment as the next one's header only.
	f4, f5 := msg(4), msg(5)
	send(append(append([]byte{}, f4...), f5[:3]...))
	pause()
	send(f5[3:])
	expect(4, 6)

	// A parked socket woken by the first byte of a header, the rest
	// after a pause, and woken by a header and part of its payload.
	f6, f7 := msg(6), msg(7)
	parkPause()
	send(f6[:1])
	pause()
	send(f6[1:])
	expect(6, 7)
	parkPause()
	send(f7[:10])
	pause()
	send(f7[10:])
	expect(7, 8)

	// And whole frames after all of it.
	for i := 8; i < 12; i++ {
		send(msg(i))
	}
	expect(8, 12)
}

// TestParkWakeRace: many senders keep sockets waking and parking while the
// server relays between them; every message arrives, in order.
func TestParkWakeRace(t *testing.T) {
	t.Parallel()
	const (
		peers = 10
		each  = 50
	)
	e := newEnv(t, manyPeers(peers))
	clients := make([]*client, peers)
	for i := range clients {
		clients[i] = e.dial(dialOpts{peerID: fmt.Sprintf("p%d", i)})
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		dst := clients[(i+1)%peers].id
		wg.Go(func() {
			for j := range each {
				c.send(protocol.SendOffer, offer(dst, fmt.Sprintf("mc_%d", j)))
				if j%7 == 0 {
					time.Sleep(time.Millisecond) // let it park now and then
				}
			}
		})
	}
	for _, c := range clients {
		for j := range each {
			var got protocol.RelayPayload
			c.expect(protocol.Offer, &got)
			if want := fmt.Sprintf("mc_%d", j); got.ConnectionID != want {
				t.Fatalf("%s: got %s, want %s", c.id, got.ConnectionID, want)
			}
		}
	}
	wg.Wait()
}

// TestNoWakeLost: 50 sockets answer the server's pings every 50 ms for 3
// s, each pong waking a parked socket that parks again at once (3,000
// wakes). A wake lost would leave a pong unread and the socket idle-closed
// after two seconds.
func TestNoWakeLost(t *testing.T) {
	skipWithoutPoller(t)
	t.Parallel()
	const peers = 50
	e := newEnv(t, func(c *signaling.Config) {
		manyPeers(peers)(c)
		c.PingInterval = 50 * time.Millisecond
		c.IdleTimeout = 2 * time.Second
	})
	clients := make([]*client, peers)
	for i := range clients {
		clients[i] = e.dial(dialOpts{peerID: fmt.Sprintf("p%d", i)})
	}
	time.Sleep(3 * time.Second)
	// Only the idle close tells of a lost wake: a ping's write is bounded
	// by the ping interval, and coder/websocket drops a socket whose write
	// outlives its context, as a descheduled writer's may under -race.
	if got := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("idle")); got != 0 {
		t.Fatalf("%v sockets idle-closed while answering pings", got)
	}
}
