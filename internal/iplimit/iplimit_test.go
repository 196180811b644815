package iplimit_test

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/iplimit"
)

func TestAcquire(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")

	t.Run("connections", func(t *testing.T) {
		l := iplimit.New(iplimit.Config{MaxConns: 2}, clock)
		for range 2 {
			if _, ok := l.Acquire(a); !ok {
				t.Fatal("refused within the limit")
			}
		}
		if why, ok := l.Acquire(a); ok || why != iplimit.TooManyConns {
			t.Fatalf("third connection: %v %v", why, ok)
		}
		if _, ok := l.Acquire(b); !ok {
			t.Fatal("another address refused")
		}
		l.Release(a)
		if _, ok := l.Acquire(a); !ok {
			t.Fatal("refused after a release")
		}
	})
	t.Run("rate", func(t *testing.T) {
		l := iplimit.New(iplimit.Config{Rate: 10, Burst: 3}, clock)
		for range 3 {
			if _, ok := l.Acquire(a); !ok {
				t.Fatal("refused within the burst")
			}
			l.Release(a)
		}
		if why, ok := l.Acquire(a); ok || why != iplimit.TooFast {
			t.Fatalf("past the burst: %v %v", why, ok)
		}
		now = now.Add(100 * time.Millisecond)
		if _, ok := l.Acquire(a); !ok {
			t.Fatal("refused after a token came back")
		}
	})
}

func TestForgets(t *testing.T) {
	t.Parallel()
	l := iplimit.New(iplimit.Config{MaxConns: 1}, nil)
	for i := range 5000 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		l.Acquire(ip)
		l.Release(ip)
	}
	if n := l.Len(); n >= 1024 {
		t.Fatalf("remembers %d idle addresses", n)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	l := iplimit.New(iplimit.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, nil)
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct", "198.51.100.7:1234", "", "198.51.100.7"},
		{"untrusted peer's header is ignored", "198.51.100.7:1234", "203.0.113.9", "198.51.100.7"},
		{"behind a trusted proxy", "10.1.2.3:80", "203.0.113.9", "203.0.113.9"},
		{"a client cannot prepend", "10.1.2.3:80", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
		{"two trusted proxies", "10.1.2.3:80", "203.0.113.9, 10.9.9.9", "203.0.113.9"},
		{"garbled header", "10.1.2.3:80", "nonsense", "10.1.2.3"},
		{"IPv6", "[2001:db8::1]:443", "", "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := l.ClientIP(r); got != netip.MustParseAddr(tt.want) {
				t.Fatalf("ClientIP = %v, want %s", got, tt.want)
			}
		})
	}
}
