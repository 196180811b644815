//go:build !js

package sfu_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
)

var both = routing.Receive{Video: true, Audio: true}

// TestThreePublishers: each of three publishers receives the other two's
// audio and video, labelled with their peer IDs, with under 1% loss.
func TestThreePublishers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	names := []string{"alice", "bob", "carol"}
	var cs []*client
	for _, n := range names {
		cs = append(cs, e.join("r", n, clientOpts{publish: true, recv: both}))
	}
	for _, c := range cs {
		eventually(t, 10*time.Second, c.m.Peer+" receives 4 tracks", func() bool {
			live := c.live()
			if len(live) != 4 {
				return false
			}
			for _, r := range live {
				if r.packets() == 0 {
					return false
				}
			}
			return true
		})
	}
	time.Sleep(2 * time.Second) // media flows
	for _, c := range cs {
		msids := c.lastMsids()
		kinds := map[string][]string{}
		for _, r := range c.live() {
			peer, ok := msids[r.remote.StreamID()]
			if !ok {
				t.Errorf("%s: stream %s of track %s not in msids %v", c.m.Peer, r.remote.StreamID(), r.remote.ID(), msids)
			}
			if peer == c.m.Peer {
				t.Errorf("%s receives its own track", c.m.Peer)
			}
			kinds[peer] = append(kinds[peer], r.remote.Kind().String())
			loss, n := r.loss()
			t.Logf("%s ← %s %s: %d packets, loss %.3f%%", c.m.Peer, peer, r.remote.Kind(), n, 100*loss)
			if loss > 0.01 {
				t.Errorf("%s ← %s %s: loss %.2f%%", c.m.Peer, peer, r.remote.Kind(), 100*loss)
			}
		}
		if len(kinds) != 2 {
			t.Errorf("%s receives from %v, want the two others", c.m.Peer, kinds)
		}
		for p, k := range kinds {
			if len(k) != 2 || k[0] == k[1] {
				t.Errorf("%s receives %v from %s, want audio and video", c.m.Peer, k, p)
			}
		}
		t.Logf("%s: first packet %v after its SFU_GET_OFFER", c.m.Peer, c.first)
	}
	m := e.metrics
	if r, p, tr := gauge(m.Rooms), gauge(m.Participants), gauge(m.Tracks); r != 1 || p != 3 || tr != 6 {
		t.Errorf("gauges rooms %v participants %v tracks %v, want 1 3 6", r, p, tr)
	}
	if n := testutil.ToFloat64(m.PacketsForwarded); n < 500 {
		t.Errorf("%v packets forwarded", n)
	}
	t.Logf("forwarded %v packets, %v bytes; %v keyframe requests, %v NACKs",
		testutil.ToFloat64(m.PacketsForwarded), testutil.ToFloat64(m.BytesForwarded),
		testutil.ToFloat64(m.KeyframeRequests), testutil.ToFloat64(m.NACKs))
}

// TestPLI: a new subscriber gets a keyframe requested for it, and PLIs of
// several subscribers within the interval make one request.
func TestPLI(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	e := newEnv(t, func(c *sfu.Config) { c.KeyframeInterval = interval })
	pub := e.join("r", "pub", clientOpts{publish: true, recv: both})
	var subs []*client
	for i := range 3 {
		subs = append(subs, e.join("r", fmt.Sprintf("sub%d", i), clientOpts{recv: both}))
	}
	videos := make([]*recvTrack, len(subs))
	for i, s := range subs {
		eventually(t, 10*time.Second, s.m.Peer+" receives video", func() bool {
			for _, r := range s.live() {
				if r.remote.Kind() == webrtc.RTPCodecTypeVideo && r.packets() > 0 {
					videos[i] = r
					return true
				}
			}
			return false
		})
	}
	eventually(t, 3*time.Second, "the publisher is asked for a keyframe for its new subscribers", func() bool {
		return pub.plis.Load() >= 1
	})
	// The binds' request, and the one deferred to the interval's end,
	// are over.
	time.Sleep(2*interval + interval/2)
	before, requests, plis := pub.plis.Load(), testutil.ToFloat64(e.metrics.KeyframeRequests), testutil.ToFloat64(e.metrics.PLIs)
	for i, s := range subs {
		if err := s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(videos[i].remote.SSRC())}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 2*time.Second, "the SFU counts 3 PLIs", func() bool {
		return testutil.ToFloat64(e.metrics.PLIs)-plis == 3
	})
	eventually(t, interval/2, "the publisher gets a PLI", func() bool { return pub.plis.Load() > before })
	time.Sleep(interval / 4)
	if got := pub.plis.Load() - before; got != 1 {
		t.Errorf("3 subscribers' PLIs within %v made %d requests, want 1", interval, got)
	}
	if got := testutil.ToFloat64(e.metrics.KeyframeRequests) - requests; got != 1 {
		t.Errorf("keyframe requests counted %v, want 1", got)
	}
	// A PLI once the interval has passed gets through.
	time.Sleep(interval)
	if err := subs[0].pc.WriteRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{MediaSSRC: uint32(videos[0].remote.SSRC()), FIR: []rtcp.FIREntry{{SSRC: uint32(videos[0].remote.SSRC())}}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "a FIR after the interval reaches the publisher", func() bool {
		return pub.plis.Load()-before == 2
	})
}

// TestReceiveSelection: a receive-only participant publishes nothing and
// receives everything; Receive{Video: false} gets no video.
func TestReceiveSelection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	pub := e.join("r", "pub", clientOpts{publish: true, recv: both})
	watcher := e.join("r", "watcher", clientOpts{recv: both})
	listener := e.join("r", "listener", clientOpts{recv: routing.Receive{Audio: true}})
	eventually(t, 10*time.Second, "the watcher receives audio and video", func() bool {
		return len(watcher.live()) == 2 && watcher.live()[0].packets() > 0 && watcher.live()[1].packets() > 0
	})
	eventually(t, 10*time.Second, "the listener receives audio", func() bool {
		l := listener.live()
		return len(l) == 1 && l[0].packets() > 0
	})
	if k := listener.live()[0].remote.Kind(); k != webrtc.RTPCodecTypeAudio {
		t.Errorf("the listener receives %s", k)
	}
	for _, c := range []*client{watcher, listener} {
		if m := c.lastMsids(); len(m) != 1 || m[pub.live0StreamID(t, c)] != "pub" {
			t.Errorf("%s: msids %v, want only pub's stream", c.m.Peer, m)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(pub.live()); n != 0 {
		t.Errorf("the publisher receives %d tracks from receive-only peers", n)
	}
	if tr := gauge(e.metrics.Tracks); tr != 2 {
		t.Errorf("tracks gauge %v, want 2", tr)
	}
}

// live0StreamID is the stream ID c receives pub's media under.
func (c *client) live0StreamID(t *testing.T, sub *client) string {
	t.Helper()
	l := sub.live()
	if len(l) == 0 {
		t.Fatalf("%s receives nothing", sub.m.Peer)
	}
	return l[0].remote.StreamID()
}

// TestLeave: a leaving publisher's tracks end at the others, the next offer
// no longer sends them, and the room goes once empty.
func TestLeave(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.join("r", "a", clientOpts{publish: true, recv: both})
	b := e.join("r", "b", clientOpts{publish: true, recv: both})
	for _, c := range []*client{a, b} {
		eventually(t, 10*time.Second, c.m.Peer+" receives 2 tracks", func() bool { return len(c.live()) == 2 })
	}
	offers := a.offersReceived()
	b.leave()
	eventually(t, 5*time.Second, "b's tracks end at a", func() bool { return len(a.live()) == 0 })
	eventually(t, 5*time.Second, "a gets a new offer without b's stream", func() bool {
		return a.offersReceived() > offers && len(a.lastMsids()) == 0
	})
	if n := strings.Count(a.pc.RemoteDescription().SDP, "a=msid:"); n != 0 {
		t.Errorf("a's last offer still has %d msids", n)
	}
	eventually(t, 2*time.Second, "gauges follow", func() bool {
		return gauge(e.metrics.Participants) == 1 && gauge(e.metrics.Tracks) == 2 && gauge(e.metrics.Rooms) == 1
	})
	a.leave()
	eventually(t, 2*time.Second, "the room goes", func() bool {
		return gauge(e.metrics.Participants) == 0 && gauge(e.metrics.Tracks) == 0 && gauge(e.metrics.Rooms) == 0
	})
	// A participant that leaves starts afresh on its next SFU_GET_OFFER.
	e.sfu.Leave(a.m) // twice, and for one that never asked: no-ops
	e.sfu.Leave(routing.Member{Key: testKey, Room: "r", Peer: "nobody"})
}

// TestRenegotiationWhileOffering: requests and changes that arrive while
// an offer is outstanding produce one more offer once it is answered, and
// never two outstanding offers.
func TestRenegotiationWhileOffering(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.join("r", "a", clientOpts{recv: both, manual: true})
	first := <-a.offers
	a.offer() // SFU_GET_OFFER again before answering
	b := e.join("r", "b", clientOpts{publish: true, recv: both})
	eventually(t, 10*time.Second, "b publishes", func() bool { return gauge(e.metrics.Tracks) == 2 })
	select {
	case o := <-a.offers:
		t.Fatalf("a second offer while the first is outstanding: %v", o.Msids)
	case <-time.After(300 * time.Millisecond):
	}
	a.answer(first)
	var second = <-a.offers
	if len(second.Msids) != 1 {
		t.Errorf("the offer after the answer has msids %v, want b's stream", second.Msids)
	}
	a.answer(second)
	eventually(t, 10*time.Second, "a receives b", func() bool {
		l := a.live()
		return len(l) == 2 && l[0].packets() > 0 && l[1].packets() > 0
	})
	// A later SFU_GET_OFFER gets an offer even with nothing new.
	a.offer()
	select {
	case o := <-a.offers:
		a.answer(o)
	case <-time.After(5 * time.Second):
		t.Fatal("no offer for a later SFU_GET_OFFER")
	}
	_ = b
}

// TestErrors: what the methods refuse to their caller.
func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	m := routing.Member{Key: testKey, Room: "r", Peer: "x"}
	if err := e.sfu.Answer(t.Context(), m, protocolAnswer("garbage")); !isProtocol(err, "invalid-message") {
		t.Errorf("bad SDP: %v", err)
	}
	if err := e.sfu.Answer(t.Context(), m, protocolAnswer(minimalSDP)); !isProtocol(err, "room-error") {
		t.Errorf("answer before any offer: %v", err)
	}
	if err := e.sfu.Candidate(t.Context(), m, []byte(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}`)); !isProtocol(err, "room-error") {
		t.Errorf("candidate before any offer: %v", err)
	}
	for _, c := range []string{`[]`, `{"candidate":"candidate:nonsense"}`, `{"candidate":7}`} {
		if err := e.sfu.Candidate(t.Context(), m, []byte(c)); !isProtocol(err, "invalid-message") {
			t.Errorf("candidate %s: %v", c, err)
		}
	}
}

// TestCloseLeavesNothing: Close ends every goroutine of the SFU and its
// PeerConnections. Not parallel: it counts goroutines.
func TestCloseLeavesNothing(t *testing.T) {
	base := runtime.NumGoroutine()
	e := newEnv(t, nil)
	a := e.join("r", "a", clientOpts{publish: true, recv: both})
	b := e.join("r", "b", clientOpts{publish: true, recv: both})
	for _, c := range []*client{a, b} {
		eventually(t, 10*time.Second, c.m.Peer+" receives 2 tracks", func() bool { return len(c.live()) == 2 })
	}
	a.close()
	b.close()
	if err := e.sfu.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if g := gauge(e.metrics.Participants) + gauge(e.metrics.Tracks) + gauge(e.metrics.Rooms); g != 0 {
		t.Errorf("gauges sum to %v after Close", g)
	}
	if err := e.sfu.Offer(t.Context(), a.m, both); !isProtocol(err, "server-error") {
		t.Errorf("Offer after Close: %v", err)
	}
}
