package sdk

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
)

// SFURoom is a room whose media goes through the server's SFU: SkyWay's
// SFURoom. This peer keeps one PeerConnection with the server, which makes
// every offer; each offer says which peer publishes each stream.
type SFURoom struct {
	*room

	// Guarded by room.mu.
	link    *MediaConnection // nil until the first offer
	msids   map[string]string
	waiting []*MediaStream // remote streams whose publisher is not known yet
	streams []*MediaStream
	// fingerprint is the DTLS fingerprint of the SFU's last offer: the
	// server's PeerConnection it was made by.
	fingerprint string
}

// PeerConnection is the PeerConnection with the SFU, nil before the first
// offer: SkyWay's room.getPeerConnection().
func (s *SFURoom) PeerConnection() *webrtc.PeerConnection {
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if link == nil {
		return nil
	}
	return link.PeerConnection()
}

// RemoteStreams are the streams received so far, as SkyWay's
// room.remoteStreams.
func (s *SFURoom) RemoteStreams() []*MediaStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*MediaStream(nil), s.streams...)
}

// getOffer asks the SFU for an offer.
func (s *SFURoom) getOffer() {
	no := false
	g := protocol.SFUGetOfferPayload{RoomName: s.name}
	if s.opts.NoVideoReceive {
		g.VideoReceiveEnabled = &no
	}
	if s.opts.NoAudioReceive {
		g.AudioReceiveEnabled = &no
	}
	if err := s.peer.send(protocol.SFUGetOffer, g); err != nil {
		s.peer.emitError(err)
	}
}

// joined asks for an offer, also on a rejoin: after a reconnection the
// SFU may have lost this peer's PeerConnection (its node restarted, or the
// peer or the room moved to another node), and then its new offer starts a
// new link; if it kept it, the offer renegotiates the link as it is.
func (s *SFURoom) joined([]string) { s.getOffer() }

// The SFU renegotiates by itself when members come and go.
func (s *SFURoom) peerJoined(string) {}

// peerLeft forgets the streams of a member that left; the SFU has taken
// its tracks away.
func (s *SFURoom) peerLeft(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams = slices.DeleteFunc(s.streams, func(st *MediaStream) bool { return st.peerID == id })
	for sid, peer := range s.msids {
		if peer == id {
			delete(s.msids, sid)
		}
	}
}

// replace swaps the new stream's tracks in for the old ones, and asks the
// SFU for an offer only if that adds or removes a kind.
func (s *SFURoom) replace(stream *MediaStream) error {
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if link == nil {
		return nil // the first answer will attach it
	}
	link.ops.Push(func() {
		pc := link.PeerConnection()
		if pc == nil {
			return
		}
		renegotiate, err := sfuReplaceStream(link.context(), pc, stream)
		if err != nil {
			link.fail(fmt.Errorf("failed to replace the stream: %w", err), false)
			return
		}
		if renegotiate {
			s.getOffer()
		}
	})
	return nil
}

func (s *SFURoom) shutdown() {
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if link != nil {
		link.shutdown(false, "left the room")
	}
}

// candidate takes the SFU's SFU_CANDIDATE.
func (s *SFURoom) candidate(raw json.RawMessage) {
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if link != nil {
		link.handleCandidate(raw)
	}
}

// offer answers an SFU_OFFER, creating the link on the first.
func (s *SFURoom) offer(o *protocol.SFUOfferPayload) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.msids == nil {
		s.msids = map[string]string{}
	}
	for id, peer := range o.Msids {
		s.msids[id] = peer
	}
	ready := s.labelWaiting()
	sdp := o.Offer.SDP
	link, first := s.link, s.link == nil
	fp := sdpFingerprint(sdp)
	var stale *MediaConnection
	if !first && fp != s.fingerprint {
		// Another DTLS certificate: a new PeerConnection on the server's
		// side, which the old link cannot be renegotiated into.
		stale, first = link, true
	}
	s.fingerprint = fp
	if first {
		// The streams were the previous link's, if one ended.
		s.streams, s.waiting = nil, nil
		link = s.newLink()
		s.link = link
	}
	s.mu.Unlock()
	if stale != nil {
		stale.shutdown(false, "the SFU made a new connection")
	}
	for _, st := range ready {
		s.remoteStream(st)
	}
	link.ops.Push(func() {
		var attach func(pc *webrtc.PeerConnection) error
		if first {
			pc, err := link.newPeerConnection()
			if err != nil {
				link.fail(err, true)
				return
			}
			link.addRelease(link.watchRemoteStreams(pc))
			stream := sfuSendStream(s.localStream())
			attach = func(pc *webrtc.PeerConnection) error { return attachStream(pc, stream, directions{}) }
		}
		if err := link.answer(sdp, attach); err != nil {
			link.fail(err, first)
		}
	})
}

// newLink makes the MediaConnection that carries the room's media. It is
// not one of the Peer's connections: its signaling goes to the SFU.
// room.mu is held.
func (s *SFURoom) newLink() *MediaConnection {
	link := &MediaConnection{answered: true}
	link.init(s.peer, "sfu_"+protocol.RandomID(16), "", protocol.Media, nil, false)
	link.signal = func(t protocol.MessageType, r protocol.RelayPayload) {
		var err error
		switch t {
		case protocol.SendAnswer:
			err = s.peer.send(protocol.SFUAnswer, protocol.SFUAnswerPayload{RoomName: s.name, Answer: *r.Answer})
		case protocol.SendCandidate:
			err = s.peer.send(protocol.SFUCandidate, protocol.SFUCandidatePayload{RoomName: s.name, Candidate: r.Candidate})
		}
		if err != nil {
			s.peer.emitError(err)
		}
	}
	link.OnStream(func(st *MediaStream) {
		s.mu.Lock()
		if s.link != link {
			s.mu.Unlock()
			return // a late stream of a link that was replaced
		}
		s.streams = append(s.streams, st)
		peer, known := s.msids[st.ID()]
		if known {
			st.peerID = peer
		} else {
			s.waiting = append(s.waiting, st)
		}
		s.mu.Unlock()
		if known {
			s.remoteStream(st)
		}
	})
	link.OnError(func(err error) { s.peer.emitError(err) })
	link.OnClose(func() {
		s.mu.Lock()
		if s.link == link {
			s.link = nil
		}
		s.mu.Unlock()
	})
	return link
}

// labelWaiting returns the waiting streams whose publisher is now known.
// room.mu is held.
func (s *SFURoom) labelWaiting() []*MediaStream {
	var ready []*MediaStream
	keep := s.waiting[:0]
	for _, st := range s.waiting {
		if peer, ok := s.msids[st.ID()]; ok {
			st.peerID = peer
			ready = append(ready, st)
		} else {
			keep = append(keep, st)
		}
	}
	s.waiting = keep
	return ready
}
