package turn

import (
	"net"
	"net/netip"
)

// refusedPrefixes are the peer ranges refused beyond what netip.Addr
// classifies (loopback, private, link-local, multicast, unspecified).
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network" (RFC 791); Linux routes 0.x to the host itself
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT (RFC 6598): the provider's side of the network
	netip.MustParsePrefix("255.255.255.255/32"), // limited broadcast
	netip.MustParsePrefix("fec0::/10"),          // site-local (deprecated, RFC 3879), still routed by some networks
}

// peerAllowed reports whether an allocation may have a permission for ip:
// never for the server's own networks (which a relay would let any
// credential holder probe) unless Config.AllowedPeers names it.
func (s *Server) peerAllowed(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, p := range s.cfg.AllowedPeers {
		if p.Contains(a) {
			return true
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range refusedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	_, own := s.own[a]
	return !own
}
