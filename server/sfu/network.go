//go:build !js

package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/pionlog"
	"github.com/skywasm/skywasm/server/metrics"
)

// listen opens the UDP socket every participant shares and the pion API
// whose PeerConnections use it; out is the socket, through which the
// send workers batch their writes (batch_linux.go).
func listen(cfg *Config, logger *slog.Logger, m *metrics.SFU, ingressDropped *atomic.Uint64) (api *webrtc.API, mux *ice.UDPMuxDefault, out *batchConn, err error) {
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
	sizeSocket(conn, cfg.SocketBuffer, logger)
	if out, err = newBatchConn(conn, cfg.BatchWrites, m); err != nil {
		_ = conn.Close()
		return nil, nil, nil, fmt.Errorf("sfu: failed to set up the UDP socket: %w", err)
	}
	factory := pionlog.New(logger.With("component", "pion"))
	mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: out, Logger: factory.NewLogger("udpmux")})

	var se webrtc.SettingEngine
	se.LoggerFactory = factory
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes(types)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.BufferFactory = bufferFactory(ingressDropped)
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

	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		_ = mux.Close()
		return nil, nil, nil, fmt.Errorf("sfu: failed to register codecs: %w", err)
	}
	ir, err := interceptors(me)
	if err != nil {
		_ = mux.Close()
		return nil, nil, nil, fmt.Errorf("sfu: failed to register interceptors: %w", err)
	}
	api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return api, mux, out, nil
}

// interceptors are pion's defaults less two: the NACK responder, which
// copies every packet sent into a buffer per subscriber (the SFU answers
// NACKs from the one buffer per published track), and the statistics
// interceptor, which the SFU never reads.
func interceptors(m *webrtc.MediaEngine) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(generator)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, err
	}
	return ir, nil
}

// sizeSocket asks the kernel for socket buffers of size bytes, and logs
// what it grants when that is less: on Linux, net.core.rmem_max and
// wmem_max cap the request silently.
func sizeSocket(conn *net.UDPConn, size int, logger *slog.Logger) {
	if size <= 0 {
		return
	}
	if err := conn.SetReadBuffer(size); err != nil {
		logger.Warn("SFU socket read buffer not set", "bytes", size, "err", err)
	}
	if err := conn.SetWriteBuffer(size); err != nil {
		logger.Warn("SFU socket write buffer not set", "bytes", size, "err", err)
	}
	if rcv, snd, ok := granted(conn); ok && (rcv < size || snd < size) {
		logger.Warn("the kernel granted smaller SFU socket buffers than asked (raise net.core.rmem_max and wmem_max)",
			"asked", size, "read", rcv, "write", snd)
	}
}
