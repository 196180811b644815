package signaling

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

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
	mem := routing.Member{Key: s.p.key, Room: name, Peer: s.p.id}
	var err error
	switch m.Type {
	case protocol.SFUGetOffer:
		err = sfu.Offer(ctx, mem, routing.Receive{Video: !m.NoVideoReceive, Audio: !m.NoAudioReceive})
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
