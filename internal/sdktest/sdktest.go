//go:build !js

// Package sdktest runs what the SDK's tests need natively: a real skywasm
// server on 127.0.0.1, a TCP proxy that can cut connections the way a
// network does, and a pion API that finds loopback candidates. It is for
// skywasm's own tests and benchmarks.
package sdktest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/loopback"
	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/sfu"
	"github.com/skywasm/skywasm/server/signaling"
	"github.com/skywasm/skywasm/server/turn"
)

// Keys of the test server's apps.
const (
	// Key is an app with every permission.
	Key = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	// AuthKey is an app that requires peer authentication.
	AuthKey = "2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e"
	// Secret is both apps' secret.
	Secret = "sdktest-secret-0123456789"
)

// Server is a skywasm server on loopback.
type Server struct {
	// URL is the base address, http://127.0.0.1:port.
	URL string
	// Signaling is the signaling plane's configuration as started.
	Signaling signaling.Config

	apps *config.Config
	turn bool
	mu   sync.Mutex
	srv  *server.Server
	http *httptest.Server
}

// StartServer starts a server for the test and stops it at cleanup.
// adjust may change the signaling configuration before it starts.
func StartServer(t testing.TB, adjust func(*signaling.Config)) *Server {
	t.Helper()
	return Start(t, Options{Signaling: adjust})
}

// Options choose what a test server runs besides signaling and the SFU.
type Options struct {
	// Signaling, if set, changes the signaling configuration.
	Signaling func(*signaling.Config)
	// TURN starts the embedded TURN server on 127.0.0.1, relaying to
	// loopback, so that OPEN carries credentials for it.
	TURN bool
}

// Start starts a server with opts for the test and stops it at cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	adjust := opts.Signaling
	app := func(key string) config.App {
		return config.App{
			Key: key, Secret: Secret,
			Permissions: config.Permissions{ListPeers: true, SFU: true, TURN: true},
			Limits:      config.Limits{MaxPeers: 200, MaxRoomMembers: 16},
		}
	}
	auth := app(AuthKey)
	auth.Permissions.PeerAuthentication = true
	scfg := signaling.DefaultConfig()
	scfg.ReclaimWindow = 5 * time.Second
	if adjust != nil {
		adjust(&scfg)
	}
	s := &Server{Signaling: scfg, apps: &config.Config{Addr: "127.0.0.1:0", Apps: []config.App{app(Key), auth}}, turn: opts.TURN}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(ln); err != nil {
		t.Fatal(err)
	}
	s.URL = s.http.URL
	t.Cleanup(s.Close)
	return s
}

func (s *Server) start(ln net.Listener) error {
	scfg := s.Signaling
	sfuCfg := sfu.DefaultConfig()
	sfuCfg.UDPAddr = "127.0.0.1:0"
	var turnCfg *turn.Config
	if s.turn {
		c := turn.DefaultConfig()
		c.UDPAddr, c.TCPAddr = "127.0.0.1:0", "127.0.0.1:0"
		c.AllowedPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		turnCfg = &c
	}
	srv, err := server.New(server.Options{Config: s.apps, Signaling: &scfg, SFU: &sfuCfg, TURN: turnCfg})
	if err != nil {
		_ = ln.Close()
		return err
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	_ = hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	s.mu.Lock()
	s.srv, s.http = srv, hs
	s.mu.Unlock()
	return nil
}

// Close shuts the server down, closing every socket with 1001 as a
// server going away does; it is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	srv, hs := s.srv, s.http
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	hs.CloseClientConnections()
	hs.Close()
}

// Restart shuts the server down and starts a new one, with no memory of
// the old one's peers, on the same address.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Close()
	ln, err := net.Listen("tcp", s.URL[len("http://"):])
	if err != nil {
		t.Fatalf("listening again on %s: %v", s.URL, err)
	}
	if err := s.start(ln); err != nil {
		t.Fatal(err)
	}
}

// ShortICETimeouts makes ICE give up within about a second, for tests of
// what follows a failure.
func ShortICETimeouts(se *webrtc.SettingEngine) {
	se.SetICETimeouts(300*time.Millisecond, time.Second, 100*time.Millisecond)
}

// LoopbackAPI is loopback.API, kept here beside the server the tests
// talk to: a pion API that gathers host candidates on loopback only.
func LoopbackAPI(adjust ...func(*webrtc.SettingEngine)) (*webrtc.API, error) {
	return loopback.API(adjust...)
}

// LoopbackAPIWith is LoopbackAPI with extra interceptors after pion's
// default ones, for tests that watch RTP or RTCP.
func LoopbackAPIWith(extra []interceptor.Factory, adjust ...func(*webrtc.SettingEngine)) (*webrtc.API, error) {
	return loopback.APIWith(extra, adjust...)
}

// Proxy forwards TCP connections to a target and can cut them all at
// once, which a client sees as the network dropping: no close frame, no
// FIN it could tell from a crash.
type Proxy struct {
	// URL is the proxy's base address, http://127.0.0.1:port.
	URL string

	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// StartProxy forwards to the server at baseURL (http://host:port) until
// the test ends.
func StartProxy(t testing.TB, baseURL string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), ln: ln, target: baseURL[len("http://"):], conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, err := io.Copy(dst, src)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		_ = err // a cut connection ends here
	}
	p.forget(dst)
	p.forget(src)
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	// Reset rather than FIN: the far end sees the network fail.
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// Cut drops every connection through the proxy; new ones are still
// accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		p.forget(c)
	}
}

// Close stops the proxy and cuts its connections.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

// Blackhole is a UDP socket on 127.0.0.1 that can stop carrying packets in
// both directions at once, as a frozen process or a cut cable does: the far
// side hears nothing, not even a DTLS close. Use it with WithUDP.
type Blackhole struct {
	net.PacketConn
	frozen atomic.Bool
}

// NewBlackhole listens on a free UDP port of 127.0.0.1 until the test ends.
func NewBlackhole(t testing.TB) *Blackhole {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Blackhole{PacketConn: c}
	t.Cleanup(func() { _ = c.Close() })
	return b
}

// Freeze stops all traffic from now on.
func (b *Blackhole) Freeze() { b.frozen.Store(true) }

// Thaw lets traffic through again, as a network that comes back does.
func (b *Blackhole) Thaw() { b.frozen.Store(false) }

// ReadFrom drops what arrives while frozen.
func (b *Blackhole) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := b.PacketConn.ReadFrom(p)
		if err != nil || !b.frozen.Load() {
			return n, addr, err
		}
	}
}

// WriteTo pretends to send while frozen.
func (b *Blackhole) WriteTo(p []byte, addr net.Addr) (int, error) {
	if b.frozen.Load() {
		return len(p), nil
	}
	return b.PacketConn.WriteTo(p, addr)
}

// WithUDP makes every PeerConnection of the API use conn for ICE.
func WithUDP(conn net.PacketConn) func(*webrtc.SettingEngine) {
	return func(se *webrtc.SettingEngine) {
		se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, conn))
	}
}
