//go:build js && wasm

package sdk

import "github.com/pion/webrtc/v4"

// Configuration is what PeerOptions.Config takes in the browser build:
// the members of webrtc.Configuration that pion's browser build passes to
// the page's RTCPeerConnection, without Certificates, which it cannot use.
// Through them webrtc.Configuration would bring crypto/x509's certificate
// printing, encoding/asn1's encoder and math/big's formatting into
// sdk.wasm: the linker keeps, for every type reachable from one stored in
// an interface (the bridge stores its Peers so), each method that an
// interface in the program could call, such as a String. With
// httpClient, this keeps about 50 KiB out of sdk.wasm's brotli bytes;
// either alone, almost nothing.
type Configuration struct {
	ICEServers                  []webrtc.ICEServer
	ICETransportPolicy          webrtc.ICETransportPolicy
	BundlePolicy                webrtc.BundlePolicy
	RTCPMuxPolicy               webrtc.RTCPMuxPolicy
	PeerIdentity                string
	ICECandidatePoolSize        uint8
	AlwaysNegotiateDataChannels bool
	RTPHeaderEncryptionPolicy   webrtc.RTPHeaderEncryptionPolicy
}

// httpClient is what PeerOptions.HTTPClient points to in the browser build,
// which ignores it: a placeholder, for the same reason as Configuration
// (net/http's Client reaches crypto/x509's certificates through its
// responses' TLS state).
type httpClient struct{}

func pionConfiguration(c Configuration) webrtc.Configuration {
	return webrtc.Configuration{
		ICEServers:                  c.ICEServers,
		ICETransportPolicy:          c.ICETransportPolicy,
		BundlePolicy:                c.BundlePolicy,
		RTCPMuxPolicy:               c.RTCPMuxPolicy,
		PeerIdentity:                c.PeerIdentity,
		ICECandidatePoolSize:        c.ICECandidatePoolSize,
		AlwaysNegotiateDataChannels: c.AlwaysNegotiateDataChannels,
		RTPHeaderEncryptionPolicy:   c.RTPHeaderEncryptionPolicy,
	}
}
