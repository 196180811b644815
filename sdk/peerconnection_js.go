//go:build js && wasm

package sdk

import (
	"encoding/json"
	"syscall/js"

	"github.com/pion/webrtc/v4"
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
