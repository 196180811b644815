//go:build !js

// Package loopback makes pion APIs that find ICE candidates on the loopback
// interface only, for skywasm's tests, benchmark bots and test peers, which
// run in a loopback-only network namespace. It links no testing code, so
// that bench/'s bots and cmd/echopeer, which are programs, can use it.
package loopback

import (
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// API is a pion API with pion's default codecs and interceptors that
// gathers host candidates on the loopback interface only. adjust may
// change its settings.
func API(adjust ...func(*webrtc.SettingEngine)) (*webrtc.API, error) {
	return APIWith(nil, adjust...)
}

// APIWith is API with the interceptors extra added after pion's defaults.
func APIWith(extra []interceptor.Factory, adjust ...func(*webrtc.SettingEngine)) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	for _, f := range extra {
		ir.Add(f)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	for _, f := range adjust {
		f(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}
