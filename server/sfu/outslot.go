//go:build !js

package sfu

import (
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Reusing m-lines.
//
// pion's AddTransceiverFromTrack adds an m-line for good: an offer to a
// subscriber in a long room with churn would grow by two m-lines per
// publisher that ever came. Making a departed publisher's m-line inactive
// and reusing it later does not work with a pion answerer, which stops a
// transceiver an offer makes inactive and never revives it. So the SFU
// never makes its m-lines inactive. A withdrawn track's sender keeps its
// transceiver sendonly with no track (sender.ReplaceTrack(nil)): the next
// offer carries the m-line with no SSRC and no msid, and the subscriber
// ends the track it received there (pion stops the receiver, a browser
// removes the track from its stream). Once the subscriber has answered
// that offer, the m-line is free, and the next track of its kind goes on
// the same sender with ReplaceTrack: the same SSRC, announced under the
// new track's msid in the next offer, which a pion answerer takes as a new
// track (OnTrack) and a browser as a track added to a new stream (a track
// event). The SSRC stays, so its sequence numbers and timestamps continue
// from where the last track left them; otherwise the subscriber's SRTP
// replay check would drop the new track's packets as old ones.

// slotState is where an outSlot is in its negotiation.
type slotState uint8

const (
	// slotBusy: the slot carries a track the subscriber knows of.
	slotBusy slotState = iota
	// slotJoining: a reused slot carries a new track, which the next
	// offer announces; it sends nothing until that offer is answered.
	slotJoining
	// slotLeaving: the slot's track was withdrawn; the next offer says so.
	slotLeaving
	// slotFree: the subscriber has answered an offer with the slot empty;
	// it can carry the next track of its kind.
	slotFree
)

// outSlot is one m-line on which the SFU sends to a subscriber: a
// sendonly transceiver and its one sender, which carries one published
// track at a time.
type outSlot struct {
	tr     *webrtc.RTPTransceiver
	sender *webrtc.RTPSender
	kind   webrtc.RTPCodecType

	// Owned by the participant's run.
	state   slotState
	offered bool      // the outstanding offer has the slot in its state
	idle    time.Time // when the last track left it

	// cur is the down-track the slot carries, nil when none: readRTCP
	// hands it the subscriber's feedback.
	cur atomic.Pointer[downTrack]
	// last is the last packet sent on the slot, for the next track's
	// numbering: valid bit 63, sequence number in bits 32-47, timestamp
	// in bits 0-31. The down-track's drainer writes it.
	last atomic.Uint64
}

// sent records the sequence number and timestamp of a packet sent,
// unless it is older than the last (a late packet). Only the drainer of
// the subscriber's queue calls it.
func (s *outSlot) sent(seq uint16, ts uint32) {
	if v := s.last.Load(); v>>63 != 0 && int16(seq-uint16(v>>32)) <= 0 {
		return
	}
	s.last.Store(1<<63 | uint64(seq)<<32 | uint64(ts))
}

// continuation returns where the next track on the slot must number its
// packets from: the sequence number of its first packet, and the
// timestamp of the last packet sent. ok is false if nothing was sent.
func (s *outSlot) continuation() (seq uint16, ts uint32, ok bool) {
	v := s.last.Load()
	if v>>63 == 0 {
		return 0, 0, false
	}
	return uint16(v>>32) + 1, uint32(v), true
}

// canCarry reports whether the slot's negotiated codecs include the one
// t is published in: ReplaceTrack must not fail to bind.
func (s *outSlot) canCarry(t *track) bool {
	if s.kind != t.kind {
		return false
	}
	for _, c := range s.sender.GetParameters().Codecs {
		if equalCodec(c.RTPCodecCapability, t.codec) {
			return true
		}
	}
	return false
}
