package turn

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skywasm/skywasm/internal/iplimit"
	"github.com/skywasm/skywasm/internal/pionlog"
)

// Reasons for a refusal, the label values of metrics.TURN.Refusals.
const (
	reasonMalformed    = "malformed"      // the username is not ours
	reasonUnknownApp   = "unknown-app"    // no app has the username's API key
	reasonNoPermission = "no-permission"  // the app may not use TURN
	reasonExpired      = "expired"        // Allocate with an expired credential
	reasonIntegrity    = "bad-integrity"  // wrong password: forged or edited username
	reasonPeer         = "peer-refused"   // a permission to a refused peer address
	reasonQuota        = "quota"          // too many allocations for one peer
	reasonIPQuota      = "ip-quota"       // too many allocations from one client address
	reasonFull         = "full"           // the server has MaxAllocations
	reasonRevoked      = "revoked"        // the peer left signaling: its credential is void
	reasonIPConns      = "ip-connections" // too many TCP and TLS connections from one client address
	reasonIPRate       = "ip-handshakes"  // TCP and TLS connections opened too fast from one client address
	reasonConnsFull    = "conns-full"     // the server has MaxConns TCP and TLS connections
)

var reasons = []string{reasonMalformed, reasonUnknownApp, reasonNoPermission, reasonExpired, reasonIntegrity, reasonPeer, reasonQuota, reasonIPQuota, reasonFull, reasonRevoked, reasonIPConns, reasonIPRate, reasonConnsFull}

// Server is a running TURN server. Its methods are safe for concurrent
// use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	pion     *turn.Server
	refusals map[string]prometheus.Counter

	udp      *net.UDPConn // nil when off
	tcp, tls net.Listener // the TCP listeners, nil when off
	urls     []string

	// relayIP is what relay sockets bind to, advertisedIP what clients are
	// told (PublicRelayIP or relayIP); own holds the server's addresses,
	// which peers may not have.
	relayIP      net.IP
	advertisedIP net.IP
	own          map[netip.Addr]struct{}

	// connsPerIP bounds the TCP and TLS connections of each client
	// address, held and opened a second.
	connsPerIP *iplimit.Limiter

	// loops counts pion's goroutines that read a listener or a TCP
	// connection, readers those that read an allocation's relay socket.
	// Every allocation is made on a loop, so once loops is zero readers
	// only goes down.
	loops   sync.WaitGroup
	readers sync.WaitGroup
	// closing is closed when Close starts.
	closing chan struct{}

	mu      sync.Mutex
	closed  bool
	perPeer map[string]int           // live relay sockets by "<key>:<peerId>"
	perIP   map[netip.Addr]int       // live allocations by client address
	revoked map[string]time.Time     // "<key>:<peerId>" of peers gone, until their credentials expire
	relays  map[string]*relayConn    // by advertised relay address
	byTuple map[string]*relayConn    // by allocation five-tuple
	conns   map[*streamConn]struct{} // accepted TCP and TLS connections

	closeOnce sync.Once
	closeErr  error // Close's result, set within closeOnce
}

// New opens the listeners of cfg and starts serving. Fields of cfg left at
// zero take their defaults.
func New(cfg Config) (*Server, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("turn: invalid config: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		refusals: make(map[string]prometheus.Counter, len(reasons)),
		own:      make(map[netip.Addr]struct{}),
		closing:  make(chan struct{}),
		perPeer:  make(map[string]int),
		perIP:    make(map[netip.Addr]int),
		revoked:  make(map[string]time.Time),
		relays:   make(map[string]*relayConn),
		byTuple:  make(map[string]*relayConn),
		conns:    make(map[*streamConn]struct{}),
		connsPerIP: iplimit.New(iplimit.Config{
			MaxConns: cfg.MaxConnsPerIP, Rate: float64(cfg.HandshakesPerIP), Burst: cfg.HandshakeBurstPerIP,
		}, nil),
	}
	for _, r := range reasons {
		s.refusals[r] = cfg.Metrics.Refusals.WithLabelValues(r)
	}
	if err := s.listen(); err != nil {
		s.closeListeners()
		return nil, err
	}
	if err := s.setAddresses(); err != nil {
		s.closeListeners()
		return nil, err
	}

	gen := relayGenerator{s}
	sc := turn.ServerConfig{
		LoggerFactory: pionlog.New(s.log.With("component", "pion-turn")),
		Realm:         cfg.Realm,
		AuthHandler:   s.authenticate,
		QuotaHandler:  s.quota,
		EventHandler: turn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocationCreated,
			OnAllocationDeleted: s.onAllocationDeleted,
			OnPermissionCreated: s.onPermissionCreated,
			OnPermissionDeleted: s.onPermissionDeleted,
		},
	}
	// Each listener gets one loop goroutine from pion, counted here
	// because pion starts them before NewServer returns.
	if s.udp != nil {
		s.loops.Add(1)
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{
			PacketConn:            &packetListener{UDPConn: s.udp, done: s.loops.Done},
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permit,
		})
	}
	for _, ln := range []net.Listener{s.tcp, s.tls} {
		if ln == nil {
			continue
		}
		s.loops.Add(1)
		sl := &streamListener{Listener: ln, s: s}
		if ln == s.tls {
			sl.tls = cfg.TLS
		}
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener:              sl,
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permit,
		})
	}
	pion, err := turn.NewServer(sc)
	if err != nil {
		// NewServer fails only in validating the configuration, before
		// it starts any goroutine, so there is nothing to wait for.
		s.closeListeners()
		return nil, fmt.Errorf("turn: failed to start the server: %w", err)
	}
	s.pion = pion
	return s, nil
}

// listen opens the configured listeners.
func (s *Server) listen() error {
	if s.cfg.UDPAddr != "" {
		pc, err := net.ListenPacket("udp", s.cfg.UDPAddr)
		if err != nil {
			return fmt.Errorf("turn: failed to listen on UDP %s: %w", s.cfg.UDPAddr, err)
		}
		s.udp = pc.(*net.UDPConn)
	}
	if s.cfg.TCPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.TCPAddr)
		if err != nil {
			return fmt.Errorf("turn: failed to listen on TCP %s: %w", s.cfg.TCPAddr, err)
		}
		s.tcp = ln
	}
	if s.cfg.TLSAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.TLSAddr)
		if err != nil {
			return fmt.Errorf("turn: failed to listen on TLS %s: %w", s.cfg.TLSAddr, err)
		}
		s.tls = ln
	}
	return nil
}

// closeListeners closes what listen opened, when New fails.
func (s *Server) closeListeners() {
	if s.udp != nil {
		_ = s.udp.Close()
	}
	for _, ln := range []net.Listener{s.tcp, s.tls} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// setAddresses derives, from the configuration and the listeners' actual
// addresses, the relay's bind and advertised IPs, the server's own
// addresses and the URLs.
func (s *Server) setAddresses() error {
	type listener struct {
		addr      net.Addr
		scheme    string
		transport string
	}
	var ls []listener
	if s.udp != nil {
		ls = append(ls, listener{s.udp.LocalAddr(), "turn", "udp"})
	}
	if s.tcp != nil {
		ls = append(ls, listener{s.tcp.Addr(), "turn", "tcp"})
	}
	if s.tls != nil {
		ls = append(ls, listener{s.tls.Addr(), "turns", "tcp"})
	}
	wildcard := false
	for i, l := range ls {
		ap := addrPort(l.addr)
		ip := ap.Addr()
		wildcard = wildcard || ip.IsUnspecified()
		s.own[ip] = struct{}{}
		host := s.cfg.PublicHost
		if host == "" {
			host = ip.String()
		}
		s.urls = append(s.urls, l.scheme+":"+net.JoinHostPort(host, strconv.Itoa(int(ap.Port())))+"?transport="+l.transport)
		if i == 0 && s.cfg.RelayIP == "" {
			s.relayIP = net.IP(ip.AsSlice())
		}
	}
	if s.cfg.RelayIP != "" {
		s.relayIP = net.ParseIP(s.cfg.RelayIP)
	}
	s.advertisedIP = s.relayIP
	if s.cfg.PublicRelayIP != "" {
		s.advertisedIP = net.ParseIP(s.cfg.PublicRelayIP)
	}
	for _, ip := range []net.IP{s.relayIP, s.advertisedIP} {
		if a, ok := netip.AddrFromSlice(ip); ok {
			a = a.Unmap()
			wildcard = wildcard || a.IsUnspecified()
			s.own[a] = struct{}{}
		}
	}
	if !wildcard {
		return nil
	}
	// A socket on every address makes every local address the server's
	// own.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return fmt.Errorf("turn: failed to list the local addresses: %w", err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			s.own[p.Addr().Unmap()] = struct{}{}
		}
	}
	return nil
}

// addrPort returns a UDP or TCP address as a netip.AddrPort, unmapped.
func addrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// UDPAddr is the address of the UDP listener, nil when it is off.
func (s *Server) UDPAddr() net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.LocalAddr()
}

// TCPAddr is the address of the TCP listener, nil when it is off.
func (s *Server) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// TLSAddr is the address of the TLS listener, nil when it is off.
func (s *Server) TLSAddr() net.Addr {
	if s.tls == nil {
		return nil
	}
	return s.tls.Addr()
}

// URLs are the server's addresses for clients, in the form of RTCIceServer
// urls: "turn:HOST:PORT?transport=udp", "turn:HOST:PORT?transport=tcp" and
// "turns:HOST:PORT?transport=tcp", one per listener that is on. HOST is
// Config.PublicHost, or the listener's IP.
func (s *Server) URLs() []string {
	return append([]string(nil), s.urls...)
}

// Close stops the server: it closes the listeners, the TCP and TLS
// connections and every allocation, and returns once pion's goroutines
// that read them have seen it (their last steps, which only unlock and
// return, may still be running). Later calls return the first call's
// result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.closing)
		conns := make([]*streamConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()

		// pion closes the listeners but not the connections it accepted,
		// whose loops would otherwise run until their clients leave.
		err := s.pion.Close()
		for _, c := range conns {
			_ = c.raw.Close()
		}
		s.loops.Wait()

		// No loop is left to make an allocation. pion closes the
		// allocations of each listener when its loop ends; closing them
		// here too covers those of TCP connections whose listener loop
		// ended first.
		s.mu.Lock()
		relays := make([]*relayConn, 0, len(s.relays))
		for _, r := range s.relays {
			relays = append(relays, r)
		}
		s.mu.Unlock()
		for _, r := range relays {
			_ = r.Close()
		}
		s.readers.Wait()
		if err != nil {
			s.closeErr = fmt.Errorf("turn: failed to close the listeners: %w", err)
		}
	})
	return s.closeErr
}
