//go:build js && wasm

package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hack-pad/safejs"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/jsutil"
)

// defaultAPI is the browser's: it decides codecs and transports itself.
func defaultAPI() (*webrtc.API, error) { return webrtc.NewAPI(), nil }

// watchLocalCandidates calls f with each local candidate as the browser's
// own candidate.toJSON(): pion's browser build drops sdpMid and
// sdpMLineIndex, which a native far side needs.
func watchLocalCandidates(pc *webrtc.PeerConnection, f func(json.RawMessage)) (stop func()) {
	return listen(rtc(pc), "icecandidate", func(ev safejs.Value) error {
		var b jsutil.Batch
		cand := b.Get(ev, "candidate")
		if b.Err() != nil || cand.IsNull() || cand.IsUndefined() {
			return b.Err()
		}
		text := b.String(b.Call(b.Global("JSON"), "stringify", b.Call(cand, "toJSON")))
		if err := b.Err(); err != nil {
			return err
		}
		f(json.RawMessage(text))
		return nil
	}, func(error) {}) // a candidate the page cannot describe is one fewer path, not an error
}

// The offer/answer steps go to the page's RTCPeerConnection directly rather
// than through pion's wrappers, which wait on the browser's promise without
// an end: a step queued when the connection closes never settles (the
// WebRTC spec abandons a closed connection's operations), and pion's
// goroutine would wait forever. Here the wait ends with ctx; only the two
// js.Funcs of such a promise stay behind.
//
// An offer or answer is made and set in one step, setLocalDescription()
// without a description, as the browser then makes it itself: one promise
// to wait on rather than two, and the SDP crosses into Go once, to be sent,
// instead of also coming back. It is the browser's own description, read
// from localDescription, so it may already hold candidates gathered by then;
// they are trickled as well, and a far side ignores the second copy. An ICE
// restart takes the explicit way, which can ask for one.

func setLocalOffer(ctx context.Context, pc *webrtc.PeerConnection, iceRestart bool) (webrtc.SessionDescription, error) {
	if !iceRestart {
		return setLocal(ctx, pc)
	}
	o, err := describe(jsutil.Call(ctx, rtc(pc), "createOffer", map[string]any{"iceRestart": true}))
	if err != nil {
		return o, fmt.Errorf("failed to create an offer: %w", err)
	}
	return o, awaitCall(ctx, pc, "setLocalDescription", map[string]any{"type": o.Type.String(), "sdp": o.SDP})
}

func setLocalAnswer(ctx context.Context, pc *webrtc.PeerConnection) (webrtc.SessionDescription, error) {
	return setLocal(ctx, pc)
}

// setLocal is setLocalDescription(), which makes the offer or answer that
// the signaling state calls for, and returns what it set.
func setLocal(ctx context.Context, pc *webrtc.PeerConnection) (webrtc.SessionDescription, error) {
	r := rtc(pc)
	if _, err := jsutil.Call(ctx, r, "setLocalDescription"); err != nil {
		return webrtc.SessionDescription{}, webrtcError("setLocalDescription failed", err)
	}
	return describe(jsutil.Get(r, "localDescription"))
}

func describe(v safejs.Value, err error) (webrtc.SessionDescription, error) {
	if err != nil {
		return webrtc.SessionDescription{}, webrtcError("failed to describe the session", err)
	}
	var b jsutil.Batch
	d := webrtc.SessionDescription{Type: webrtc.NewSDPType(b.String(b.Get(v, "type"))), SDP: b.String(b.Get(v, "sdp"))}
	return d, webrtcError("failed to read the description", b.Err())
}

func setRemoteDescription(ctx context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	return awaitCall(ctx, pc, "setRemoteDescription", map[string]any{"type": d.Type.String(), "sdp": d.SDP})
}

func addICECandidate(ctx context.Context, pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) error {
	init := map[string]any{"candidate": c.Candidate}
	if c.SDPMid != nil {
		init["sdpMid"] = *c.SDPMid
	}
	if c.SDPMLineIndex != nil {
		init["sdpMLineIndex"] = int(*c.SDPMLineIndex)
	}
	if c.UsernameFragment != nil {
		init["usernameFragment"] = *c.UsernameFragment
	}
	return awaitCall(ctx, pc, "addIceCandidate", init)
}

// awaitCall calls a promise-returning method of the page's
// RTCPeerConnection and waits for it.
func awaitCall(ctx context.Context, pc *webrtc.PeerConnection, method string, arg any) error {
	_, err := jsutil.Call(ctx, rtc(pc), method, arg)
	return webrtcError(method+" failed", err)
}
