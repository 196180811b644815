//go:build !js

package sdk

import (
	"context"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// In an SFU room a native peer swaps its tracks in place, as a browser's
// replaceTrack does: the sender, its SSRC and the SDP stay, so the room
// sees no renegotiation and the SFU forwards the new source as the same
// track. pion's ReplaceTrack alone would not do: each TrackLocal numbers
// its own packets, and the SFU's SRTP replay check would drop those of a
// new track whose sequence numbers start behind the old one's. So every
// track this peer sends to the SFU goes through a sendTrack, which
// renumbers its packets to follow the last ones the sender sent.

// sfuSendStream returns s with each track wrapped in a sendTrack of its
// own sender.
func sfuSendStream(s *MediaStream) *MediaStream {
	if s == nil {
		return nil
	}
	out := &MediaStream{id: s.id, peerID: s.peerID}
	for _, t := range s.local {
		out.local = append(out.local, &sendTrack{TrackLocal: t, c: &continuity{}})
	}
	return out
}

// sfuReplaceStream puts s's tracks on pc, in place where a sender of the
// kind is already sending, and says whether that needs a new offer (a
// kind added or removed).
func sfuReplaceStream(_ context.Context, pc *webrtc.PeerConnection, s *MediaStream) (renegotiate bool, err error) {
	for _, kind := range kinds {
		sender, track := senderAndTrack(pc, s, kind)
		switch {
		case sender == nil && track == nil:
		case sender == nil:
			snd, err := pc.AddTrack(&sendTrack{TrackLocal: track, c: &continuity{}})
			if err != nil {
				return false, err
			}
			go readRTCP(snd)
			renegotiate = true
		case track == nil:
			if err := pc.RemoveTrack(sender); err != nil {
				return false, err
			}
			renegotiate = true
		default:
			old, ok := sender.Track().(*sendTrack)
			if !ok {
				// Not attached by this file: no numbering to go on from.
				if err := sender.ReplaceTrack(track); err != nil {
					return false, err
				}
				continue
			}
			if old.TrackLocal == track {
				continue
			}
			if err := sender.ReplaceTrack(&sendTrack{TrackLocal: track, c: old.c}); err != nil {
				return false, err
			}
		}
	}
	return renegotiate, nil
}

// continuity is the numbering of one sender's packets, shared by the
// sendTracks it carries one after the other.
type continuity struct {
	mu      sync.Mutex
	sent    bool // a packet has gone out
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
	h       rtp.Header // scratch, under mu
}

// sendTrack is a local track as one sender carries it: its packets
// numbered on from those of the tracks the sender carried before.
type sendTrack struct {
	webrtc.TrackLocal
	c *continuity
}

// Bind implements webrtc.TrackLocal: the track writes through a
// renumbering writer.
func (t *sendTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	clock := uint32(90000)
	if codecs := ctx.CodecParameters(); len(codecs) > 0 && codecs[0].ClockRate > 0 {
		clock = codecs[0].ClockRate
	}
	return t.TrackLocal.Bind(&renumberContext{TrackLocalContext: ctx, w: &renumberWriter{c: t.c, w: ctx.WriteStream(), clock: clock}})
}

// Unbind implements webrtc.TrackLocal.
func (t *sendTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	return t.TrackLocal.Unbind(&renumberContext{TrackLocalContext: ctx})
}

// renumberContext is the context a sendTrack's source binds with: the
// sender's, but for the writer.
type renumberContext struct {
	webrtc.TrackLocalContext
	w *renumberWriter
}

// WriteStream implements webrtc.TrackLocalContext.
func (c *renumberContext) WriteStream() webrtc.TrackLocalWriter { return c.w }

// renumberWriter writes one source's packets with the sender's numbering.
type renumberWriter struct {
	c     *continuity
	w     webrtc.TrackLocalWriter
	clock uint32

	// Under c.mu.
	started bool
	seqOff  uint16 // added to the source's sequence numbers
	tsOff   uint32 // added to its timestamps
}

// WriteRTP implements webrtc.TrackLocalWriter.
func (w *renumberWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if !w.started {
		w.started = true
		if c.sent {
			// The time since the last packet passes in the
			// timestamps too, so the far side's jitter buffer sees
			// time go on rather than back.
			ticks := max(uint32(now.Sub(c.lastAt).Seconds()*float64(w.clock)), 1)
			w.seqOff = c.lastSeq + 1 - h.SequenceNumber
			w.tsOff = c.lastTS + ticks - h.Timestamp
		}
	}
	c.h = *h
	c.h.SequenceNumber += w.seqOff
	c.h.Timestamp += w.tsOff
	if d := int16(c.h.SequenceNumber - c.lastSeq); !c.sent || d > 0 {
		c.sent, c.lastSeq, c.lastTS, c.lastAt = true, c.h.SequenceNumber, c.h.Timestamp, now
	}
	return w.w.WriteRTP(&c.h, payload)
}

// Write implements webrtc.TrackLocalWriter.
func (w *renumberWriter) Write(b []byte) (int, error) {
	var h rtp.Header
	n, err := h.Unmarshal(b)
	if err != nil {
		return 0, err
	}
	return w.WriteRTP(&h, b[n:])
}
