// Package iplimit bounds what one source address may hold and start: open
// connections (or requests in progress) and new ones a second, with the
// client's address taken from X-Forwarded-For only behind a trusted proxy.
//
// It must not know what it guards: no I/O, no logging, no HTTP responses.
package iplimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Config bounds each source address. A zero field does not bound.
type Config struct {
	// MaxConns is the most connections one address holds at once.
	MaxConns int
	// Rate and Burst bound new connections (handshakes) a second from one
	// address: a token bucket.
	Rate  float64
	Burst int
	// TrustedProxies are the addresses whose X-Forwarded-For is believed:
	// behind one, the client is the rightmost address in the header that
	// is not itself a trusted proxy.
	TrustedProxies []netip.Prefix
}

// Limiter applies a Config. The zero Limiter is not usable; create it with
// New. It is safe for concurrent use.
type Limiter struct {
	cfg Config
	now func() time.Time

	mu    sync.Mutex
	ips   map[netip.Addr]*entry
	calls int // Acquires since the last sweep
}

type entry struct {
	conns  int
	tokens float64
	last   time.Time
}

// New returns a Limiter; now may be nil for time.Now.
func New(cfg Config, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{cfg: cfg, now: now, ips: make(map[netip.Addr]*entry)}
}

// Why Acquire refused.
const (
	OK = iota
	TooManyConns
	TooFast
)

// Acquire takes a connection for ip, to be given back with Release. At a
// limit it reports false and which (TooManyConns or TooFast).
func (l *Limiter) Acquire(ip netip.Addr) (int, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls++; l.calls >= 1024 {
		l.sweepLocked(now)
	}
	e := l.ips[ip]
	if e == nil {
		e = &entry{tokens: float64(l.cfg.Burst), last: now}
		l.ips[ip] = e
	}
	if l.cfg.MaxConns > 0 && e.conns >= l.cfg.MaxConns {
		return TooManyConns, false
	}
	if l.cfg.Rate > 0 {
		e.tokens = min(float64(l.cfg.Burst), e.tokens+now.Sub(e.last).Seconds()*l.cfg.Rate)
		e.last = now
		if e.tokens < 1 {
			return TooFast, false
		}
		e.tokens--
	}
	e.conns++
	return OK, true
}

// Release gives back a connection of ip taken by Acquire.
func (l *Limiter) Release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.ips[ip]; e != nil {
		e.conns--
	}
}

// sweepLocked forgets addresses holding nothing whose bucket is full again.
func (l *Limiter) sweepLocked(now time.Time) {
	l.calls = 0
	for ip, e := range l.ips {
		refilled := l.cfg.Rate <= 0 || now.Sub(e.last).Seconds()*l.cfg.Rate >= float64(l.cfg.Burst)
		if e.conns <= 0 && refilled {
			delete(l.ips, ip)
		}
	}
}

// Len is how many addresses the limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ips)
}

// ClientIP is the address r comes from: its peer's, or behind a trusted
// proxy the rightmost untrusted one of X-Forwarded-For.
func (l *Limiter) ClientIP(r *http.Request) netip.Addr {
	ip := remoteIP(r.RemoteAddr)
	if !l.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip // a garbled header: the proxy is the client we know
		}
		hop = hop.Unmap()
		if !l.trusted(hop) {
			return hop
		}
		ip = hop
	}
	return ip
}

func (l *Limiter) trusted(ip netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// remoteIP parses http.Request.RemoteAddr.
func remoteIP(addr string) netip.Addr {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}
