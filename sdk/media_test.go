//go:build !js

package sdk_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
	"github.com/skywasm/skywasm/sdk/synth"
)

// source starts a synthetic stream, stopped at cleanup.
func source(t *testing.T, streamID string) *sdk.MediaStream {
	t.Helper()
	src, err := synth.Start(synth.Options{StreamID: streamID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return sdk.NewMediaStream(src.Tracks()...)
}

// countRTP reads every track of s until it ends, counting packets per
// kind.
func countRTP(s *sdk.MediaStream) (video, audio *atomic.Int64) {
	video, audio = new(atomic.Int64), new(atomic.Int64)
	for _, tr := range s.RemoteTracks() {
		n := audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			n = video
		}
		go func() {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				n.Add(1)
			}
		}()
	}
	return video, audio
}

// waitPackets waits until both counters reach n.
func waitPackets(t *testing.T, who string, video, audio *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for video.Load() < n || audio.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d video and %d audio packets, want %d of each", who, video.Load(), audio.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call places a call from a to b with streams, b answering, and returns
// both ends and the streams each received.
func call(t *testing.T, a, b *sdk.Peer, aStream, bStream *sdk.MediaStream, opts *sdk.CallOptions) (near, far *sdk.MediaConnection, nearGot, farGot chan *sdk.MediaStream) {
	t.Helper()
	calls := make(chan *sdk.MediaConnection, 1)
	nearGot, farGot = make(chan *sdk.MediaStream, 4), make(chan *sdk.MediaStream, 4)
	b.OnCall(func(mc *sdk.MediaConnection) {
		mc.OnStream(func(s *sdk.MediaStream) { farGot <- s })
		if err := mc.Answer(bStream, nil); err != nil {
			t.Error(err)
		}
		calls <- mc
	})
	near, err := a.Call(b.ID(), aStream, opts)
	if err != nil {
		t.Fatal(err)
	}
	near.OnStream(func(s *sdk.MediaStream) { nearGot <- s })
	return near, recv(t, calls, "the call event"), nearGot, farGot
}

func TestMediaBothWays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	near, far, nearGot, farGot := call(t, a, b, source(t, "from-a"), source(t, "from-b"),
		&sdk.CallOptions{Metadata: map[string]string{"topic": "standup"}})
	if string(far.Metadata()) != `{"topic":"standup"}` || far.RemoteID() != a.ID() || !strings.HasPrefix(near.ID(), "mc_") || far.ID() != near.ID() {
		t.Errorf("far side: metadata %s, remote %q, ID %q / %q", far.Metadata(), far.RemoteID(), far.ID(), near.ID())
	}
	atFar := recv(t, farGot, "the callee's stream event")
	atNear := recv(t, nearGot, "the caller's stream event")
	if atFar.ID() != "from-a" || atNear.ID() != "from-b" {
		t.Errorf("streams %q at the callee, %q at the caller", atFar.ID(), atNear.ID())
	}
	for who, s := range map[string]*sdk.MediaStream{"callee": atFar, "caller": atNear} {
		if n := len(s.RemoteTracks()); n != 2 {
			t.Errorf("the %s's stream has %d tracks, want audio and video", who, n)
		}
	}
	v1, a1 := countRTP(atFar)
	v2, a2 := countRTP(atNear)
	waitPackets(t, "the callee", v1, a1, 25)
	waitPackets(t, "the caller", v2, a2, 25)
	if !near.Open() || !far.Open() {
		t.Errorf("open: caller %v, callee %v", near.Open(), far.Open())
	}
	select {
	case s := <-nearGot:
		t.Errorf("a second stream event for %q", s.ID())
	case s := <-farGot:
		t.Errorf("a second stream event for %q", s.ID())
	case <-time.After(200 * time.Millisecond):
	}

	nearClosed, farClosed := make(chan struct{}), make(chan struct{})
	near.OnClose(func() { close(nearClosed) })
	far.OnClose(func() { close(farClosed) })
	far.Close(false)
	within(t, farClosed, time.Second, "the callee's close")
	within(t, nearClosed, time.Second, "the caller's close")
}

func TestMediaReceiveOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	_, _, nearGot, farGot := call(t, a, b, nil, source(t, "only-b"), nil)
	s := recv(t, nearGot, "the caller's stream")
	v, au := countRTP(s)
	waitPackets(t, "the receive-only caller", v, au, 10)
	select {
	case s := <-farGot:
		t.Errorf("the callee got a stream %q from a caller that sends none", s.ID())
	case <-time.After(300 * time.Millisecond):
	}
}

func TestMediaNoVideoReceive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	_, _, nearGot, farGot := call(t, a, b, source(t, "a"), source(t, "b"), &sdk.CallOptions{NoVideoReceive: true})
	atFar := recv(t, farGot, "the callee's stream")
	v, au := countRTP(atFar)
	waitPackets(t, "the callee", v, au, 10)
	atNear := recv(t, nearGot, "the caller's stream")
	v2, a2 := countRTP(atNear)
	time.Sleep(500 * time.Millisecond)
	if v2.Load() != 0 || a2.Load() == 0 {
		t.Errorf("the caller that receives no video got %d video and %d audio packets", v2.Load(), a2.Load())
	}
}

func TestMediaCodecChoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	if _, err := a.Call(b.ID(), nil, &sdk.CallOptions{VideoCodec: "Theora"}); !errors.Is(err, sdk.ErrUnsupportedCodec) {
		t.Errorf("an unknown codec: %v", err)
	}
	_, far, _, farGot := call(t, a, b, source(t, "a"), nil, &sdk.CallOptions{VideoCodec: "VP8", AudioCodec: "opus"})
	recv(t, farGot, "the stream")
	sdp := far.PeerConnection().RemoteDescription().SDP
	for _, absent := range []string{"VP9", "H264", "AV1", "PCMU"} {
		if strings.Contains(sdp, absent) {
			t.Errorf("the offer still lists %s", absent)
		}
	}
}

func TestMediaReplaceStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	audioOnly, err := synth.Start(synth.Options{StreamID: "first", Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	defer audioOnly.Close()
	near, _, _, farGot := call(t, a, b, sdk.NewMediaStream(audioOnly.Tracks()...), nil, nil)
	first := recv(t, farGot, "the first stream")
	if n := len(first.RemoteTracks()); n != 1 {
		t.Fatalf("first stream: %d tracks", n)
	}
	// Adding video renegotiates on the same connection.
	if err := near.ReplaceStream(source(t, "second")); err != nil {
		t.Fatal(err)
	}
	// Natively a replacement renegotiates, and the far side gets the new
	// stream whole (in browsers, replaceTrack keeps a kind's track).
	second := recv(t, farGot, "the replacing stream")
	v, au := countRTP(second)
	waitPackets(t, "the callee after the replacement", v, au, 10)
}

// TestMediaICEFailureCloses: the far side goes silent without a word
// through signaling or DTLS (its network is cut); with ICE restarts off
// (SkyWay's behaviour), ICE fails on this side and the call closes.
func TestMediaICEFailureCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	api := loopbackAPI(t, sdktest.ShortICETimeouts)
	farAPI, hole := blackholedAPI(t)
	a := e.peer(sdk.PeerOptions{API: api, NoICERestart: true})
	b := e.peer(sdk.PeerOptions{API: farAPI, NoICERestart: true})
	near, _, nearGot, _ := call(t, a, b, nil, source(t, "b"), nil)
	recv(t, nearGot, "the stream")
	closed := make(chan struct{})
	near.OnClose(func() { close(closed) })
	hole.Freeze()
	d := within(t, closed, 5*time.Second, "close after ICE failed")
	t.Logf("closed %v after the far side's network was cut", d)
}
