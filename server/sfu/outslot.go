//go:build !js

package sfu

import (
	"github.com/pion/webrtc/v4"
)

// Reusing m-lines.
//
// pion's AddTransceiverFromTrack adds an m-line for good: an offer to a
// subscriber in a long room with churn would grow by two m-lines per
// publisher that ever came. The SFU reuses the m-lines of withdrawn
// tracks, but never through inactive: a pion answerer stops a transceiver
// that an offer makes inactive and never revives it. So the SFU's m-lines
// are sendrecv, though subscribers send nothing on them, and removing a
// track (pion's RemoveTrack) makes its m-line recvonly, with no SSRC and
// no msid. The subscriber ends the track it received there: pion stops
// the receiver and gives the transceiver a fresh one; a browser, whose
// answer is now inactive, mutes the track and takes it out of its stream.
// Once the subscriber has answered that offer the m-line is free, and the
// next track of its kind goes on it with a new sender
// (RTPTransceiver.SetSender), sendrecv again: a new SSRC under the new
// track's msid, which a pion answerer takes for a new track (OnTrack on
// the fresh receiver) and a browser for a track that starts to receive
// again (a track event with the new stream).
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

// outSlot is one m-line on which the SFU sends to a subscriber, one
// published track at a time. The participant's run owns it.
type outSlot struct {
	tr      *webrtc.RTPTransceiver
	sender  *webrtc.RTPSender // nil while the slot carries nothing
	kind    webrtc.RTPCodecType
	state   slotState
	offered bool // the outstanding offer has the slot leaving
}
