package signaling_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
)

// throttledConn reads at most rate bytes a second, a chunk at a time,
// saving almost no credit while idle: a client on a slow link, as the
// server sees it.
type throttledConn struct {
	net.Conn
	rate int // bytes a second

	mu   sync.Mutex // one reader at a time, as for any net.Conn
	next time.Time  // when the next read may start
}

// throttleChunk is the most one Read returns.
const throttleChunk = 16 << 10

func (c *throttledConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := time.Until(c.next); d > 0 {
		time.Sleep(d)
	}
	n, err := c.Conn.Read(p[:min(len(p), throttleChunk)])
	// Sleeps overshoot: a little credit (50 ms' worth) makes up for it.
	if floor := time.Now().Add(-50 * time.Millisecond); c.next.Before(floor) {
		c.next = floor
	}
	c.next = c.next.Add(time.Duration(n) * time.Second / time.Duration(c.rate))
	return n, err
}

// dialThrottled opens a WebSocket as dialOpts o whose reads hold rate
// bytes a second. The socket's receive buffer is small, so that the
// server's writes, not the kernel's buffers, wait for the reader.
func (e *env) dialThrottled(o dialOpts, rate int) *websocket.Conn {
	e.t.Helper()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := conn.(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
			conn.Close()
			return nil, err
		}
		return &throttledConn{Conn: conn, rate: rate}, nil
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}
	q, h := o.query()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, e.url+"?"+q.Encode(), &websocket.DialOptions{HTTPClient: client, HTTPHeader: h})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	e.t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// TestSlowRoomMember: a member reading at 1 MiB/s receives the largest
// room message whole, and keeps its socket: it is not closed as a slow
// consumer (4010) nor by a write timeout (a fixed 10 s cut such a member
// off after 19.7 MB of 20 MiB).
func TestSlowRoomMember(t *testing.T) {
	t.Parallel()
	const rate = 1 << 20
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a"})
	joinRoom(a, "big", protocol.Mesh)
	slow := e.dialThrottled(dialOpts{peerID: "slow"}, rate)
	read(t, slow, protocol.Open, nil)
	write(t, slow, protocol.RoomJoin, protocol.RoomPayload{RoomName: "big", RoomType: protocol.Mesh})
	read(t, slow, protocol.RoomUserJoin, nil)
	expectJoin(a, "big", "slow", protocol.Mesh)

	data := make([]byte, protocol.MaxRoomDataSize)
	for i := range data {
		data[i] = byte(i ^ i>>11)
	}
	want := sha256.Sum256(data)

	start := time.Now()
	var (
		got     [sha256.Size]byte
		n       int64
		readErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		// 20 s at 1 MiB/s, and the sender's upload before it: 36 s in
		// all under -race on an idle machine; 90 s leaves room for load,
		// and is the server's own deadline for this write.
		ctx, cancel := context.WithTimeout(context.Background(), 3*heavyWait)
		defer cancel()
		got, n, readErr = readRoomData(ctx, slow, "big", "a")
	})
	a.sendHeavy(websocket.MessageBinary, binaryRoomDataFrame("big", data))
	wg.Wait()
	took := time.Since(start)
	if readErr != nil {
		t.Fatalf("slow member: %v after %d bytes in %v", readErr, n, took)
	}
	t.Logf("%d bytes in %v: %.2f MiB/s", n, took, float64(n)/(1<<20)/took.Seconds())
	if n != int64(len(data)) || got != want {
		t.Fatalf("slow member got %d bytes (hash equal: %v), want %d", n, got == want, len(data))
	}
	// The throttle works: the kernel's buffers hold a few MiB at most.
	if min := time.Duration(len(data)-8<<20) * time.Second / rate; took < min {
		t.Fatalf("20 MiB arrived in %v, faster than the throttle allows (%v)", took, min)
	}

	// The socket is still served both ways.
	write(t, slow, protocol.SendForceClose, protocol.RelayPayload{Dst: "a", ConnectionID: "after"})
	a.expect(protocol.ForceClose, nil)
	a.send(protocol.SendForceClose, protocol.RelayPayload{Dst: "slow", ConnectionID: "after"})
	read(t, slow, protocol.ForceClose, nil)
	for _, reason := range []string{"slow-consumer", "write-timeout"} {
		if n := testutil.ToFloat64(e.metrics.Closed.WithLabelValues(reason)); n != 0 {
			t.Fatalf("%v sockets closed as %s", n, reason)
		}
	}
}

// readRoomData reads a binary ROOM_DATA of src in room as a stream, and
// returns the hash and length of its data.
func readRoomData(ctx context.Context, conn *websocket.Conn, room, src string) (sum [sha256.Size]byte, n int64, err error) {
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return sum, 0, err
	}
	if typ != websocket.MessageBinary {
		return sum, 0, fmt.Errorf("got a %v message, want binary", typ)
	}
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return sum, 0, err
	}
	header := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(r, header); err != nil {
		return sum, 0, err
	}
	if want := `{"type":"ROOM_DATA","payload":{"roomName":"` + room + `","src":"` + src + `"}}`; string(header) != want {
		return sum, 0, fmt.Errorf("header %s, want %s", header, want)
	}
	h := sha256.New()
	n, err = io.Copy(h, r)
	h.Sum(sum[:0])
	return sum, n, err
}
