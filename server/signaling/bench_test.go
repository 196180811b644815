package signaling

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// benchPeers makes a server with n attached peers whose sessions have no
// socket: what they are sent stays in their queues for the benchmark to
// drain. It measures the server's own path, from a parsed frame to the
// recipient's queue, without the WebSocket library's costs.
func benchPeers(tb testing.TB, n int) (*Server, []*session) {
	_, m := metrics.New()
	cfg := DefaultConfig()
	cfg.Apps = &config.Config{Apps: []config.App{{
		Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566", Secret: "bench-secret-0123456789",
		Limits: config.Limits{MaxPeers: 1000, MaxRoomMembers: 1000},
	}}}
	cfg.Router, cfg.Metrics = routing.NewLocal(), m
	cfg.MessageRate, cfg.MessageBurst, cfg.RoomDataInterval = 1e9, 1e9, 0
	srv, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	app := &cfg.Apps.Apps[0]
	sessions := make([]*session, n)
	for i := range sessions {
		p := newPeer(srv, app, string(rune('a'+i)), "")
		if err := cfg.Router.Claim(context.Background(), routing.Claim{Key: app.Key, ID: p.id}, p); err != nil {
			tb.Fatal(err)
		}
		sessions[i] = newSession(srv)
		sessions[i].init(p, nil)
		p.attach(sessions[i])
	}
	return srv, sessions
}

func drain(s *session) int {
	n := 0
	for m, ok := s.out.Pop(); ok; m, ok = s.out.Pop() {
		s.dropped(m)
		n++
	}
	return n
}

// sdp is an offer of typical size: audio and video, one candidate.
var sdp = strings.Repeat(`a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\n`, 40)

func BenchmarkRelay(b *testing.B) {
	_, s := benchPeers(b, 2)
	frame := []byte(`{"type":"SEND_OFFER","payload":{"dst":"b","connectionId":"mc_abcdefghij","connectionType":"media","offer":{"type":"offer","sdp":"` + sdp + `"},"metadata":{"name":"alice"}}}`)
	ctx, now := context.Background(), time.Now()
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		s[0].handle(ctx, frame, false, now)
		if drain(s[1]) != 1 {
			b.Fatal("offer not relayed")
		}
	}
}

func BenchmarkRoomData(b *testing.B) {
	const members = 10
	_, s := benchPeers(b, members)
	ctx, now := context.Background(), time.Now()
	for _, sess := range s {
		sess.handle(ctx, []byte(`{"type":"ROOM_JOIN","payload":{"roomName":"bench","roomType":"mesh"}}`), false, now)
	}
	for _, sess := range s {
		drain(sess)
	}
	frame := protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"bench"}}`), make([]byte, 1024))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		s[0].handle(ctx, frame, true, now)
		for _, sess := range s[1:] {
			if drain(sess) != 1 {
				b.Fatal("room data not delivered")
			}
		}
	}
}

// TestRelayAllocatesNothing holds the relay path to zero allocations a
// message once the sender has talked to the recipient before.
func TestRelayAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random, so allocations are not zero under -race")
	}
	_, s := benchPeers(t, 2)
	frame := []byte(`{"type":"SEND_CANDIDATE","payload":{"dst":"b","connectionId":"mc_1","connectionType":"media","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0"}}}`)
	ctx, now := context.Background(), time.Now()
	s[0].handle(ctx, frame, false, now) // first contact remembers b
	drain(s[1])
	allocs := testing.AllocsPerRun(1000, func() {
		s[0].handle(ctx, frame, false, now)
		drain(s[1])
	})
	if allocs != 0 {
		t.Fatalf("relaying a candidate allocated %v times, want 0", allocs)
	}
}

// TestRoomGetLogsEncodesOnce: ROOM_GET_LOGS on a full log costs a copy of
// the log encoded once, not an encoding of its thousand entries each time
// (which cost about 2,000 allocations and 118% of a core at 100 a second).
func TestRoomGetLogsEncodesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	_, s := benchPeers(t, 1)
	ctx, now := context.Background(), time.Now()
	s[0].handle(ctx, []byte(`{"type":"ROOM_JOIN","payload":{"roomName":"logs","roomType":"mesh"}}`), false, now)
	text := []byte(`"` + strings.Repeat("x", 1000) + `"`)
	for range protocol.MaxRoomLog {
		if err := s[0].srv.cfg.Router.LogRoomData(ctx, s[0].p.key, "logs", s[0].p.id, text, false); err != nil {
			t.Fatal(err)
		}
	}
	drain(s[0])
	s[0].logs = newBucket(1e9, 1e9, now)
	get := []byte(`{"type":"ROOM_GET_LOGS","payload":{"roomName":"logs"}}`)
	s[0].handle(ctx, get, false, now) // the one encoding
	drain(s[0])
	allocs := testing.AllocsPerRun(20, func() {
		s[0].handle(ctx, get, false, now)
		if drain(s[0]) != 1 {
			t.Fatal("no ROOM_LOGS")
		}
	})
	// A few, whatever the entries: the frame is over the message pool's
	// largest, so its message and buffer are new each time.
	if allocs > 8 {
		t.Fatalf("ROOM_GET_LOGS on an unchanged full log allocated %v times, want at most 8", allocs)
	}
}
