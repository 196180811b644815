package sdk

import (
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
)

// MeshRoom is a room in which every member calls every other: SkyWay's
// MeshRoom. The joiner calls the members already there; they answer with
// their room stream.
type MeshRoom struct {
	*room

	// conns holds one call per other member; guarded by room.mu.
	conns map[string]*MediaConnection
}

// Connections returns the room's calls by remote peer ID, as SkyWay's
// room.connections.
func (m *MeshRoom) Connections() map[string][]*MediaConnection {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]*MediaConnection, len(m.conns))
	for id, c := range m.conns {
		out[id] = []*MediaConnection{c}
	}
	return out
}

// PeerConnections returns the PeerConnection of each call by remote peer ID,
// as SkyWay's room.getPeerConnections().
func (m *MeshRoom) PeerConnections() map[string]*webrtc.PeerConnection {
	out := map[string]*webrtc.PeerConnection{}
	for id, cs := range m.Connections() {
		if pc := cs[0].PeerConnection(); pc != nil {
			out[id] = pc
		}
	}
	return out
}

func (m *MeshRoom) callOptions() *CallOptions {
	o := m.opts
	return &CallOptions{
		VideoBandwidth: o.VideoBandwidth, AudioBandwidth: o.AudioBandwidth,
		VideoCodec: o.VideoCodec, AudioCodec: o.AudioCodec,
		NoVideoReceive: o.NoVideoReceive, NoAudioReceive: o.NoAudioReceive,
	}
}

// joined calls every member this peer has no call with.
func (m *MeshRoom) joined(members []string) {
	for _, id := range members {
		m.mu.Lock()
		_, have := m.conns[id]
		m.mu.Unlock()
		if have {
			continue
		}
		if _, err := m.peer.call(id, m.localStream(), m.callOptions(), m); err != nil {
			m.peer.emitError(err)
		}
	}
}

// peerJoined does nothing: the joiner calls.
func (m *MeshRoom) peerJoined(string) {}

// peerLeft ends the call with a member that left.
func (m *MeshRoom) peerLeft(id string) {
	m.mu.Lock()
	c := m.conns[id]
	m.mu.Unlock()
	if c != nil {
		c.shutdown(false, "the remote peer left the room")
	}
}

func (m *MeshRoom) replace(s *MediaStream) error {
	for _, cs := range m.Connections() {
		if err := cs[0].ReplaceStream(s); err != nil {
			return err
		}
	}
	return nil
}

func (m *MeshRoom) shutdown() {
	m.mu.Lock()
	conns := m.conns
	m.conns = map[string]*MediaConnection{}
	m.mu.Unlock()
	for _, c := range conns {
		c.shutdown(true, "left the room")
	}
}

// adopt makes c the room's call with its remote peer, before it is
// registered, so no event of it is missed. The call's own handlers stay
// free for the page: in SkyWay, room.connections held MediaConnections
// whose stream and close events fired like any other's.
func (m *MeshRoom) adopt(c *MediaConnection) {
	c.roomName = m.name
	remote := c.remoteID
	c.room = &callHooks{
		stream: func(s *MediaStream) {
			s.peerID = remote
			m.remoteStream(s)
		},
		close: func() {
			m.mu.Lock()
			if m.conns[remote] == c {
				delete(m.conns, remote)
			}
			m.mu.Unlock()
		},
		err: m.peer.emitError,
	}
	m.mu.Lock()
	m.conns[remote] = c
	m.mu.Unlock()
}

// incoming takes a member's offer. When both peers called each other at
// once, SkyWay's rule decides: the peer with the larger ID ignores the
// other's offer, and the other drops its own call for the incoming one.
func (m *MeshRoom) incoming(r *protocol.RelayPayload) {
	m.mu.Lock()
	mine := m.conns[r.Src]
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return
	}
	if mine != nil {
		if m.peer.ID() > r.Src {
			m.peer.opts.Logger.Debug("ignored a crossing room offer", "room", m.name, "src", r.Src)
			return
		}
		mine.shutdown(false, "the remote peer's offer crossed ours")
	}
	c := &MediaConnection{pendingOffer: r.Offer.SDP}
	c.init(m.peer, r.ConnectionID, r.Src, protocol.Media, r.Metadata, false)
	m.adopt(c)
	m.peer.register(c)
	o := m.opts
	if err := c.Answer(m.localStream(), &AnswerOptions{
		VideoBandwidth: o.VideoBandwidth, AudioBandwidth: o.AudioBandwidth,
		VideoCodec: o.VideoCodec, AudioCodec: o.AudioCodec,
	}); err != nil {
		m.peer.emitError(err)
	}
}
