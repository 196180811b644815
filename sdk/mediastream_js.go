//go:build js && wasm

package sdk

import "syscall/js"

// MediaStream wraps a JavaScript MediaStream: one the page got from
// getUserMedia or getDisplayMedia, or one received in a stream event.
type MediaStream struct {
	v js.Value
	// peerID is the publishing peer of a stream received in a room.
	peerID string
}

// StreamFromJS wraps a JavaScript MediaStream.
func StreamFromJS(v js.Value) *MediaStream { return &MediaStream{v: v} }

// JSValue is the JavaScript MediaStream.
func (s *MediaStream) JSValue() js.Value { return s.v }

// ID is the stream's ID (the msid).
func (s *MediaStream) ID() string { return s.v.Get("id").String() }

// tracks returns the stream's MediaStreamTracks.
func (s *MediaStream) tracks() []js.Value {
	if s == nil {
		return nil
	}
	arr := s.v.Call("getTracks")
	out := make([]js.Value, arr.Length())
	for i := range out {
		out[i] = arr.Index(i)
	}
	return out
}

// hasKind reports whether the stream has a track of kind ("audio", "video").
func (s *MediaStream) hasKind(kind string) bool {
	for _, t := range s.tracks() {
		if t.Get("kind").String() == kind {
			return true
		}
	}
	return false
}

// PeerID is, for a stream received in a room, the ID of the peer that sends
// it (SkyWay's stream.peerId); "" otherwise.
func (s *MediaStream) PeerID() string { return s.peerID }
