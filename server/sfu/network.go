//go:build !js

package sfu

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/pionlog"
)

// listen opens the UDP socket every participant shares and the pion API
// whose PeerConnections use it.
func listen(cfg *Config, logger *slog.Logger) (*webrtc.API, *ice.UDPMuxDefault, *net.UDPAddr, error) {
	host, port, err := net.SplitHostPort(cfg.UDPAddr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sfu: failed to parse UDPAddr: %w", err)
	}
	// An IPv6 literal gets a socket for both families; anything else is
	// IPv4, so that "localhost" means 127.0.0.1 as browsers expect.
	network, types := "udp4", []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		network, types = "udp", []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	}
	addr, err := net.ResolveUDPAddr(network, net.JoinHostPort(host, port))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sfu: failed to resolve UDPAddr %q: %w", cfg.UDPAddr, err)
	}
	conn, err := net.ListenUDP(network, addr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sfu: failed to listen on UDP %s: %w", addr, err)
	}
	factory := pionlog.New(logger.With("component", "pion"))
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: factory.NewLogger("udpmux")})

	var se webrtc.SettingEngine
	se.LoggerFactory = factory
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes(types)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Loopback candidates are what a server on 127.0.0.1 has to offer
	// (dev mode, tests); pion leaves them out unless told.
	se.SetIncludeLoopbackCandidate(addr.IP.IsLoopback())
	if len(cfg.PublicAddrs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicAddrs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		})
		if err != nil {
			_ = mux.Close()
			return nil, nil, nil, fmt.Errorf("sfu: failed to set the public addresses: %w", err)
		}
	}

	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		_ = mux.Close()
		return nil, nil, nil, fmt.Errorf("sfu: failed to register codecs: %w", err)
	}
	// The defaults: a NACK responder with a packet buffer per sent track,
	// a NACK generator on what publishers send, RTCP reports, TWCC.
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		_ = mux.Close()
		return nil, nil, nil, fmt.Errorf("sfu: failed to register interceptors: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return api, mux, conn.LocalAddr().(*net.UDPAddr), nil
}
