package turn_test

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/server/turn"
)

// TestRelay relays a datagram each way between a TURN client, over each
// of the server's transports, and a plain UDP socket.
func TestRelay(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			u, p := e.credential(keyA, secretA, "alice")
			relay := e.dial(t, transport, u, p).allocate(t)
			if got := testutil.ToFloat64(e.metrics.Allocations); got != 1 {
				t.Errorf("allocations = %v, want 1", got)
			}
			far := peer(t)

			out := []byte("to the peer, through the relay")
			if _, err := relay.WriteTo(out, far.LocalAddr()); err != nil {
				t.Fatalf("relay.WriteTo: %v", err)
			}
			buf := make([]byte, 1500)
			_ = far.SetReadDeadline(time.Now().Add(wait))
			n, from, err := far.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("peer read: %v", err)
			}
			if !bytes.Equal(buf[:n], out) {
				t.Errorf("peer got %q, want %q", buf[:n], out)
			}
			if from.String() != relay.LocalAddr().String() {
				t.Errorf("peer got it from %v, want the relayed address %v", from, relay.LocalAddr())
			}

			back := []byte("back to the client")
			if _, err := far.WriteToUDP(back, from); err != nil {
				t.Fatal(err)
			}
			_ = relay.SetReadDeadline(time.Now().Add(wait))
			n, src, err := relay.ReadFrom(buf)
			if err != nil {
				t.Fatalf("relay.ReadFrom: %v", err)
			}
			if !bytes.Equal(buf[:n], back) {
				t.Errorf("client got %q, want %q", buf[:n], back)
			}
			if src.String() != far.LocalAddr().String() {
				t.Errorf("client got it from %v, want %v", src, far.LocalAddr())
			}

			// The relay counts a packet once sent, which may be after the
			// peer has it.
			eventually(t, "the relayed bytes to be counted", func() bool {
				return testutil.ToFloat64(e.metrics.BytesToPeer) == float64(len(out)) &&
					testutil.ToFloat64(e.metrics.BytesFromPeer) == float64(len(back))
			})
			if err := relay.Close(); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the allocation to be deleted", func() bool {
				return testutil.ToFloat64(e.metrics.Allocations) == 0
			})
			if got := testutil.ToFloat64(e.metrics.AllocationsTotal); got != 1 {
				t.Errorf("allocations total = %v, want 1", got)
			}
		})
	}
}

// TestAuthRefused makes an Allocate with each kind of bad credential: each
// is answered 401, counted under its reason and logged without the
// password.
func TestAuthRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cred   func(e *env) (username, password string)
		reason string
	}{
		{"expired", func(e *env) (string, string) {
			u := turn.Username(e.clock.Now().Add(-time.Second), keyA, "alice")
			return u, turn.Password(secretA, u)
		}, "expired"},
		{"edited peer ID", func(e *env) (string, string) {
			_, p := e.credential(keyA, secretA, "alice")
			u, _ := e.credential(keyA, secretA, "mallory")
			return u, p
		}, "bad-integrity"},
		{"edited expiry", func(e *env) (string, string) {
			_, p := e.credential(keyA, secretA, "alice")
			return turn.Username(e.clock.Now().Add(48*time.Hour), keyA, "alice"), p
		}, "bad-integrity"},
		{"other app's secret", func(e *env) (string, string) {
			return e.credential(keyA, secretB, "alice")
		}, "bad-integrity"},
		{"app without TURN", func(e *env) (string, string) {
			return e.credential(keyNoTURN, secretA, "alice")
		}, "no-permission"},
		{"unknown app", func(e *env) (string, string) {
			return e.credential(keyUnknown, secretA, "alice")
		}, "unknown-app"},
		{"malformed", func(*env) (string, string) {
			return "alice", "password-of-alice"
		}, "malformed"},
	}
	reasons := []string{"expired", "bad-integrity", "no-permission", "unknown-app", "malformed", "quota", "peer-refused"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			u, p := tt.cred(e)
			_, err := e.dial(t, "udp", u, p).Allocate()
			if code := turnCode(err); code != 401 {
				t.Fatalf("Allocate: error %v (code %d), want 401", err, code)
			}
			for _, r := range reasons {
				want := 0.0
				if r == tt.reason {
					want = 1
				}
				if got := e.refusals(r); got != want {
					t.Errorf("refusals{reason=%q} = %v, want %v", r, got, want)
				}
			}
			if got := testutil.ToFloat64(e.metrics.Allocations); got != 0 {
				t.Errorf("allocations = %v, want 0", got)
			}
			logs := e.logs.String()
			for _, want := range []string{"reason=" + tt.reason, u, "client=127.0.0.1:"} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, p) {
				t.Errorf("logs hold the password:\n%s", logs)
			}
		})
	}
}

// TestExpiredCredentialKeepsAllocation checks that the expiry binds new
// allocations only: an allocation made in time goes on creating
// permissions and relaying after its credential expires.
func TestExpiredCredentialKeepsAllocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u, p := e.credential(keyA, secretA, "alice")
	relay := e.dial(t, "udp", u, p).allocate(t)
	e.clock.Advance(2 * time.Hour)

	far := peer(t) // a new peer: the write needs a new permission
	if _, err := relay.WriteTo([]byte("still here"), far.LocalAddr()); err != nil {
		t.Fatalf("relay.WriteTo after expiry: %v", err)
	}
	buf := make([]byte, 100)
	_ = far.SetReadDeadline(time.Now().Add(wait))
	if _, _, err := far.ReadFrom(buf); err != nil {
		t.Fatalf("peer read: %v", err)
	}

	_, err := e.dial(t, "udp", u, p).Allocate()
	if code := turnCode(err); code != 401 {
		t.Fatalf("second Allocate after expiry: error %v (code %d), want 401", err, code)
	}
	if got := e.refusals("expired"); got != 1 {
		t.Errorf("refusals{expired} = %v, want 1", got)
	}
}

// TestPeerRefused asks for permissions to addresses in each refused class:
// each is answered 403 and counted; addresses outside them, or listed in
// AllowedPeers, are granted.
func TestPeerRefused(t *testing.T) {
	t.Parallel()
	t.Run("IPv4", func(t *testing.T) {
		t.Parallel()
		// 203.0.113.0/24 is for documentation: no packet is sent to it,
		// a permission is only a request to the server.
		e := newEnv(t, func(c *turn.Config) {
			c.AllowedPeers = nil
			c.PublicRelayIP = "203.0.113.5"
		})
		u, p := e.credential(keyA, secretA, "alice")
		c := e.dial(t, "udp", u, p)
		c.allocate(t)
		refused := []string{
			"127.0.0.1", "127.1.2.3", // loopback
			"10.0.0.1", "172.16.0.1", "192.168.1.1", // RFC 1918
			"100.64.0.1",                   // CGNAT
			"169.254.169.254",              // link-local, where clouds keep instance metadata
			"224.0.0.1", "239.255.255.250", // multicast
			"0.0.0.0", "0.1.2.3", "255.255.255.255",
			"203.0.113.5", // the relay's own public address
		}
		assertPermissions(t, e, c, refused, "203.0.113.6")
		if !strings.Contains(e.logs.String(), "reason=peer-refused peer=10.0.0.1") {
			t.Errorf("logs lack the refusal of 10.0.0.1:\n%s", e.logs.String())
		}
	})
	t.Run("IPv6", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *turn.Config) {
			c.UDPAddr, c.TCPAddr, c.TLSAddr, c.TLS = "[::1]:0", "", "", nil
			c.AllowedPeers = nil
		})
		u, p := e.credential(keyA, secretA, "alice")
		c := e.dial(t, "udp", u, p)
		relay := c.allocate(t)
		if ip := relay.LocalAddr().(*net.UDPAddr).IP; !ip.Equal(net.IPv6loopback) {
			t.Fatalf("relayed address %v, want one on ::1", relay.LocalAddr())
		}
		refused := []string{"::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "::",
			// Forbidden IPv4 addresses written as IPv6: IPv4-compatible,
			// NAT64 (well-known and local-use) and 6to4. (IPv4-mapped ones
			// are IPv4 to pion, refused on an IPv6 relay as 443.)
			"::7f00:1", "::a00:1", "::a9fe:a9fe",
			"64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1",
			"2002:7f00:1::1", "2002:a00:1::1", "2002:c0a8:101::1",
		}
		// A NAT64 or 6to4 address of a public IPv4 address is a peer like
		// any other.
		assertPermissions(t, e, c, refused, "2001:db8::1", "64:ff9b::cb00:7106", "2002:cb00:7106::1")
	})
	t.Run("allowed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil) // AllowedPeers: 127.0.0.0/8 and ::1
		u, p := e.credential(keyA, secretA, "alice")
		c := e.dial(t, "udp", u, p)
		c.allocate(t)
		if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err != nil {
			t.Errorf("CreatePermission(127.0.0.1) with 127.0.0.0/8 allowed: %v", err)
		}
		if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 9}); turnCode(err) != 403 {
			t.Errorf("CreatePermission(10.0.0.1): error %v, want 403", err)
		}
	})
}

// TestQuota fills a peer's quota of allocations: one more is answered 486
// and counted, another peer is not affected, and once one is closed the
// peer may allocate again.
func TestQuota(t *testing.T) {
	t.Parallel()
	const quota = 2
	e := newEnv(t, func(c *turn.Config) { c.MaxAllocationsPerPeer = quota })
	u, p := e.credential(keyA, secretA, "alice")
	var relays []net.PacketConn
	for range quota {
		relays = append(relays, e.dial(t, "udp", u, p).allocate(t))
	}
	// Over TCP too: the quota is the peer's, whatever the transport.
	_, err := e.dial(t, "tcp", u, p).Allocate()
	if code := turnCode(err); code != 486 {
		t.Fatalf("Allocate beyond the quota: error %v (code %d), want 486", err, code)
	}
	if got := e.refusals("quota"); got != 1 {
		t.Errorf("refusals{quota} = %v, want 1", got)
	}
	if !strings.Contains(e.logs.String(), "reason=quota user="+keyA+":alice") {
		t.Errorf("logs lack the quota refusal:\n%s", e.logs.String())
	}

	ub, pb := e.credential(keyA, secretA, "bob")
	e.dial(t, "udp", ub, pb).allocate(t)

	if err := relays[0].Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the closed allocation to be deleted", func() bool {
		return testutil.ToFloat64(e.metrics.Allocations) == quota
	})
	e.dial(t, "udp", u, p).allocate(t)
	if got := testutil.ToFloat64(e.metrics.Allocations); got != quota+1 {
		t.Errorf("allocations = %v, want %d", got, quota+1)
	}
}

// TestBandwidth sends three times an allocation's budget in one second,
// each way: about the budget gets through, the rest is dropped and
// counted.
func TestBandwidth(t *testing.T) {
	t.Parallel()
	const (
		rate   = 64 << 10 // bytes per second
		size   = 1000
		count  = 3 * rate / size
		period = time.Second / count
	)
	for _, dir := range []string{"to-peer", "from-peer"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *turn.Config) { c.RelayBandwidth = rate })
			u, p := e.credential(keyA, secretA, "alice")
			c := e.dial(t, "udp", u, p)
			allocated := time.Now()
			relay := c.allocate(t)
			far := peer(t)
			// The permission, and where the relay is seen from.
			hello := []byte("hi")
			if _, err := relay.WriteTo(hello, far.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			_ = far.SetReadDeadline(time.Now().Add(wait))
			_, relayed, err := far.ReadFromUDP(buf)
			if err != nil {
				t.Fatal(err)
			}
			_ = far.SetReadDeadline(time.Time{})

			// The receiving end counts until its socket is closed.
			var dst net.PacketConn = far
			send := func(b []byte) error { _, err := relay.WriteTo(b, far.LocalAddr()); return err }
			relayedMetric, base := e.metrics.BytesToPeer, float64(len(hello))
			if dir == "from-peer" {
				dst = relay
				send = func(b []byte) error { _, err := far.WriteToUDP(b, relayed); return err }
				relayedMetric, base = e.metrics.BytesFromPeer, 0
			}
			var got atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				b := make([]byte, 1500)
				for {
					n, _, err := dst.ReadFrom(b)
					if err != nil {
						return
					}
					got.Add(int64(n))
				}
			}()

			payload := make([]byte, size)
			first := time.Now()
			for i := range count {
				time.Sleep(time.Until(first.Add(time.Duration(i) * period)))
				if err := send(payload); err != nil {
					t.Fatal(err)
				}
			}
			last := time.Now()
			sent := float64(count * size)
			eventually(t, "the server to account for every byte sent", func() bool {
				return testutil.ToFloat64(relayedMetric)-base+testutil.ToFloat64(e.metrics.BytesDropped) == sent
			})
			through := testutil.ToFloat64(relayedMetric) - base
			eventually(t, "the receiver to get every byte relayed", func() bool {
				return float64(got.Load()) == through
			})
			_ = dst.Close()
			<-done

			// The bucket starts empty when the allocation is made and
			// fills at rate: what gets through is what it gained while
			// the packets came, within a packet.
			low := rate*last.Sub(first).Seconds()*0.9 - size
			high := rate*time.Since(allocated).Seconds() + size
			t.Logf("sent %.0f bytes in %v; %.0f through (bounds %.0f..%.0f), %.0f dropped",
				sent, last.Sub(first).Round(time.Millisecond), through, low, high, testutil.ToFloat64(e.metrics.BytesDropped))
			if through < low || through > high {
				t.Errorf("%.0f bytes through, want %.0f..%.0f", through, low, high)
			}
			if dropped := testutil.ToFloat64(e.metrics.BytesDropped); dropped < sent/2 {
				t.Errorf("%.0f bytes dropped of %.0f sent at three times the rate, want over half", dropped, sent)
			}
		})
	}
}

// TestCloseLeavesNothing closes a server with live allocations over every
// transport and idle connections: Close returns promptly, every
// allocation is gone, and no goroutine is left behind.
func TestCloseLeavesNothing(t *testing.T) {
	// Not parallel: goleak must see only this test's goroutines.
	ignore := goleak.IgnoreCurrent()
	e := newEnv(t, nil)
	far := peer(t)
	var clients []*client
	var relays []net.PacketConn
	for _, transport := range []string{"udp", "tcp", "tls"} {
		u, p := e.credential(keyA, secretA, "peer-"+transport)
		c := e.dial(t, transport, u, p)
		relay := c.allocate(t)
		if _, err := relay.WriteTo([]byte("hi"), far.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		relays = append(relays, relay)
	}
	// Connections that never say a word, over TCP and TLS.
	var idle []net.Conn
	for _, addr := range []net.Addr{e.srv.TCPAddr(), e.srv.TLSAddr()} {
		c, err := net.DialTimeout("tcp", addr.String(), wait)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	eventually(t, "three allocations", func() bool { return testutil.ToFloat64(e.metrics.Allocations) == 3 })

	closed := make(chan error, 1)
	go func() { closed <- e.srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(wait):
		t.Fatalf("Close has not returned after %v", wait)
	}
	if got := testutil.ToFloat64(e.metrics.Allocations); got != 0 {
		t.Errorf("allocations after Close = %v, want 0", got)
	}
	if err := e.srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	for _, r := range relays {
		_ = r.Close()
	}
	for _, c := range clients {
		c.close()
	}
	for _, c := range idle {
		_ = c.Close()
	}
	_ = far.Close()
	goleak.VerifyNone(t, ignore)
}

// assertPermissions checks that c is refused a permission (403) to each
// address of refused, each counted as peer-refused, and granted one to the
// public address public.
func assertPermissions(t *testing.T, e *env, c *client, refused []string, public ...string) {
	t.Helper()
	for _, ip := range refused {
		err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(ip), Port: 9})
		if code := turnCode(err); code != 403 {
			t.Errorf("CreatePermission(%s): error %v (code %d), want 403", ip, err, code)
		}
	}
	if got := e.refusals("peer-refused"); got != float64(len(refused)) {
		t.Errorf("refusals{peer-refused} = %v, want %d", got, len(refused))
	}
	for _, ip := range public {
		if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(ip), Port: 9}); err != nil {
			t.Errorf("CreatePermission(%s), a public address: %v", ip, err)
		}
	}
}

// TestEmbeddedIPv4 checks the normalisation the guard relies on, on the
// addresses an attacker was granted permissions to before it.
func TestEmbeddedIPv4(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"::ffff:127.0.0.1", "127.0.0.1"},
		{"::7f00:1", "127.0.0.1"},
		{"64:ff9b::7f00:1", "127.0.0.1"},
		{"64:ff9b::a00:1", "10.0.0.1"},
		{"64:ff9b:1::a00:1", "10.0.0.1"},
		{"2002:7f00:1::1", "127.0.0.1"},
		{"2002:a00:1::1", "10.0.0.1"},
		{"::1", "0.0.0.1"}, // refused either way
		{"2001:db8::1", "2001:db8::1"},
		{"10.0.0.1", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := turn.EmbeddedIPv4(netip.MustParseAddr(tt.in)); got != netip.MustParseAddr(tt.want) {
				t.Fatalf("EmbeddedIPv4(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestAllocationCaps: beyond the per-peer quota, one client address and
// the whole server are capped too, whatever peer IDs the credentials name:
// anyone with an app's public key could otherwise farm allocations.
func TestAllocationCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(*turn.Config)
		reason string
	}{
		{"per client address", func(c *turn.Config) { c.MaxAllocationsPerIP = 2 }, "ip-quota"},
		{"per server", func(c *turn.Config) { c.MaxAllocations = 2 }, "full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.edit)
			for _, peer := range []string{"p1", "p2"} {
				u, p := e.credential(keyA, secretA, peer)
				e.dial(t, "udp", u, p).allocate(t)
			}
			u, p := e.credential(keyA, secretA, "p3")
			_, err := e.dial(t, "udp", u, p).Allocate()
			if code := turnCode(err); code != 486 {
				t.Fatalf("a third peer's Allocate: error %v (code %d), want 486", err, code)
			}
			if got := e.refusals(tt.reason); got != 1 {
				t.Fatalf("refusals{%s} = %v, want 1", tt.reason, got)
			}
		})
	}
}

// TestRevoke: once its peer has left signaling, a credential allocates no
// more and its allocations end; a credential issued to the ID again works.
func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u, p := e.credential(keyA, secretA, "alice")
	e.dial(t, "udp", u, p).allocate(t)
	if got := testutil.ToFloat64(e.metrics.Allocations); got != 1 {
		t.Fatalf("allocations = %v, want 1", got)
	}
	e.srv.Revoke(keyA, "alice")
	_, err := e.dial(t, "udp", u, p).Allocate()
	if code := turnCode(err); code != 401 {
		t.Fatalf("Allocate after Revoke: error %v (code %d), want 401", err, code)
	}
	if got := e.refusals("revoked"); got < 1 {
		t.Fatalf("refusals{revoked} = %v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(e.metrics.Allocations) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the revoked peer's allocation is still live")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Back in signaling, the peer gets a credential again.
	app, _ := e.cfg.Apps.App(keyA)
	c := e.srv.Credential(app, "alice", time.Time{})
	e.dial(t, "udp", c.Username, c.Password).allocate(t)
}

// TestDefaultQuotaHoldsAMesh: with the default limits one peer gets the
// relays a browser gathers for a mesh room of 11 members (three URLs for
// each of ten connections, from one client address); the next is 486.
func TestDefaultQuotaHoldsAMesh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u, p := e.credential(keyA, secretA, "alice")
	for i := range 10 * 3 {
		network := []string{"udp", "tcp", "udp"}[i%3] // turns: is TCP as the quota sees it
		e.dial(t, network, u, p).allocate(t)
	}
	_, err := e.dial(t, "udp", u, p).Allocate()
	if code := turnCode(err); code != 486 {
		t.Fatalf("Allocate beyond the default quota: error %v (code %d), want 486", err, code)
	}
}
