//go:build !js

package sfu

import (
	"github.com/pion/webrtc/v4"
)

// Reusing m-lines.
//
// pion's AddTransceiverFromTrack adds an m-line for good: an offer to a
// subscriber in a long room with churn would grow by two m-lines per
// publisher that ever came. Making a departed publisher's m-line inactive
// and reusing it later does not work with a pion answerer, which stops a
// transceiver an offer makes inactive and never revives it. So the SFU
// never makes its m-lines inactive. A withdrawn track's sender stays on
// its transceiver, sendonly with no track (sender.ReplaceTrack(nil)): the
// next offer carries the m-line with no SSRC and no msid, and the
// subscriber ends the track it received there (pion stops the receiver
// and gives the transceiver a fresh one; a browser removes the track from
// its stream). Once the subscriber has answered that offer, the m-line is
// free, and the next track of its kind goes on it with a new sender
// (RTPTransceiver.SetSender): a new SSRC under the new track's msid, which
// a pion answerer takes for a new track (OnTrack on the fresh receiver)
// and a browser for a track added to a new stream (a track event).
//
// A new SSRC, not the old one with its numbering continued: packets of
// the old track still in flight when the subscriber applies the offer
// that ends it reach the subscriber's pion as an undeclared SSRC, which it
// probes by reading; had the SSRC come back, the probe would read the new
// track's packets away from its receiver.

// slotState is where an outSlot is in its negotiation.
type slotState uint8

const (
	// slotBusy: the slot carries a track.
	slotBusy slotState = iota
	// slotLeaving: the slot's track was withdrawn; the subscriber has not
	// yet answered an offer that says so.
	slotLeaving
	// slotFree: the subscriber has answered an offer with the slot empty;
	// it can carry the next track of its kind.
	slotFree
)

// outSlot is one m-line on which the SFU sends to a subscriber: a
// sendonly transceiver that carries one published track at a time.
// The participant's run owns it.
type outSlot struct {
	tr      *webrtc.RTPTransceiver
	sender  *webrtc.RTPSender // the current one
	kind    webrtc.RTPCodecType
	state   slotState
	offered bool // the outstanding offer has the slot leaving
}

// canCarry reports whether the slot's negotiated codecs include the one
// t is published in, so that the new sender will bind.
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
