//go:build !js

package synth

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
	"golang.org/x/image/vp8"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    Options
		wantIDs []string
		wantErr string
	}{
		{name: "zero", opts: Options{}, wantIDs: []string{"video", "audio"}},
		{name: "both", opts: Options{Video: true, Audio: true, StreamID: "bot"}, wantIDs: []string{"video", "audio"}},
		{name: "video only", opts: Options{Video: true, Width: 64, Height: 48, FrameRate: 5}, wantIDs: []string{"video"}},
		{name: "audio only", opts: Options{Audio: true}, wantIDs: []string{"audio"}},
		{name: "odd size", opts: Options{Video: true, Width: 33, Height: 17, Label: "odd"}, wantIDs: []string{"video"}},
		{name: "negative width", opts: Options{Width: -1, Height: 10}, wantErr: "Width"},
		{name: "height only", opts: Options{Height: 10}, wantErr: "Width"},
		{name: "huge height", opts: Options{Width: 10, Height: 5000}, wantErr: "Height"},
		{name: "frame rate", opts: Options{FrameRate: 1000}, wantErr: "FrameRate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Start(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Start: %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tracks := s.Tracks()
			var ids []string
			for _, tr := range tracks {
				ids = append(ids, tr.ID())
				if _, ok := tr.(*webrtc.TrackLocalStaticSample); !ok {
					t.Errorf("track %s is a %T", tr.ID(), tr)
				}
				if tr.StreamID() != tracks[0].StreamID() || tr.StreamID() == "" {
					t.Errorf("track %s has stream id %q, first track %q", tr.ID(), tr.StreamID(), tracks[0].StreamID())
				}
				if tc.opts.StreamID != "" && tr.StreamID() != tc.opts.StreamID {
					t.Errorf("track %s has stream id %q, want %q", tr.ID(), tr.StreamID(), tc.opts.StreamID)
				}
				want := map[string]string{"video": webrtc.MimeTypeVP8, "audio": webrtc.MimeTypeOpus}[tr.ID()]
				if got := tr.(*webrtc.TrackLocalStaticSample).Codec().MimeType; got != want {
					t.Errorf("track %s has codec %s, want %s", tr.ID(), got, want)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.wantIDs) {
				t.Errorf("tracks %v, want %v", ids, tc.wantIDs)
			}
		})
	}
}

// TestCloseLeavesNoGoroutines runs alone (the parallel tests wait), so that
// any goroutine left after Close is the source's.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := Start(Options{FrameRate: 100})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Frames() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d frames after 10 s", s.Frames())
		}
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Close() // concurrently with the Close below
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	n := s.Frames()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if s.Frames() != n {
		t.Errorf("frames went on after Close: %d, then %d", n, s.Frames())
	}
}

// loopbackAPI returns a pion API that only uses IPv4 UDP on the loopback
// interface, so that two PeerConnections in one process can connect without
// any network.
func loopbackAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// connect negotiates from offerer to answerer, with complete candidate
// gathering instead of trickle.
func connect(t *testing.T, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	exchange := func(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) *webrtc.SessionDescription {
		t.Helper()
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(desc); err != nil {
			t.Fatal(err)
		}
		<-gathered
		return pc.LocalDescription()
	}
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := answerer.SetRemoteDescription(*exchange(offerer, offer)); err != nil {
		t.Fatal(err)
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := offerer.SetRemoteDescription(*exchange(answerer, answer)); err != nil {
		t.Fatal(err)
	}
}

// received is one unit of media the receiving side got: a reassembled and
// decoded video frame, or an audio packet.
type received struct {
	kind     string
	streamID string
	frame    *image.YCbCr
	payload  []byte
	err      error
}

// TestLoopback sends a source's tracks from one PeerConnection to another
// over loopback and checks that the video frames decode to the test
// pattern and that the audio packets arrive intact.
func TestLoopback(t *testing.T) {
	src, err := Start(Options{Label: "loopback", StreamID: "loopback-bot"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	api := loopbackAPI()
	sender, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.GracefulClose()
	receiver, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer receiver.GracefulClose()

	for _, tr := range src.Tracks() {
		if _, err := sender.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
	}

	results := make(chan received)
	done := make(chan struct{})
	defer close(done) // runs before the GracefulCloses, which end the readers
	send := func(r received) {
		select {
		case results <- r:
		case <-done:
		}
	}
	receiver.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		switch tr.Kind() {
		case webrtc.RTPCodecTypeVideo:
			readVideo(tr, send)
		case webrtc.RTPCodecTypeAudio:
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				send(received{kind: tr.ID(), streamID: tr.StreamID(), payload: p.Payload})
			}
		}
	})
	connect(t, sender, receiver)

	const wantFrames, wantPackets = 10, 25
	frames, packets, compared := 0, 0, 0
	timeout := time.After(30 * time.Second)
	for frames < wantFrames || packets < wantPackets {
		var r received
		select {
		case r = <-results:
		case <-timeout:
			t.Fatalf("after 30 s: %d video frames and %d audio packets, want %d and %d", frames, packets, wantFrames, wantPackets)
		}
		if r.err != nil {
			t.Fatalf("%s: %v", r.kind, r.err)
		}
		if r.streamID != "loopback-bot" {
			t.Errorf("%s track has stream id %q", r.kind, r.streamID)
		}
		switch r.kind {
		case "video":
			frames++
			if b := r.frame.Rect.Size(); b != image.Pt(320, 240) {
				t.Fatalf("frame size %v", b)
			}
			if compared < 3 {
				compared++
				checkPattern(t, src, r.frame)
			}
		case "audio":
			packets++
			if !bytes.Equal(r.payload, silenceFrame[:]) {
				t.Fatalf("audio payload %x, want %x", r.payload, silenceFrame)
			}
		default:
			t.Fatalf("unexpected track id %q", r.kind)
		}
	}
}

// readVideo reassembles VP8 frames from tr's packets (RFC 7741: a frame
// starts at a packet with S set and partition 0, and ends at the marker
// bit), decodes each with golang.org/x/image/vp8 and sends the result.
// Frames with a gap in sequence numbers are skipped.
func readVideo(tr *webrtc.TrackRemote, send func(received)) {
	var (
		depacketizer codecs.VP8Packet
		frame        []byte
		inFrame      bool
		next         uint16
	)
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		payload, err := depacketizer.Unmarshal(p.Payload)
		if err != nil {
			send(received{kind: tr.ID(), err: fmt.Errorf("depacketize: %w", err)})
			continue
		}
		switch {
		case depacketizer.S == 1 && depacketizer.PID == 0:
			frame, inFrame = frame[:0], true
		case !inFrame || p.SequenceNumber != next:
			inFrame = false
			continue
		}
		next = p.SequenceNumber + 1
		frame = append(frame, payload...)
		if !p.Marker {
			continue
		}
		inFrame = false
		d := vp8.NewDecoder()
		d.Init(bytes.NewReader(frame), len(frame))
		if _, err := d.DecodeFrameHeader(); err != nil {
			send(received{kind: tr.ID(), err: fmt.Errorf("decode frame header: %w", err)})
			continue
		}
		img, err := d.DecodeFrame()
		if err != nil {
			err = fmt.Errorf("decode frame: %w", err)
		}
		send(received{kind: tr.ID(), streamID: tr.StreamID(), frame: img, err: err})
	}
}

// checkPattern checks that got is one of the frames src has drawn: the
// pattern depends on the frame number alone, so it redraws each frame sent
// so far and takes the closest.
func checkPattern(t *testing.T, src *Source, got *image.YCbCr) {
	t.Helper()
	p := newPattern(320, 240, "loopback")
	best, bestN := 0.0, uint64(0)
	for n := range src.Frames() + 1 {
		want := p.render(n)
		if v := lumaPSNR(want, got); v > best {
			best, bestN = v, n
		}
	}
	if best < 35 {
		t.Errorf("decoded frame matches no frame drawn: best luma PSNR %.1f dB (frame %d)", best, bestN)
	}
	t.Logf("decoded frame is frame %d at %.1f dB", bestN, best)
}

func lumaPSNR(a, b *image.YCbCr) float64 {
	var sum float64
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := range h {
		for x := range w {
			d := float64(a.Y[y*a.YStride+x]) - float64(b.Y[y*b.YStride+x])
			sum += d * d
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(w*h)/sum)
}
