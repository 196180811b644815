//go:build !js

package sfu

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
)

// track is one track a participant publishes, with the one goroutine
// that forwards it to every subscriber.
type track struct {
	id       string
	streamID string
	kind     webrtc.RTPCodecType
	pub      *participant
	remote   *webrtc.TrackRemote
	local    *webrtc.TrackLocalStaticRTP
	fanout   *fanout // local, as subscribers get it
	closed   atomic.Bool

	mu       sync.Mutex
	last     time.Time   // of the last keyframe request sent
	deferred *time.Timer // a new subscriber's request, waiting for the interval to pass
	firing   sync.WaitGroup
	ended    bool
}

func newTrack(p *participant, remote *webrtc.TrackRemote) (*track, error) {
	t := &track{id: protocol.RandomID(idLength), streamID: p.streamID, kind: remote.Kind(), pub: p, remote: remote}
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, t.id, t.streamID)
	if err != nil {
		return nil, fmt.Errorf("failed to create the local track: %w", err)
	}
	t.local, t.fanout = local, &fanout{local, t}
	return t, nil
}

// forward offers the track to the room, then copies its RTP to the local
// track until the publisher's PeerConnection ends it. The buffer is
// allocated once; TrackLocalStaticRTP writes each packet to every bound
// subscriber in turn, so there is no goroutine per subscriber or packet.
func (t *track) forward() {
	s := t.pub.s
	if !s.publish(t) {
		return
	}
	defer t.end()
	defer s.unpublish(t)
	packets, bytes := s.metrics.PacketsForwarded, s.metrics.BytesForwarded
	buf := make([]byte, 1500)
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.pub.log.Debug("track ended", "track", t.id, "err", err)
			}
			return
		}
		packets.Inc()
		bytes.Add(float64(n))
		// An error names a subscriber whose connection is closing; the
		// others got the packet, and the closing one is being removed.
		_, _ = t.local.Write(buf[:n])
	}
}

// requestKeyframe asks the publisher for a keyframe unless one was asked
// for within the interval: the keyframe then on its way serves every
// subscriber that lost the picture since.
func (t *track) requestKeyframe() {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	t.mu.Lock()
	due := !t.ended && time.Since(t.last) >= t.pub.s.cfg.KeyframeInterval
	if due {
		t.last = time.Now()
	}
	t.mu.Unlock()
	if due {
		t.sendPLI()
	}
}

// keyframeForNewSubscriber asks for a keyframe for a subscriber just
// bound. Unlike a PLI, it is never dropped: within the interval it is
// sent when the interval ends, since the keyframe already asked for may
// have gone out before this subscriber was there to get it.
func (t *track) keyframeForNewSubscriber() {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	t.mu.Lock()
	if t.ended || t.deferred != nil {
		t.mu.Unlock()
		return
	}
	wait := t.pub.s.cfg.KeyframeInterval - time.Since(t.last)
	if wait <= 0 {
		t.last = time.Now()
		t.mu.Unlock()
		t.sendPLI()
		return
	}
	t.firing.Add(1)
	t.deferred = time.AfterFunc(wait, func() {
		defer t.firing.Done()
		t.mu.Lock()
		t.deferred = nil
		t.mu.Unlock()
		t.requestKeyframe()
	})
	t.mu.Unlock()
}

func (t *track) sendPLI() {
	s := t.pub.s
	err := t.pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.remote.SSRC())}})
	if err != nil {
		t.pub.log.Debug("keyframe request not sent", "track", t.id, "err", err)
		return
	}
	s.metrics.KeyframeRequests.Inc()
}

// end stops a deferred keyframe request and waits for one that has begun.
func (t *track) end() {
	t.mu.Lock()
	t.ended = true
	if t.deferred != nil && t.deferred.Stop() {
		t.deferred = nil
		t.firing.Done()
	}
	t.mu.Unlock()
	t.firing.Wait()
}

// fanout is the track as subscribers' PeerConnections see it: binding it
// to one more subscriber asks the publisher for a keyframe, so that the
// new subscriber's picture starts promptly.
type fanout struct {
	*webrtc.TrackLocalStaticRTP
	t *track
}

// Bind implements webrtc.TrackLocal.
func (f *fanout) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := f.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		f.t.keyframeForNewSubscriber()
	}
	return codec, err
}
