//go:build !js

package sdk

import (
	"context"
	"encoding/json"
	"fmt"

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

func setLocalOffer(_ context.Context, pc *webrtc.PeerConnection, iceRestart bool) (webrtc.SessionDescription, error) {
	var opts *webrtc.OfferOptions
	if iceRestart {
		opts = &webrtc.OfferOptions{ICERestart: true}
	}
	o, err := pc.CreateOffer(opts)
	if err != nil {
		return o, fmt.Errorf("failed to create an offer: %w", err)
	}
	return o, pc.SetLocalDescription(o)
}

func setLocalAnswer(_ context.Context, pc *webrtc.PeerConnection) (webrtc.SessionDescription, error) {
	a, err := pc.CreateAnswer(nil)
	if err != nil {
		return a, fmt.Errorf("failed to create an answer: %w", err)
	}
	return a, pc.SetLocalDescription(a)
}

func setRemoteDescription(_ context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	return pc.SetRemoteDescription(d)
}

func addICECandidate(_ context.Context, pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) error {
	return pc.AddICECandidate(c)
}
