package main

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/turn"
)

// Default TURN ports (RFC 8656, section 18).
const (
	turnPort    = "3478"
	turnTLSPort = "5349"
)

// errTURNWildcard explains why TURN is off by default on a wildcard address.
var errTURNWildcard = errors.New("TURN is off: the server listens on every interface, so it cannot tell which address to relay from; give -turn-addr ip:port (and -turn-public-ip behind NAT)")

// turnConfig is the TURN server's configuration from the flags: nil with
// -turn-addr off. addr is the listen address asked for and ln the one got;
// perIP is the configuration file's network.turnPerIP, which the flags
// override.
//
// By default TURN listens on the listen host's port 3478 (port 0 when the
// listen port is 0, as in tests, so that servers side by side do not
// collide) and, with a certificate, 5349 for turns:. In dev mode on
// loopback it relays to loopback peers, or dev mode could not use it at all.
func (o *serveOptions) turnConfig(addr string, ln net.Addr, dev bool, certs *certFiles, perIP config.PerIP) (*turn.Config, error) {
	if o.turnAddr == "off" {
		return nil, nil
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		host = "127.0.0.1"
	}
	udp := o.turnAddr
	if udp == "" {
		if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
			return nil, errTURNWildcard
		}
		tport := turnPort
		if _, lnPort, _ := net.SplitHostPort(ln.String()); port == "0" && lnPort != "0" {
			tport = "0"
		}
		udp = net.JoinHostPort(host, tport)
	}
	c := turn.DefaultConfig()
	c.UDPAddr, c.TCPAddr = udp, udp
	c.MaxAllocations, c.MaxAllocationsPerIP, c.MaxAllocationsPerPeer = o.turnMaxAlloc, o.turnMaxAllocIP, o.turnMaxAllocPeer // 0: the defaults
	// Each is the flag, else the file's, else (0) the TURN server's default.
	c.MaxConnsPerIP = cmp.Or(o.turnConnsIP, perIP.Connections)
	c.HandshakesPerIP = cmp.Or(o.turnHandshakesIP, perIP.HandshakesPerSecond)
	c.HandshakeBurstPerIP = perIP.HandshakeBurst
	c.RelayIP, c.PublicRelayIP, c.PublicHost = o.turnRelayIP, o.turnPublicIP, o.turnHost
	if certs != nil && o.turnTLS != "off" {
		tlsAddr := o.turnTLS
		if tlsAddr == "" {
			thost, tport, _ := net.SplitHostPort(udp)
			if tport != "0" {
				tport = turnTLSPort
			}
			tlsAddr = net.JoinHostPort(thost, tport)
		}
		c.TLSAddr, c.TLS = tlsAddr, certs.config()
	}
	allow := splitList(o.turnAllow)
	if allow == nil && dev {
		thost, _, _ := net.SplitHostPort(udp)
		if ip, err := netip.ParseAddr(thost); err == nil && ip.IsLoopback() {
			allow = []string{"127.0.0.0/8", "::1/128"}
		}
	}
	for _, a := range allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("-turn-allow-peers: %w", err)
		}
		c.AllowedPeers = append(c.AllowedPeers, p)
	}
	return &c, nil
}
