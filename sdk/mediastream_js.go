//go:build js && wasm

package sdk

import (
	"syscall/js" // the type only: the exported API speaks js.Value, as pion's JSValue does

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
)

// MediaStream wraps a JavaScript MediaStream: one the page got from
// getUserMedia or getDisplayMedia, or one received in a stream event.
type MediaStream struct {
	v safejs.Value
	// id is the stream's ID, read once: a page's object may have a
	// getter that throws, and the SDK needs the ID after the fact.
	id string
	// peerID is the publishing peer of a stream received in a room.
	peerID string
}

// StreamFromJS wraps a JavaScript MediaStream.
func StreamFromJS(v js.Value) *MediaStream { return streamFromSafe(safejs.Safe(v)) }

func streamFromSafe(v safejs.Value) *MediaStream {
	var b jsutil.Batch
	id := b.String(b.Get(v, "id"))
	return &MediaStream{v: v, id: id}
}

// JSValue is the JavaScript MediaStream.
func (s *MediaStream) JSValue() js.Value { return safejs.Unsafe(s.v) }

// ID is the stream's ID (the msid), "" if the page's object had none to
// give.
func (s *MediaStream) ID() string { return s.id }

// tracks returns the stream's MediaStreamTracks with their kinds.
func (s *MediaStream) tracks() ([]track, error) {
	if s == nil {
		return nil, nil
	}
	var b jsutil.Batch
	arr := b.Call(s.v, "getTracks")
	out := make([]track, b.Length(arr))
	for i := range out {
		t := b.Index(arr, i)
		out[i] = track{v: t, kind: b.String(b.Get(t, "kind"))}
	}
	if err := b.Err(); err != nil {
		return nil, webrtcError("failed to read the stream's tracks", err)
	}
	return out, nil
}

// track is a MediaStreamTrack and its kind.
type track struct {
	v    safejs.Value
	kind string
}

// PeerID is, for a stream received in a room, the ID of the peer that sends
// it (SkyWay's stream.peerId); "" otherwise.
func (s *MediaStream) PeerID() string { return s.peerID }
