//go:build !js

package sfu

import (
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Sizes of a subscriber's sending state.
const (
	// sendQueueSize is how many packets, of every track it receives, may
	// wait for a subscriber's send loop: about 1 s of 1 Mbit/s video and
	// its audio.
	sendQueueSize = 256
	// frameHeadroom is the room a video frame must find in the send
	// queue to be queued at all: a frame is sent whole or not at all.
	frameHeadroom = 32
	// seqMapSize is how many recent sequence numbers a down-track can
	// map back to the publisher's, for NACKs; a power of two.
	seqMapSize = 1024
)

// pktInfo is what a track's forwarding loop learned of one packet, for
// every down-track to decide on without parsing it again.
type pktInfo struct {
	seq        uint16
	slot       int
	frameStart bool // the first packet of a frame (a new timestamp)
	keyframe   bool // the first packet of a keyframe
}

// downTrack is one published track as one subscriber receives it: the
// webrtc.TrackLocal bound into the subscriber's PeerConnection. It keeps
// the writer pion gives it at Bind and writes the shared buffer's packets
// with its own SSRC, payload type and sequence numbers, from the
// subscriber's send queue (see fanout.go for who drains it). When that queue is full it drops whole frames
// and, for video, resumes only at a keyframe it has asked for.
//
// Simulcast would enter here: a down-track would pick, per keyframe, the
// layer (the track) it takes packets from, as it now pauses and resumes
// its one source on congestion.
type downTrack struct {
	t    *track
	q    *sendQueue
	id   string
	slot *outSlot // the m-line it is sent on; owned by the participant's run

	// Set by Bind before bound; read by the send loop after it.
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
	bound  atomic.Bool
	paused atomic.Bool // by congestion: video is not forwarded

	// Owned by the track's forwarding loop.
	started    bool
	dropping   bool   // waiting for a keyframe
	lastIn     uint16 // the newest publisher sequence number seen
	offset     uint16 // publisher's minus subscriber's sequence numbers
	hasDrop    bool
	lastDropIn uint16

	// seqMap maps a subscriber's sequence number back to the publisher's:
	// valid bit 32, subscriber's in bits 16-31, publisher's in 0-15.
	seqMap [seqMapSize]atomic.Uint64
}

func newDownTrack(t *track, q *sendQueue) *downTrack {
	return &downTrack{t: t, q: q, id: t.id}
}

// Bind implements webrtc.TrackLocal.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := d.t.codec
	var codec webrtc.RTPCodecParameters
	found := false
	for _, c := range ctx.CodecParameters() {
		if equalCodec(c.RTPCodecCapability, want) {
			codec, found = c, true
			break
		}
	}
	if !found {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	d.ssrc, d.pt, d.writer = uint32(ctx.SSRC()), uint8(codec.PayloadType), ctx.WriteStream()
	d.bound.Store(true)
	d.t.keyframeForNewSubscriber()
	return codec, nil
}

// equalCodec matches a negotiated codec with the published one: same
// MIME type (case-insensitive) and clock rate, and for codecs with
// profiles (H.264) the same fmtp line.
func equalCodec(a, b webrtc.RTPCodecCapability) bool {
	if !equalFold(a.MimeType, b.MimeType) || a.ClockRate != b.ClockRate {
		return false
	}
	if equalFold(a.MimeType, webrtc.MimeTypeH264) {
		return a.SDPFmtpLine == b.SDPFmtpLine
	}
	return true
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(false)
	return nil
}

// ID implements webrtc.TrackLocal.
func (d *downTrack) ID() string { return d.t.id }

// RID implements webrtc.TrackLocal.
func (d *downTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (d *downTrack) StreamID() string { return d.t.streamID }

// Kind implements webrtc.TrackLocal.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.t.kind }

// push queues one packet of the track for the subscriber, or drops it.
// It runs on the track's forwarding loop and never blocks. It reports
// whether the subscriber's queue was idle: the caller must then drain it
// or hand it to its worker.
func (d *downTrack) push(p *pktInfo) (schedule bool) {
	if !d.bound.Load() {
		return false
	}
	video := d.t.kind == webrtc.RTPCodecTypeVideo
	if !d.started {
		d.started, d.lastIn = true, p.seq-1
		d.dropping = video
	}
	if diff := int16(p.seq - d.lastIn); diff <= 0 {
		// Late: its number on the subscriber's side is known unless a
		// drop came between.
		if !d.hasDrop || int16(p.seq-d.lastDropIn) > 0 {
			_, schedule = d.q.push(sendItem{d: d, slot: int32(p.slot), seq: p.seq, out: p.seq - d.offset})
		}
		return schedule
	}
	d.lastIn = p.seq
	m := d.t.pub.s.metrics
	if video {
		switch {
		case d.q.shed.Load():
			d.drop(p)
			m.DropsOverload.Inc()
			d.dropping = true
			return false
		case d.paused.Load():
			d.drop(p)
			m.DropsCongestion.Inc()
			d.dropping = true
			return false
		case d.dropping && !(p.frameStart && p.keyframe):
			d.drop(p)
			m.DropsKeyframeWait.Inc()
			return false
		case p.frameStart && d.q.free() < frameHeadroom:
			d.drop(p)
			m.DropsQueueFull.Inc()
			d.q.overflowed.Store(true)
			d.dropping = true
			d.t.keyframeForNewSubscriber()
			return false
		}
		d.dropping = false
	}
	ok, schedule := d.q.push(sendItem{d: d, slot: int32(p.slot), seq: p.seq, out: p.seq - d.offset})
	if !ok {
		d.drop(p)
		m.DropsQueueFull.Inc()
		d.q.overflowed.Store(true)
		if video {
			d.dropping = true
			d.t.keyframeForNewSubscriber()
		}
	}
	return schedule
}

// drop closes the gap p leaves in the subscriber's sequence numbers.
func (d *downTrack) drop(p *pktInfo) {
	d.offset++
	d.hasDrop, d.lastDropIn = true, p.seq
}

// send writes one queued packet to the subscriber. It runs on the
// queue's drainer, with h its scratch header, and reports whether the
// packet was written.
func (d *downTrack) send(h *rtp.Header, it *sendItem) bool {
	if !d.bound.Load() {
		return false
	}
	buf := d.t.buf
	pkt, ok := buf.acquire(int(it.slot), it.seq)
	if !ok {
		d.t.pub.s.metrics.DropsEvicted.Inc()
		return false
	}
	n, err := h.Unmarshal(pkt)
	if err == nil {
		h.SSRC, h.PayloadType, h.SequenceNumber = d.ssrc, d.pt, it.out
		// The publisher's extension IDs mean nothing to the subscriber;
		// pion's interceptors add the subscriber's own (TWCC).
		h.Extension, h.ExtensionProfile, h.Extensions = false, 0, h.Extensions[:0]
		_, err = d.writer.WriteRTP(h, pkt[n:])
	}
	buf.release(int(it.slot))
	if !it.rtx {
		d.seqMap[it.out%seqMapSize].Store(1<<32 | uint64(it.out)<<16 | uint64(it.seq))
	}
	return err == nil
}

// nack queues the retransmission of the subscriber's sequence number
// out, if it is still mapped and in the shared buffer, for the
// subscriber's worker to send. It reports whether it was queued.
func (d *downTrack) nack(out uint16) bool {
	v := d.seqMap[out%seqMapSize].Load()
	if v>>32 == 0 || uint16(v>>16) != out {
		return false
	}
	seq := uint16(v)
	ok, schedule := d.q.push(sendItem{d: d, slot: int32(d.t.buf.slot(seq)), seq: seq, out: out, rtx: true})
	if schedule {
		d.q.w.add(d.q)
	}
	return ok
}
