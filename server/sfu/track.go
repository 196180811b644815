//go:build !js

package sfu

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
)

// Sizes of a track's shared packet buffer: about 4 s of 1 Mbit/s video,
// 5 s of audio, for NACKs and for the subscribers' send queues.
const (
	videoBufferSlots = 512
	audioBufferSlots = 256
)

// track is one track a participant publishes, with the one goroutine
// that reads it into its shared packet buffer and hands each packet to
// every subscriber's down-track.
type track struct {
	id       string
	streamID string
	kind     webrtc.RTPCodecType
	codec    webrtc.RTPCodecCapability
	pub      *participant
	remote   *webrtc.TrackRemote
	buf      *packetBuffer
	closed   atomic.Bool

	// downs is the down-tracks the forwarding loop hands packets to,
	// replaced whole (copy on write) under downMu.
	downMu  sync.Mutex
	downs   atomic.Pointer[[]*downTrack]
	bitrate atomic.Int64 // bits per second over the last second

	mu       sync.Mutex
	last     time.Time   // of the last keyframe request sent
	deferred *time.Timer // a new subscriber's request, waiting for the interval to pass
	firing   sync.WaitGroup
	ended    bool
}

func newTrack(p *participant, remote *webrtc.TrackRemote) *track {
	codec := remote.Codec().RTPCodecCapability
	codec.RTCPFeedback = nil
	size := audioBufferSlots
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		size = videoBufferSlots
	}
	return &track{
		id: protocol.RandomID(idLength), streamID: p.streamID, kind: remote.Kind(), codec: codec,
		pub: p, remote: remote, buf: newPacketBuffer(size),
	}
}

// addDown makes d receive the track's packets.
func (t *track) addDown(d *downTrack) {
	t.downMu.Lock()
	defer t.downMu.Unlock()
	var next []*downTrack
	if old := t.downs.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, d)
	t.downs.Store(&next)
}

// removeDown stops handing packets to d.
func (t *track) removeDown(d *downTrack) {
	t.downMu.Lock()
	defer t.downMu.Unlock()
	old := t.downs.Load()
	if old == nil {
		return
	}
	next := make([]*downTrack, 0, len(*old))
	for _, x := range *old {
		if x != d {
			next = append(next, x)
		}
	}
	t.downs.Store(&next)
}

// forward offers the track to the room, then reads its RTP until the
// publisher's PeerConnection ends it.
func (t *track) forward() {
	s := t.pub.s
	if !s.publish(t) {
		return
	}
	defer t.end()
	defer s.unpublish(t)
	var f forwarder
	buf := make([]byte, slotSize)
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.pub.log.Debug("track ended", "track", t.id, "err", err)
			}
			return
		}
		f.forward(t, buf[:n], time.Now())
	}
}

// forwarder is the state of a track's forwarding loop.
type forwarder struct {
	h         rtp.Header
	started   bool
	lastTS    uint32
	bits      int64
	windowEnd time.Time

	// The fan-out's scratch: what the loop sends with itself, and the
	// queues to hand to each worker.
	send    *sender
	pending [][]*sendQueue
}

// forward stores one packet in the shared buffer and hands it to every
// down-track. It allocates nothing.
func (f *forwarder) forward(t *track, pkt []byte, now time.Time) {
	m := t.pub.s.metrics
	n, err := f.h.Unmarshal(pkt)
	if err != nil {
		return
	}
	m.PacketsForwarded.Inc()
	m.BytesForwarded.Add(float64(len(pkt)))
	f.bits += int64(len(pkt)) * 8
	if now.After(f.windowEnd) {
		if !f.windowEnd.IsZero() {
			t.bitrate.Store(f.bits * int64(time.Second) / int64(now.Sub(f.windowEnd)+time.Second))
		}
		f.bits, f.windowEnd = 0, now.Add(time.Second)
	}
	p := pktInfo{seq: f.h.SequenceNumber}
	if p.slot = t.buf.put(p.seq, pkt); p.slot < 0 {
		return
	}
	if !f.started || f.h.Timestamp != f.lastTS {
		p.frameStart = true
		p.keyframe = isKeyframe(t.codec.MimeType, pkt[n:])
	}
	f.started, f.lastTS = true, f.h.Timestamp
	if downs := t.downs.Load(); downs != nil {
		f.fanOut(t, *downs, &p)
	}
}

// fanOut hands p to every down-track, and sends it: itself to a few
// subscribers, through the workers to more (see fanout.go).
func (f *forwarder) fanOut(t *track, downs []*downTrack, p *pktInfo) {
	s := t.pub.s
	if f.send == nil {
		f.send, f.pending = newSender(), make([][]*sendQueue, len(s.workers))
	}
	if len(downs) <= s.cfg.InlineFanOut {
		s.out.hold()
		for _, d := range downs {
			if d.push(p) && !f.send.drain(d.q, inlineBatches) {
				d.q.w.add(d.q)
			}
		}
		s.out.release()
		f.send.flush(s.metrics)
		return
	}
	for _, d := range downs {
		if d.push(p) {
			f.pending[d.q.w.i] = append(f.pending[d.q.w.i], d.q)
		}
	}
	for i, qs := range f.pending {
		if len(qs) > 0 {
			s.workers[i].add(qs...)
			clear(qs)
			f.pending[i] = qs[:0]
		}
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
