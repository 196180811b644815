package signaling_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/signaling"
)

// BenchmarkRelayWebSocket relays offers between two real WebSocket clients
// on loopback, pipelined, and reports messages a second. Client and server
// share the machine's two cores, so this is a floor for the server alone.
func BenchmarkRelayWebSocket(b *testing.B) {
	e := newEnv(b, func(c *signaling.Config) { c.MessageRate, c.MessageBurst = 1e9, 1e9 })
	url := e.url + "?key=" + keyA + "&peerId="
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dial := func(id string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url+id, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil { // OPEN
			b.Fatal(err)
		}
		return c
	}
	alice, bob := dial("alice"), dial("bob")
	defer alice.CloseNow()
	defer bob.CloseNow()
	frame, _ := protocol.Marshal(protocol.SendOffer, protocol.RelayPayload{
		Dst: "bob", ConnectionID: "mc_bench", ConnectionType: protocol.Media,
		Offer: &protocol.SessionDescription{Type: "offer", SDP: strings.Repeat("a=x\r\n", 400)},
	})
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	// At most window messages in flight, well under the server's queue
	// for one socket, past which it would close bob as a slow reader.
	const window = 128
	credit := make(chan struct{}, window)
	sent := make(chan error, 1)
	go func() {
		for range b.N {
			credit <- struct{}{}
			if err := alice.Write(ctx, websocket.MessageText, frame); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	var buf bytes.Buffer
	start := time.Now()
	for range b.N {
		_, r, err := bob.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			b.Fatal(err)
		}
		<-credit
	}
	if err := <-sent; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkRelayWebSocketOneByOne relays offers between two real WebSocket
// clients one at a time, each sent once the last has arrived, so that the
// sender's socket is idle between them: each offer wakes a parked socket
// (see session.park). It reports the process's CPU time a message, client
// included.
func BenchmarkRelayWebSocketOneByOne(b *testing.B) {
	e := newEnv(b, func(c *signaling.Config) { c.MessageRate, c.MessageBurst = 1e9, 1e9 })
	url := e.url + "?key=" + keyA + "&peerId="
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dial := func(id string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url+id, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil { // OPEN
			b.Fatal(err)
		}
		return c
	}
	alice, bob := dial("alice"), dial("bob")
	defer alice.CloseNow()
	defer bob.CloseNow()
	frame, _ := protocol.Marshal(protocol.SendCandidate, protocol.RelayPayload{
		Dst: "bob", ConnectionID: "mc_bench", ConnectionType: protocol.Media,
		Candidate: json.RawMessage(`{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0"}`),
	})
	var buf bytes.Buffer
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if err := alice.Write(ctx, websocket.MessageText, frame); err != nil {
			b.Fatal(err)
		}
		_, r, err := bob.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
