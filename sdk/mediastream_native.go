//go:build !js

package sdk

import (
	"sync"

	"github.com/pion/webrtc/v4"
)

// MediaStream is a set of tracks sent or received together, under one
// stream ID. A local stream holds the tracks to send (NewMediaStream; the
// sdk/synth package makes synthetic ones); a remote stream, from a stream
// event, holds the tracks received.
type MediaStream struct {
	id    string
	local []webrtc.TrackLocal
	// peerID is the publishing peer of a stream received in a room.
	peerID string

	mu     sync.Mutex
	remote []*webrtc.TrackRemote
}

// NewMediaStream returns a local stream of tracks. Its ID is the first
// track's StreamID.
func NewMediaStream(tracks ...webrtc.TrackLocal) *MediaStream {
	s := &MediaStream{local: tracks}
	if len(tracks) > 0 {
		s.id = tracks[0].StreamID()
	}
	return s
}

// ID is the stream's ID (the msid).
func (s *MediaStream) ID() string { return s.id }

// LocalTracks are the tracks of a local stream.
func (s *MediaStream) LocalTracks() []webrtc.TrackLocal { return s.local }

// RemoteTracks are the tracks of a remote stream. Read RTP from them; what
// is not read is dropped.
func (s *MediaStream) RemoteTracks() []*webrtc.TrackRemote {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*webrtc.TrackRemote(nil), s.remote...)
}

// hasKind reports whether a local stream has a track of kind.
func (s *MediaStream) hasKind(kind webrtc.RTPCodecType) bool {
	if s == nil {
		return false
	}
	for _, t := range s.local {
		if t.Kind() == kind {
			return true
		}
	}
	return false
}

// PeerID is, for a stream received in a room, the ID of the peer that sends
// it (SkyWay's stream.peerId); "" otherwise.
func (s *MediaStream) PeerID() string { return s.peerID }
