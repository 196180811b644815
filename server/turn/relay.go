package turn

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// maxCachedAddrs bounds a relay socket's cache of peer addresses. A call
// talks to a handful of ICE candidates; the bound only matters against a
// flood from many ports of a permitted address.
const maxCachedAddrs = 64

// relayGenerator is the RelayAddressGenerator of every listener: it opens
// each allocation's UDP socket on the relay IP and wraps it in a
// relayConn.
type relayGenerator struct{ s *Server }

// Validate implements turn.RelayAddressGenerator; New has validated the
// addresses already.
func (relayGenerator) Validate() error { return nil }

// AllocatePacketConn implements turn.RelayAddressGenerator: it opens the
// relay socket of a UDP allocation, within the peer's quota.
func (g relayGenerator) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	return g.s.allocateRelay(conf)
}

// AllocateListener implements turn.RelayAddressGenerator: TCP allocations
// (RFC 6062) are not offered.
func (relayGenerator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPRelay
}

// AllocateConn implements turn.RelayAddressGenerator: TCP allocations
// (RFC 6062) are not offered.
func (relayGenerator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPRelay
}

// allocateRelay opens a relay socket for conf.UserID. The quota is counted
// here, under the same lock as it is checked, so that racing Allocates
// cannot exceed it; pion also opens sockets without a user (to find an
// even port) and closes them at once: those are not counted.
func (s *Server) allocateRelay(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if (conf.Network == "udp6") != (s.relayIP.To4() == nil) {
		return nil, nil, errRelayFamily
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, nil, errClosed
	case conf.UserID != "" && s.perPeer[conf.UserID] >= s.cfg.MaxAllocationsPerPeer:
		n := s.perPeer[conf.UserID]
		s.mu.Unlock()
		s.refuse(reasonQuota, "user", conf.UserID, "allocations", n)
		return nil, nil, errQuota
	case conf.UserID != "":
		s.perPeer[conf.UserID]++
	}
	s.mu.Unlock()

	conn, err := net.ListenUDP(conf.Network, &net.UDPAddr{IP: s.relayIP, Port: conf.RequestedPort})
	if err != nil {
		s.release(conf.UserID)
		return nil, nil, err
	}
	bound := conn.LocalAddr().(*net.UDPAddr)
	advertised := &net.UDPAddr{IP: s.advertisedIP, Port: bound.Port}
	r := newRelayConn(conn, s, conf.UserID, advertised.String(), s.cfg.RelayBandwidth, time.Now())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = r.Close()
		return nil, nil, errClosed
	}
	s.relays[r.key] = r
	s.mu.Unlock()
	return r, advertised, nil
}

// release gives back a relay socket of userID's quota.
func (s *Server) release(userID string) {
	if userID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perPeer[userID]--; s.perPeer[userID] <= 0 {
		delete(s.perPeer, userID)
	}
}

// relayConn is an allocation's relay socket as pion sees it: it drops
// packets from peers without a permission before they cost anything, and
// packets over the allocation's bandwidth in either direction. ReadFrom
// and WriteTo, the relay's hot path, allocate nothing once a peer's
// address is known.
type relayConn struct {
	*net.UDPConn
	s    *Server
	user string // "<key>:<peerId>", "" for pion's even-port probes
	key  string // the advertised address, its key in Server.relays

	toPeer, fromPeer, dropped prometheus.Counter

	mu     sync.Mutex
	bucket tokenBucket
	// peers mirrors the allocation's permissions (pion's events), so
	// that packets from anyone else are dropped before they spend the
	// budget: otherwise a flood at the relay address from a stranger
	// would starve the call.
	peers map[netip.Addr]struct{}
	// addrs hands pion the same *net.UDPAddr for every packet of a peer,
	// rather than a new one each time.
	addrs map[netip.AddrPort]*net.UDPAddr

	closeOnce sync.Once
	closeErr  error

	// Guarded by Server.mu, for Close to wait for pion's reader.
	hasReader  bool // pion made an allocation on it and reads it
	readerDone bool // the reader saw the socket closed
	deleted    bool // pion deleted the allocation
}

func newRelayConn(conn *net.UDPConn, s *Server, user, key string, bandwidth int, now time.Time) *relayConn {
	return &relayConn{
		UDPConn:  conn,
		s:        s,
		user:     user,
		key:      key,
		toPeer:   s.cfg.Metrics.BytesToPeer,
		fromPeer: s.cfg.Metrics.BytesFromPeer,
		dropped:  s.cfg.Metrics.BytesDropped,
		bucket:   newTokenBucket(bandwidth, now),
		peers:    make(map[netip.Addr]struct{}),
		addrs:    make(map[netip.AddrPort]*net.UDPAddr),
	}
}

// ReadFrom returns the next packet from a permitted peer that fits the
// budget. pion's one reader calls it; its error ends the allocation.
func (r *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, from, err := r.ReadFromUDPAddrPort(p)
		if err != nil {
			r.s.relayReaderDone(r)
			return 0, nil, err
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		r.mu.Lock()
		if _, ok := r.peers[from.Addr()]; !ok {
			r.mu.Unlock()
			continue
		}
		if !r.bucket.take(n, time.Now()) {
			r.mu.Unlock()
			r.dropped.Add(float64(n))
			continue
		}
		addr := r.addrs[from]
		if addr == nil {
			if len(r.addrs) >= maxCachedAddrs {
				clear(r.addrs)
			}
			addr = net.UDPAddrFromAddrPort(from)
			r.addrs[from] = addr
		}
		r.mu.Unlock()
		r.fromPeer.Add(float64(n))
		return n, addr, nil
	}
}

// WriteTo sends p to a peer if it fits the budget. A packet over it is
// dropped and reported sent, as the network might have dropped it.
func (r *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errNotUDPAddress
	}
	to := ua.AddrPort()
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	r.mu.Lock()
	ok = r.bucket.take(len(p), time.Now())
	r.mu.Unlock()
	if !ok {
		r.dropped.Add(float64(len(p)))
		return len(p), nil
	}
	n, err := r.WriteToUDPAddrPort(p, to)
	r.toPeer.Add(float64(n))
	return n, err
}

// Close closes the socket and gives back its place in the quota. pion
// may close it more than once (when an allocation is deleted and when its
// listener stops); only the first counts.
func (r *relayConn) Close() error {
	r.closeOnce.Do(func() {
		r.closeErr = r.UDPConn.Close()
		r.s.mu.Lock()
		if r.s.relays[r.key] == r {
			delete(r.s.relays, r.key)
		}
		r.s.mu.Unlock()
		r.s.release(r.user)
	})
	return r.closeErr
}

// setPermission mirrors a permission of the allocation being created or
// deleted.
func (r *relayConn) setPermission(ip net.IP, on bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return
	}
	a = a.Unmap()
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		r.peers[a] = struct{}{}
	} else {
		delete(r.peers, a)
	}
}

// tokenBucket holds an allocation's bandwidth: rate bytes a second, up to
// a burst of one second's worth. It starts empty, so that a fresh
// allocation is no way around the rate. Not safe for concurrent use.
type tokenBucket struct {
	rate   float64 // bytes per second
	burst  float64 // bytes
	tokens float64
	last   time.Time
}

func newTokenBucket(rate int, now time.Time) tokenBucket {
	return tokenBucket{rate: float64(rate), burst: float64(rate), last: now}
}

// take spends n bytes if they are there at now.
func (b *tokenBucket) take(n int, now time.Time) bool {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}
