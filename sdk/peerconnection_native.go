//go:build !js

package sdk

import (
	"context"
	"encoding/json"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// defaultAPI is pion's default: every codec it knows and its default
// interceptors (NACK, RTCP reports, TWCC).
func defaultAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir)), nil
}

// watchLocalCandidates calls f with each local candidate as an
// RTCIceCandidateInit in JSON.
func watchLocalCandidates(pc *webrtc.PeerConnection, f func(json.RawMessage)) (stop func()) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		if b, err := json.Marshal(c.ToJSON()); err == nil {
			f(b)
		}
	})
	return func() { pc.OnICECandidate(nil) }
}

// The offer/answer steps. Natively pion does them at once; ctx matters only
// in the browser.

func createOffer(_ context.Context, pc *webrtc.PeerConnection, iceRestart bool) (webrtc.SessionDescription, error) {
	if iceRestart {
		return pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	}
	return pc.CreateOffer(nil)
}

func createAnswer(_ context.Context, pc *webrtc.PeerConnection) (webrtc.SessionDescription, error) {
	return pc.CreateAnswer(nil)
}

func setLocalDescription(_ context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	return pc.SetLocalDescription(d)
}

func setRemoteDescription(_ context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	return pc.SetRemoteDescription(d)
}

func addICECandidate(_ context.Context, pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) error {
	return pc.AddICECandidate(c)
}
