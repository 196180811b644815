//go:build !js

package sdk_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/sdk"
)

// rtpSource writes numbered RTP on a video and an audio track, every
// packet's second payload byte its mark, from sequence number first.
type rtpSource struct {
	stream *sdk.MediaStream
	stop   chan struct{}
	done   sync.WaitGroup
}

func startRTPSource(t *testing.T, id string, mark byte, first uint16) *rtpSource {
	t.Helper()
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v-"+id, id)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a-"+id, id)
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSource{stream: sdk.NewMediaStream(video, audio), stop: make(chan struct{})}
	s.done.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		// Every frame a one-packet VP8 keyframe: S=1, partition 0, and
		// the frame tag's P bit (bit 0 of the mark) clear.
		vp := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: first, Timestamp: uint32(first) * 1000, Marker: true},
			Payload: make([]byte, 500)}
		vp.Payload[0], vp.Payload[1] = 0x10, mark
		ap := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: first}, Payload: []byte{0xf8, 0xff, 0xfe}}
		for n := 0; ; n++ {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			_ = video.WriteRTP(vp)
			vp.SequenceNumber++
			vp.Timestamp += 900
			if n%2 == 0 {
				_ = audio.WriteRTP(ap)
				ap.SequenceNumber++
				ap.Timestamp += 960
			}
		}
	})
	t.Cleanup(s.close)
	return s
}

func (s *rtpSource) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.done.Wait()
}

// videoLog is what a subscriber received of one video track.
type videoLog struct {
	mu   sync.Mutex
	pkts []rtp.Header
	mark []byte
}

func (l *videoLog) read(tr *webrtc.TrackRemote) {
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(p.Payload) < 2 {
			continue
		}
		l.mu.Lock()
		l.pkts, l.mark = append(l.pkts, p.Header), append(l.mark, p.Payload[1])
		l.mu.Unlock()
	}
}

// count returns how many packets of mark came.
func (l *videoLog) count(mark byte) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.mark {
		if m == mark {
			n++
		}
	}
	return n
}

// TestSFURoomReplaceStreamInPlace: a native publisher's ReplaceStream in an
// SFU room swaps its tracks in place, as a browser's does: no new offer,
// no new stream at the subscriber, and the new source's packets arrive on
// the same track numbered on from the old one's, though the new source
// starts its own numbering 29000 behind (the SFU's SRTP replay check would
// drop those packets as old ones).
func TestSFURoomReplaceStreamInPlace(t *testing.T) {
	const markA, markB = 0x02, 0x04
	e := newEnv(t)
	a := startRTPSource(t, "a", markA, 30000)
	pub := join(t, e.peer(sdk.PeerOptions{ID: "pub"}), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU, Stream: a.stream})
	sub := join(t, e.peer(sdk.PeerOptions{ID: "sub"}), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU})
	s := recv(t, sub.streams, "sub's stream event")
	var log videoLog
	deadline := time.Now().Add(wait)
	for len(s.RemoteTracks()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var ssrc webrtc.SSRC
	for _, tr := range s.RemoteTracks() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			ssrc = tr.SSRC()
			go log.read(tr)
		} else {
			go func() {
				for {
					if _, _, err := tr.ReadRTP(); err != nil {
						return
					}
				}
			}()
		}
	}
	eventuallySDK(t, "sub receives 50 packets of source A", func() bool { return log.count(markA) >= 50 })

	b := startRTPSource(t, "b", markB, 1000)
	if err := pub.room.ReplaceStream(b.stream); err != nil {
		t.Fatal(err)
	}
	eventuallySDK(t, "sub receives 50 packets of source B", func() bool { return log.count(markB) >= 50 })
	a.close()

	select {
	case s := <-sub.streams:
		t.Fatalf("a new stream %s at sub after an in-place replace", s.ID())
	default:
	}
	if got := s.RemoteTracks(); len(got) != 2 {
		t.Fatalf("sub's stream has %d tracks", len(got))
	}
	for _, tr := range s.RemoteTracks() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && tr.SSRC() != ssrc {
			t.Errorf("the video's SSRC went from %d to %d", ssrc, tr.SSRC())
		}
	}
	// Where A ends and B begins, the numbers go on: no gap, no step back.
	log.mu.Lock()
	defer log.mu.Unlock()
	switched := false
	for i := 1; i < len(log.pkts); i++ {
		prev, cur := log.pkts[i-1], log.pkts[i]
		if log.mark[i-1] != markA || log.mark[i] != markB {
			continue
		}
		switched = true
		if d := cur.SequenceNumber - prev.SequenceNumber; d != 1 {
			t.Errorf("at the switch the sequence number went from %d to %d", prev.SequenceNumber, cur.SequenceNumber)
		}
		if d := int32(cur.Timestamp - prev.Timestamp); d <= 0 || d > 90000 {
			t.Errorf("at the switch the timestamp went from %d to %d", prev.Timestamp, cur.Timestamp)
		}
		t.Logf("switch: sequence number %d → %d, timestamp %d → %d", prev.SequenceNumber, cur.SequenceNumber, prev.Timestamp, cur.Timestamp)
	}
	if !switched {
		t.Error("no packet of B came right after one of A")
	}
	missing := 0
	for i := 1; i < len(log.pkts); i++ {
		if d := int16(log.pkts[i].SequenceNumber - log.pkts[i-1].SequenceNumber); d > 1 {
			missing += int(d) - 1
		}
	}
	t.Logf("%d video packets received, %d missing", len(log.pkts), missing)
	if missing > len(log.pkts)/100 {
		t.Errorf("%d of %d video packets missing", missing, len(log.pkts))
	}
}

func eventuallySDK(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
