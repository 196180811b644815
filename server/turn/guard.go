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
	a = embeddedIPv4(a)
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

// IPv6 ranges that carry an IPv4 address, which is where their packets end
// up: the relay's host or a gateway beside it translates them.
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")          // deprecated (RFC 4291), still routed by some stacks
	nat64          = netip.MustParsePrefix("64:ff9b::/96")   // well-known NAT64 prefix (RFC 6052)
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215), IPv4 in the last 32 bits
	sixToFour      = netip.MustParsePrefix("2002::/16")      // 6to4 (RFC 3056), IPv4 in bits 16–47
)

// embeddedIPv4 returns the IPv4 address that a, an IPv6 address, stands
// for: IPv4-mapped, IPv4-compatible, NAT64 or 6to4; else a. The guard
// checks that address, so that ::7f00:1 or 64:ff9b::a00:1 is as refused as
// 127.0.0.1 or 10.0.0.1.
func embeddedIPv4(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if !a.Is6() {
		return a
	}
	b := a.As16()
	switch {
	case ipv4Compatible.Contains(a), nat64.Contains(a), nat64Local.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16]))
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6]))
	}
	return a
}
