package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
)

// Defaults, used where a Config leaves a field at zero.
const (
	DefaultAddr  = "127.0.0.1:3478"
	DefaultRealm = "skywasm"
	// DefaultMaxAllocationsPerPeer holds a mesh room of 11 members: a
	// browser gathers a relay on each of the three URLs (turn: over UDP
	// and TCP, turns:) for each of its ten connections. (It was 4, which
	// left a peer's third connection with no relay at all.)
	DefaultMaxAllocationsPerPeer = 30
	DefaultMaxAllocationsPerIP   = 32
	// A TCP or TLS connection carries one allocation: twice the
	// allocations leaves room for connections that have not made theirs
	// yet, or are about to close.
	DefaultMaxConnsPerIP = 2 * DefaultMaxAllocationsPerIP
	// DefaultHandshakesPerIP and DefaultHandshakeBurstPerIP let one
	// address open its DefaultMaxConnsPerIP connections at once, then 20 a
	// second: a NAT's worth of ICE gathering, not a flood of TLS
	// handshakes.
	DefaultHandshakesPerIP     = 20
	DefaultHandshakeBurstPerIP = DefaultMaxConnsPerIP
	// DefaultRelayBandwidth, 2 MiB/s (about 16 Mbit/s), carries a 1080p
	// video call with room to spare.
	DefaultRelayBandwidth   = 2 << 20
	DefaultMaxCredentialTTL = 24 * time.Hour
)

// MinRelayBandwidth is the least RelayBandwidth Validate accepts: with a
// burst of one second's worth, less would never let a full-size packet
// through.
const MinRelayBandwidth = 8 << 10

// Config configures a Server. Fields left at zero take the defaults above
// (New fills them in); Validate refuses values that cannot work.
type Config struct {
	// UDPAddr and TCPAddr are the host:port of the TURN listeners over UDP
	// and TCP. "" turns that listener off; port 0 picks a free port.
	UDPAddr, TCPAddr string
	// TLSAddr is the host:port of the turns: listener (TURN over TLS),
	// which serves with TLS. Both or neither must be set.
	TLSAddr string
	TLS     *tls.Config

	// RelayIP is the IP address the allocations' relay sockets bind to and
	// advertise. Default: the IP of the first listener (UDP, TCP, TLS)
	// when it is not unspecified.
	RelayIP string
	// PublicRelayIP, when set, is advertised instead of RelayIP: the
	// public address behind a 1:1 NAT. RelayIP may then be unspecified
	// ("0.0.0.0") to bind every local address.
	PublicRelayIP string
	// PublicHost is the host name or IP put into the URLs given to clients.
	// Default: the listener's IP. turns: URLs need the name the TLS
	// certificate is for.
	PublicHost string
	// Realm is the TURN realm.
	Realm string

	// Apps finds an app's secret and permissions by API key. Required.
	Apps *config.Config
	// AllowedPeers are peer addresses allowed although they are in a
	// refused class (tests use 127.0.0.0/8 and ::1/128).
	AllowedPeers []netip.Prefix
	// MaxAllocationsPerPeer is the most live allocations of one API key
	// and peer ID.
	MaxAllocationsPerPeer int
	// MaxAllocationsPerIP is the most live allocations made from one
	// client IP address, whatever the credentials: one address cannot
	// farm allocations with many peer IDs.
	MaxAllocationsPerIP int
	// MaxConnsPerIP is the most TCP and TLS connections one client
	// address holds at once; past it a new one is closed as soon as it is
	// accepted, before any TLS handshake.
	MaxConnsPerIP int
	// HandshakesPerIP and HandshakeBurstPerIP bound the TCP and TLS
	// connections one client address opens a second (a token bucket), so
	// that no address makes the server do TLS handshakes at will.
	HandshakesPerIP     int
	HandshakeBurstPerIP int
	// MaxAllocations is the most live allocations of the server. Each is
	// a socket: by default a quarter of the process's file-descriptor
	// limit, so that allocations cannot starve signaling and HTTP.
	MaxAllocations int
	// MaxConns is the most TCP and TLS connections of the server, from
	// all addresses; past it a new one is closed as soon as it is
	// accepted. Default: MaxAllocations, since a connection carries one
	// allocation, so that TURN holds at most half the process's file
	// descriptors by default, whatever the number of client addresses.
	MaxConns int
	// RelayBandwidth is each allocation's budget in bytes per second, both
	// directions summed, with a burst of one second's worth.
	RelayBandwidth int
	// MaxCredentialTTL is how long a credential from Credential is valid.
	MaxCredentialTTL time.Duration

	// Logger receives refusals (Info) and pion's logs (Debug and up);
	// nil discards them.
	Logger *slog.Logger
	// Metrics counts allocations, relayed bytes and refusals; nil counts
	// into collectors nobody registered.
	Metrics *metrics.TURN
	// Now is the clock credentials are issued and checked by; nil means
	// time.Now. The bandwidth buckets always use the real clock.
	Now func() time.Time
}

// DefaultConfig returns the configuration of a server on loopback only:
// UDP and TCP on 127.0.0.1:3478, no TLS, and no peer allowed beyond the
// rules. Apps must still be set.
func DefaultConfig() Config {
	return Config{
		UDPAddr:               DefaultAddr,
		TCPAddr:               DefaultAddr,
		Realm:                 DefaultRealm,
		MaxAllocationsPerPeer: DefaultMaxAllocationsPerPeer,
		MaxAllocationsPerIP:   DefaultMaxAllocationsPerIP,
		MaxConnsPerIP:         DefaultMaxConnsPerIP,
		HandshakesPerIP:       DefaultHandshakesPerIP,
		HandshakeBurstPerIP:   DefaultHandshakeBurstPerIP,
		RelayBandwidth:        DefaultRelayBandwidth,
		MaxCredentialTTL:      DefaultMaxCredentialTTL,
	}
}

// applyDefaults fills in the fields left at zero, except RelayIP, which
// depends on the listeners.
func (c *Config) applyDefaults() {
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.MaxAllocationsPerPeer == 0 {
		c.MaxAllocationsPerPeer = DefaultMaxAllocationsPerPeer
	}
	if c.MaxAllocationsPerIP == 0 {
		c.MaxAllocationsPerIP = DefaultMaxAllocationsPerIP
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.HandshakesPerIP == 0 {
		c.HandshakesPerIP = DefaultHandshakesPerIP
	}
	if c.HandshakeBurstPerIP == 0 {
		c.HandshakeBurstPerIP = DefaultHandshakeBurstPerIP
	}
	if c.MaxAllocations == 0 {
		c.MaxAllocations = defaultMaxAllocations()
	}
	if c.MaxConns == 0 {
		c.MaxConns = c.MaxAllocations
	}
	if c.RelayBandwidth == 0 {
		c.RelayBandwidth = DefaultRelayBandwidth
	}
	if c.MaxCredentialTTL == 0 {
		c.MaxCredentialTTL = DefaultMaxCredentialTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewTURN(nil)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem in c, each naming its field as in
// `UDPAddr: "x" is not host:port`. Zero values are allowed where they mean
// the default.
func (c *Config) Validate() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	// unspecified reports whether a listener address binds every local
	// address ("", "0.0.0.0", "::"), when no IP can be derived from it.
	unspecified := func(field, addr string) bool {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			fail(field, "%q is not host:port", addr)
			return false
		}
		ip, err := netip.ParseAddr(host)
		return host == "" || err == nil && ip.IsUnspecified()
	}
	// wildcard: the first listener binds every address; anyWildcard: one
	// of them does.
	wildcard, anyWildcard, seen := false, false, false
	for _, l := range []struct{ field, addr string }{{"UDPAddr", c.UDPAddr}, {"TCPAddr", c.TCPAddr}, {"TLSAddr", c.TLSAddr}} {
		if l.addr == "" {
			continue
		}
		u := unspecified(l.field, l.addr)
		anyWildcard = anyWildcard || u
		if !seen {
			wildcard, seen = u, true
		}
	}
	if !seen {
		fail("UDPAddr", "at least one of UDPAddr, TCPAddr and TLSAddr is required")
	}
	switch {
	case c.TLSAddr != "" && c.TLS == nil:
		fail("TLS", "required with TLSAddr")
	case c.TLSAddr == "" && c.TLS != nil:
		fail("TLSAddr", "required with TLS")
	}

	// The relay needs an address to advertise: RelayIP, PublicRelayIP or
	// the first listener's own.
	relayWildcard := wildcard
	if c.RelayIP != "" {
		ip, err := netip.ParseAddr(c.RelayIP)
		if err != nil || ip.Zone() != "" {
			fail("RelayIP", "%q is not an IP address", c.RelayIP)
		}
		relayWildcard = err == nil && ip.IsUnspecified()
	}
	if c.PublicRelayIP != "" {
		ip, err := netip.ParseAddr(c.PublicRelayIP)
		switch {
		case err != nil || ip.Zone() != "":
			fail("PublicRelayIP", "%q is not an IP address", c.PublicRelayIP)
		case ip.IsUnspecified():
			fail("PublicRelayIP", "%q is unspecified", c.PublicRelayIP)
		}
	} else if relayWildcard {
		fail("RelayIP", "required (or PublicRelayIP) when the relay would bind every address: there is no address to advertise")
	}
	if c.PublicHost == "" && anyWildcard {
		fail("PublicHost", "required when a listener binds every address: there is no address to put in its URL")
	}

	if c.Apps == nil {
		fail("Apps", "required")
	}
	for i, p := range c.AllowedPeers {
		if !p.IsValid() {
			fail(fmt.Sprintf("AllowedPeers[%d]", i), "invalid prefix")
		}
	}
	if c.MaxAllocationsPerPeer < 0 {
		fail("MaxAllocationsPerPeer", "must not be negative, is %d", c.MaxAllocationsPerPeer)
	}
	if c.MaxAllocationsPerIP < 0 {
		fail("MaxAllocationsPerIP", "must not be negative, is %d", c.MaxAllocationsPerIP)
	}
	if c.MaxConnsPerIP < 0 {
		fail("MaxConnsPerIP", "must not be negative, is %d", c.MaxConnsPerIP)
	}
	if c.HandshakesPerIP < 0 || c.HandshakeBurstPerIP < 0 {
		fail("HandshakesPerIP", "HandshakesPerIP and HandshakeBurstPerIP must not be negative, are %d and %d", c.HandshakesPerIP, c.HandshakeBurstPerIP)
	}
	if c.MaxAllocations < 0 {
		fail("MaxAllocations", "must not be negative, is %d", c.MaxAllocations)
	}
	if c.MaxConns < 0 {
		fail("MaxConns", "must not be negative, is %d", c.MaxConns)
	}
	if c.RelayBandwidth != 0 && c.RelayBandwidth < MinRelayBandwidth {
		fail("RelayBandwidth", "must be at least %d bytes/s, is %d", MinRelayBandwidth, c.RelayBandwidth)
	}
	if c.MaxCredentialTTL < 0 {
		fail("MaxCredentialTTL", "must not be negative, is %s", c.MaxCredentialTTL)
	}
	return errors.Join(errs...)
}
