package signaling

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/skywasm/skywasm/protocol"
)

// SFU is the media server of sfu rooms, as the signaling plane sees it: the
// plane checks that the peer is a member of the room and passes the peer's
// SFU_* messages on; the SFU answers through the Router (SFU_OFFER,
// SFU_CANDIDATE), so it never needs the peer's socket. Every method must
// return promptly: it runs on the peer's read loop.
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

// sfuMessage passes SFU_GET_OFFER, SFU_ANSWER or SFU_CANDIDATE to the SFU.
func (s *session) sfuMessage(ctx context.Context, m *protocol.ClientMessage) {
	sfu := s.srv.cfg.SFU
	typ, ok := s.roomType(m)
	if !ok {
		return
	}
	name := string(m.RoomName)
	if typ != protocol.SFU || sfu == nil {
		s.fail(protocol.Errorf(protocol.ErrRoom, "room %q is not an sfu room", name), m)
		return
	}
	mem := Member{Key: s.p.key, Room: name, Peer: s.p.id}
	var err error
	switch m.Type {
	case protocol.SFUGetOffer:
		err = sfu.Offer(ctx, mem, Receive{Video: !m.NoVideoReceive, Audio: !m.NoAudioReceive})
	case protocol.SFUAnswer:
		var a protocol.SFUAnswerPayload
		if err = json.Unmarshal(m.Payload, &a); err == nil {
			err = sfu.Answer(ctx, mem, a.Answer)
		}
	case protocol.SFUCandidate:
		var c protocol.SFUCandidatePayload
		if err = json.Unmarshal(m.Payload, &c); err == nil {
			err = sfu.Candidate(ctx, mem, c.Candidate)
		}
	}
	var perr *protocol.ProtocolError
	if errors.As(err, &perr) {
		s.fail(perr, m)
		return
	}
	s.ok(err, m)
}
