package main

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/skywasm/skywasm/server/config"
)

func TestTURNConfig(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	certs := &certFiles{}
	tests := []struct {
		name       string
		o          serveOptions
		addr, ln   string
		dev, tls   bool
		err        error
		off        bool
		udp, turns string
		allowed    []netip.Prefix
		// perIP is the file's network.turnPerIP; conns and handshakes
		// are the limits wanted (0: left to the TURN server's default).
		perIP             config.PerIP
		conns, handshakes int
	}{
		{name: "dev on localhost", addr: "localhost:8080", ln: "127.0.0.1:8080", dev: true, udp: "127.0.0.1:3478", allowed: loopback},
		{name: "tests on port 0", addr: "127.0.0.1:0", ln: "127.0.0.1:40000", dev: true, udp: "127.0.0.1:0", allowed: loopback},
		{name: "config on a public IP", addr: "192.0.2.1:443", ln: "192.0.2.1:443", udp: "192.0.2.1:3478"},
		{name: "dev on a public IP allows nothing", addr: "192.0.2.1:8080", ln: "192.0.2.1:8080", dev: true, udp: "192.0.2.1:3478"},
		{name: "TLS adds turns on 5349", addr: "192.0.2.1:443", ln: "192.0.2.1:443", tls: true, udp: "192.0.2.1:3478", turns: "192.0.2.1:5349"},
		{name: "TLS on port 0", addr: "127.0.0.1:0", ln: "127.0.0.1:40000", tls: true, udp: "127.0.0.1:0", turns: "127.0.0.1:0"},
		{name: "turns off", o: serveOptions{turnTLS: "off"}, addr: "192.0.2.1:443", ln: "192.0.2.1:443", tls: true, udp: "192.0.2.1:3478"},
		{name: "flags", o: serveOptions{turnAddr: "10.0.0.5:3478", turnTLS: "10.0.0.6:443", turnAllow: "10.0.0.0/8, 192.168.0.0/16"},
			addr: ":443", ln: "[::]:443", tls: true, udp: "10.0.0.5:3478", turns: "10.0.0.6:443",
			allowed: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")}},
		{name: "off", o: serveOptions{turnAddr: "off"}, addr: "127.0.0.1:0", ln: "127.0.0.1:40000", dev: true, off: true},
		{name: "wildcard needs an address", addr: ":8080", ln: "[::]:8080", err: errTURNWildcard},
		{name: "wildcard IPv4", addr: "0.0.0.0:8080", ln: "0.0.0.0:8080", err: errTURNWildcard},
		{name: "bad prefix", o: serveOptions{turnAllow: "10.0.0.1"}, addr: "127.0.0.1:0", ln: "127.0.0.1:1", err: errAny},
		{name: "per-IP limits from the file", addr: "192.0.2.1:443", ln: "192.0.2.1:443", udp: "192.0.2.1:3478",
			perIP: config.PerIP{Connections: 10, HandshakesPerSecond: 2}, conns: 10, handshakes: 2},
		{name: "per-IP flags win over the file", o: serveOptions{turnConnsIP: 7, turnHandshakesIP: 3},
			addr: "192.0.2.1:443", ln: "192.0.2.1:443", udp: "192.0.2.1:3478",
			perIP: config.PerIP{Connections: 10, HandshakesPerSecond: 2}, conns: 7, handshakes: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c *certFiles
			if tt.tls {
				c = certs
			}
			cfg, err := tt.o.turnConfig(tt.addr, fakeAddr(tt.ln), tt.dev, c, tt.perIP)
			switch {
			case tt.err == errAny && err != nil, tt.err != nil && errors.Is(err, tt.err):
				return
			case tt.err != nil || err != nil:
				t.Fatalf("error %v, want %v", err, tt.err)
			case tt.off:
				if cfg != nil {
					t.Errorf("config %+v, want none", cfg)
				}
				return
			}
			if cfg.UDPAddr != tt.udp || cfg.TCPAddr != tt.udp || cfg.TLSAddr != tt.turns {
				t.Errorf("UDP %q TCP %q TLS %q, want %q, %q, %q", cfg.UDPAddr, cfg.TCPAddr, cfg.TLSAddr, tt.udp, tt.udp, tt.turns)
			}
			if (cfg.TLS != nil) != (tt.turns != "") {
				t.Errorf("TLS config set: %v, want %v", cfg.TLS != nil, tt.turns != "")
			}
			if !slices.Equal(cfg.AllowedPeers, tt.allowed) {
				t.Errorf("allowed peers %v, want %v", cfg.AllowedPeers, tt.allowed)
			}
			if cfg.MaxConnsPerIP != tt.conns || cfg.HandshakesPerIP != tt.handshakes {
				t.Errorf("per IP: %d connections, %d handshakes a second; want %d, %d", cfg.MaxConnsPerIP, cfg.HandshakesPerIP, tt.conns, tt.handshakes)
			}
		})
	}
}

// errAny in a test table means any error will do.
var errAny = errors.New("any error")
