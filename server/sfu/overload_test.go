//go:build !js

package sfu_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
)

// TestAdmissionLimited: a join beyond the node's limits gets sfu-limited
// and the room's members go on receiving.
func TestAdmissionLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		adjust func(*sfu.Config)
	}{
		{"participants", func(c *sfu.Config) { c.MaxParticipants = 2 }},
		{"down-tracks", func(c *sfu.Config) { c.MaxDownTracks = 3 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.adjust)
			e.join("r", "pub", clientOpts{publish: true, recv: both})
			sub := e.join("r", "sub", clientOpts{recv: both})
			eventually(t, 10*time.Second, "sub receives 2 tracks", func() bool { return len(sub.live()) == 2 })
			err := e.sfu.Offer(t.Context(), routing.Member{Key: testKey, Room: "r", Peer: "late"}, both)
			if !isProtocol(err, protocol.ErrSFULimited) {
				t.Fatalf("a third member's Offer: %v, want sfu-limited", err)
			}
			if n := testutil.ToFloat64(e.metrics.AdmissionsRefused); n != 1 {
				t.Errorf("%v admissions refused, want 1", n)
			}
			before := sub.live()[0].packets()
			eventually(t, 5*time.Second, "sub goes on receiving", func() bool { return sub.live()[0].packets() > before+20 })
		})
	}
}

// TestNACKAnsweredFromSharedBuffer: a subscriber's NACK of packets it got
// brings them again, counted as retransmissions.
func TestNACKAnsweredFromSharedBuffer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.join("r", "pub", clientOpts{publish: true, recv: both})
	sub := e.join("r", "sub", clientOpts{recv: both})
	var video *recvTrack
	eventually(t, 10*time.Second, "sub receives video", func() bool {
		for _, r := range sub.live() {
			if r.remote.Kind() == webrtc.RTPCodecTypeVideo && r.packets() > 20 {
				video = r
				return true
			}
		}
		return false
	})
	video.mu.Lock()
	seq := video.lastSeq
	video.mu.Unlock()
	err := sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		MediaSSRC: uint32(video.remote.SSRC()),
		Nacks:     []rtcp.NackPair{{PacketID: seq - 5, LostPackets: 0x1f}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "6 retransmissions", func() bool {
		return testutil.ToFloat64(e.metrics.Retransmissions) >= 6
	})
	// The subscriber's SRTP drops them as replays, having had them: what
	// they carry is compared in TestNACKFromSharedBuffer.
}

// TestStalledSubscriber: a subscriber that stops reading raises neither
// loss nor the SFU's queues for the others, and receives again when it
// reads again: with the track sending itself, and through the workers.
func TestStalledSubscriber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inline int
	}{{"inline", 16}, {"workers", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stalledSubscriber(t, func(c *sfu.Config) { c.InlineFanOut = tc.inline })
		})
	}
}

func stalledSubscriber(t *testing.T, adjust func(*sfu.Config)) {
	e := newEnv(t, adjust)
	pub := e.join("r", "pub", clientOpts{publish: true, recv: both})
	var subs []*client
	for i := range 3 {
		subs = append(subs, e.join("r", fmt.Sprintf("sub%d", i), clientOpts{recv: both}))
	}
	videoOf := func(c *client) *recvTrack {
		for _, r := range c.live() {
			if r.remote.Kind() == webrtc.RTPCodecTypeVideo && r.packets() > 0 {
				return r
			}
		}
		return nil
	}
	for _, s := range subs {
		eventually(t, 10*time.Second, s.m.Peer+" receives video", func() bool { return videoOf(s) != nil })
	}
	stalled := videoOf(subs[0])
	stall := make(chan struct{})
	stalled.mu.Lock()
	stalled.stall = stall
	stalled.mu.Unlock()
	start := make([]int, len(subs))
	for i, s := range subs {
		start[i] = videoOf(s).packets()
	}
	sent := pub.videoSent.Load()
	time.Sleep(2 * time.Second)
	// What the publisher sent, less what may still be on its way; the
	// publisher's ticker runs late on a loaded machine, so this is no
	// fixed number.
	want := int(pub.videoSent.Load()-sent) * 9 / 10
	for i, s := range subs[1:] {
		r := videoOf(s)
		got := r.packets() - start[i+1]
		loss, _ := r.loss()
		t.Logf("%s: %d packets while sub0 stalled (want %d), loss %.2f%%", s.m.Peer, got, want, 100*loss)
		if got < want || want < 20 || loss > 0.01 {
			t.Errorf("%s got %d video packets in 2 s (want %d) with loss %.2f%% while another stalled", s.m.Peer, got, want, 100*loss)
		}
	}
	stalled.mu.Lock()
	stalled.stall = nil
	stalled.mu.Unlock()
	close(stall)
	before := stalled.packets()
	eventually(t, 5*time.Second, "the stalled subscriber receives again", func() bool { return stalled.packets() > before+100 })
}
