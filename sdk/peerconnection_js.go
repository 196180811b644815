//go:build js && wasm

package sdk

import (
	"context"
	"encoding/json"

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

func createOffer(ctx context.Context, pc *webrtc.PeerConnection, iceRestart bool) (webrtc.SessionDescription, error) {
	var opts any = safejs.Undefined()
	if iceRestart {
		opts = map[string]any{"iceRestart": true}
	}
	return describe(jsutil.Call(ctx, rtc(pc), "createOffer", opts))
}

func createAnswer(ctx context.Context, pc *webrtc.PeerConnection) (webrtc.SessionDescription, error) {
	return describe(jsutil.Call(ctx, rtc(pc), "createAnswer"))
}

func describe(v safejs.Value, err error) (webrtc.SessionDescription, error) {
	if err != nil {
		return webrtc.SessionDescription{}, webrtcError("failed to describe the session", err)
	}
	var b jsutil.Batch
	d := webrtc.SessionDescription{Type: webrtc.NewSDPType(b.String(b.Get(v, "type"))), SDP: b.String(b.Get(v, "sdp"))}
	return d, webrtcError("failed to read the description", b.Err())
}

func setLocalDescription(ctx context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	return awaitCall(ctx, pc, "setLocalDescription", map[string]any{"type": d.Type.String(), "sdp": d.SDP})
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
