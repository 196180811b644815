//go:build js && wasm

package sdk

import (
	"context"

	"github.com/pion/webrtc/v4"
)

// sfuSendStream returns s: the browser's senders number their packets on
// across replaceTrack themselves.
func sfuSendStream(s *MediaStream) *MediaStream { return s }

// sfuReplaceStream is replaceStream: the browser's replaceTrack swaps a
// track in place.
func sfuReplaceStream(ctx context.Context, pc *webrtc.PeerConnection, s *MediaStream) (renegotiate bool, err error) {
	return replaceStream(ctx, pc, s)
}
