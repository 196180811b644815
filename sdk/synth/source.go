//go:build !js

package synth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/skywasm/skywasm/internal/vp8enc"
	"github.com/skywasm/skywasm/protocol"
)

// Limits of Options.
const (
	maxDimension = 4096
	maxFrameRate = 120
)

// Options configures a Source. The zero value is a usable configuration:
// 320x240 video at 30 frames per second and audio, under a random stream
// id.
type Options struct {
	// StreamID is the msid stream id both tracks carry; random if empty.
	StreamID string
	// Width and Height are the video size in pixels, each at most 4096;
	// both default to 320x240 when zero.
	Width, Height int
	// FrameRate is the number of video frames per second, at most 120;
	// 30 when zero.
	FrameRate int
	// Video and Audio select the tracks; when both are false, both are made.
	Video, Audio bool
	// Label is written into the top-left corner of the picture, if not
	// empty, to tell bots apart on screen.
	Label string
}

// withDefaults returns o with its zero fields set to their defaults, or an
// error naming the first field that is out of range.
func (o Options) withDefaults() (Options, error) {
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = 320, 240
	}
	if o.FrameRate == 0 {
		o.FrameRate = 30
	}
	if !o.Video && !o.Audio {
		o.Video, o.Audio = true, true
	}
	if o.StreamID == "" {
		o.StreamID = "synth-" + protocol.RandomID(16)
	}
	switch {
	case o.Width < 1 || o.Width > maxDimension:
		return o, fmt.Errorf("synth: Width %d out of range 1..%d", o.Width, maxDimension)
	case o.Height < 1 || o.Height > maxDimension:
		return o, fmt.Errorf("synth: Height %d out of range 1..%d", o.Height, maxDimension)
	case o.FrameRate < 1 || o.FrameRate > maxFrameRate:
		return o, fmt.Errorf("synth: FrameRate %d out of range 1..%d", o.FrameRate, maxFrameRate)
	}
	return o, nil
}

// Source generates the media of one synthetic participant. Its tracks can
// be added to any number of PeerConnections; samples written while a track
// is bound to none are dropped, as pion does.
type Source struct {
	video, audio *webrtc.TrackLocalStaticSample
	frames       atomic.Uint64

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Start creates the tracks selected by opts and starts generating media on
// them, video at opts.FrameRate and audio every 20 ms. The caller owns the
// Source and must Close it to stop its goroutines.
func Start(opts Options) (*Source, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Source{stop: make(chan struct{})}
	var enc *vp8enc.Encoder
	if opts.Video {
		if enc, err = vp8enc.New(opts.Width, opts.Height); err != nil {
			return nil, fmt.Errorf("synth: failed to create the VP8 encoder: %w", err)
		}
		s.video, err = webrtc.NewTrackLocalStaticSample(
			webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			"video", opts.StreamID)
		if err != nil {
			return nil, fmt.Errorf("synth: failed to create the video track: %w", err)
		}
	}
	if opts.Audio {
		s.audio, err = webrtc.NewTrackLocalStaticSample(
			webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			"audio", opts.StreamID)
		if err != nil {
			return nil, fmt.Errorf("synth: failed to create the audio track: %w", err)
		}
	}
	if s.video != nil {
		p := newPattern(opts.Width, opts.Height, opts.Label)
		s.wg.Go(func() { s.runVideo(enc, p, opts.FrameRate) })
	}
	if s.audio != nil {
		s.wg.Go(s.runAudio)
	}
	return s, nil
}

// Tracks returns the source's tracks, each a *webrtc.TrackLocalStaticSample:
// the VP8 video track (id "video") first, then the Opus audio track (id
// "audio"), as selected by Options.
func (s *Source) Tracks() []webrtc.TrackLocal {
	var tracks []webrtc.TrackLocal
	if s.video != nil {
		tracks = append(tracks, s.video)
	}
	if s.audio != nil {
		tracks = append(tracks, s.audio)
	}
	return tracks
}

// Frames returns the number of video frames written to the video track so
// far, including those dropped because the track was not bound yet.
func (s *Source) Frames() uint64 { return s.frames.Load() }

// Close stops generating media and returns once the source's goroutines
// have ended. It may be called more than once, and concurrently.
func (s *Source) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

// runVideo draws, encodes and writes one frame per tick until Close.
func (s *Source) runVideo(enc *vp8enc.Encoder, p *pattern, fps int) {
	interval := time.Second / time.Duration(fps)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var buf []byte
	for n := uint64(0); ; n++ {
		var err error
		buf, err = enc.Encode(buf[:0], p.render(n))
		if err == nil {
			// A write fails only for a PeerConnection that is closing;
			// the others still got the frame, and the next one will do.
			_ = s.video.WriteSample(media.Sample{Data: buf, Duration: interval})
		}
		s.frames.Add(1)
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		}
	}
}

// runAudio writes a silent Opus packet every 20 ms until Close.
func (s *Source) runAudio() {
	ticker := time.NewTicker(silenceFrameDuration)
	defer ticker.Stop()
	for {
		// WriteSample copies the payload, so the packet can be shared.
		_ = s.audio.WriteSample(media.Sample{Data: silenceFrame[:], Duration: silenceFrameDuration})
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		}
	}
}
