package routing

import (
	"context"
	"encoding/json"

	"github.com/skywasm/skywasm/protocol"
)

// SFU is the media server of sfu rooms, as the signaling plane sees it: the
// plane checks that the peer is a member of the room and passes the peer's
// SFU_* messages on; the SFU answers through the Router (SFU_OFFER,
// SFU_CANDIDATE), so it never needs the peer's socket. Every method must
// return promptly: it runs on the peer's read loop.
//
// It is declared here, not in either plane, so that signaling and sfu both
// build on routing and neither imports the other.
type SFU interface {
	// Offer asks for an SFU_OFFER to the peer, creating its
	// PeerConnection on the first call of a membership; later calls
	// renegotiate. recv says which kinds the peer receives; the first call
	// fixes it.
	Offer(ctx context.Context, m Member, recv Receive) error
	// Answer applies the peer's answer to the last SFU_OFFER.
	Answer(ctx context.Context, m Member, answer protocol.SessionDescription) error
	// Candidate adds one of the peer's ICE candidates.
	Candidate(ctx context.Context, m Member, candidate json.RawMessage) error
	// Leave ends the peer's part in the room: its PeerConnection closes and
	// its tracks leave every other participant. It is called for every
	// member of an sfu room that leaves, whether or not it ever asked for
	// an offer.
	Leave(m Member)
}

// Member names one peer in one sfu room.
type Member struct {
	Key, Room, Peer string
}

// Receive says which kinds of media a participant receives.
type Receive struct {
	Video, Audio bool
}
