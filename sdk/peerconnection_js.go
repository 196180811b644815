//go:build js && wasm

package sdk

import (
	"context"
	"encoding/json"
	"syscall/js"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/jsutil"
)

// defaultAPI is the browser's: it decides codecs and transports itself.
func defaultAPI() (*webrtc.API, error) { return webrtc.NewAPI(), nil }

// watchLocalCandidates calls f with each local candidate as the browser's
// own candidate.toJSON(): pion's browser build drops sdpMid and
// sdpMLineIndex, which a native far side needs.
func watchLocalCandidates(pc *webrtc.PeerConnection, f func(json.RawMessage)) (stop func()) {
	target := pc.JSValue()
	listener := js.FuncOf(func(_ js.Value, args []js.Value) any {
		cand := args[0].Get("candidate")
		if cand.IsNull() || cand.IsUndefined() {
			return nil
		}
		text := js.Global().Get("JSON").Call("stringify", cand.Call("toJSON")).String()
		f(json.RawMessage(text))
		return nil
	})
	target.Call("addEventListener", "icecandidate", listener)
	return func() {
		target.Call("removeEventListener", "icecandidate", listener)
		listener.Release()
	}
}

// The offer/answer steps go to the page's RTCPeerConnection directly rather
// than through pion's wrappers, which wait on the browser's promise without
// an end: a step queued when the connection closes never settles (the
// WebRTC spec abandons a closed connection's operations), and pion's
// goroutine would wait forever. Here the wait ends with ctx; only the two
// js.Funcs of such a promise stay behind.

func createOffer(ctx context.Context, pc *webrtc.PeerConnection) (webrtc.SessionDescription, error) {
	return describe(jsutil.Await(ctx, pc.JSValue().Call("createOffer")))
}

func createAnswer(ctx context.Context, pc *webrtc.PeerConnection) (webrtc.SessionDescription, error) {
	return describe(jsutil.Await(ctx, pc.JSValue().Call("createAnswer")))
}

func describe(v js.Value, err error) (webrtc.SessionDescription, error) {
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	return webrtc.SessionDescription{Type: webrtc.NewSDPType(v.Get("type").String()), SDP: v.Get("sdp").String()}, nil
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
	var promise js.Value
	if err := jsutil.Try(func() { promise = pc.JSValue().Call(method, arg) }); err != nil {
		return err
	}
	_, err := jsutil.Await(ctx, promise)
	return err
}
