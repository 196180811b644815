package turn_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/turn"
)

// relayPair is a relay socket as pion sees it and a permitted peer socket,
// both on 127.0.0.1.
type relayPair struct {
	relay   net.PacketConn
	peer    *net.UDPConn
	relayAt netip.AddrPort
	peerAt  *net.UDPAddr
	m       *metrics.TURN
}

func newRelayPair(tb testing.TB, bandwidth int) *relayPair {
	tb.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	rc, err := net.ListenUDP("udp4", lo)
	if err != nil {
		tb.Fatal(err)
	}
	pc, err := net.ListenUDP("udp4", lo)
	if err != nil {
		_ = rc.Close()
		tb.Fatal(err)
	}
	m := metrics.NewTURN(prometheus.NewRegistry())
	p := &relayPair{
		relay:   turn.NewTestRelay(rc, m, bandwidth, netip.MustParseAddr("127.0.0.1")),
		peer:    pc,
		relayAt: rc.LocalAddr().(*net.UDPAddr).AddrPort(),
		peerAt:  pc.LocalAddr().(*net.UDPAddr),
		m:       m,
	}
	tb.Cleanup(func() {
		_ = p.relay.Close()
		_ = p.peer.Close()
	})
	return p
}

// roundTrip sends buf from the peer into the relay and back out.
func (p *relayPair) roundTrip(tb testing.TB, buf []byte) {
	if _, err := p.peer.WriteToUDPAddrPort(buf, p.relayAt); err != nil {
		tb.Fatal(err)
	}
	n, from, err := p.relay.ReadFrom(buf)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := p.relay.WriteTo(buf[:n], from); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := p.peer.ReadFromUDPAddrPort(buf); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkRelay is the relay path of one packet each way: the relay
// socket's ReadFrom from a peer and WriteTo back, with the permission and
// bandwidth checks and the counters (two loopback datagrams per op).
// "plain" does the same on the bare socket, the floor the wrapper adds to.
func BenchmarkRelay(b *testing.B) {
	b.Run("relay", func(b *testing.B) {
		p := newRelayPair(b, 1<<40)
		buf := make([]byte, 1200)
		b.SetBytes(int64(2 * len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			p.roundTrip(b, buf)
		}
	})
	b.Run("plain", func(b *testing.B) {
		lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		rc, err := net.ListenUDP("udp4", lo)
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		pc, err := net.ListenUDP("udp4", lo)
		if err != nil {
			b.Fatal(err)
		}
		defer pc.Close()
		at := rc.LocalAddr().(*net.UDPAddr).AddrPort()
		buf := make([]byte, 1200)
		b.SetBytes(int64(2 * len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pc.WriteToUDPAddrPort(buf, at); err != nil {
				b.Fatal(err)
			}
			n, from, err := rc.ReadFromUDPAddrPort(buf)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rc.WriteToUDPAddrPort(buf[:n], from); err != nil {
				b.Fatal(err)
			}
			if _, _, err := pc.ReadFromUDPAddrPort(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRelayAllocatesNothing holds the relay path to zero allocations per
// packet once the peer's address is known.
func TestRelayAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random, so allocations are not zero under -race")
	}
	p := newRelayPair(t, 1<<40)
	buf := make([]byte, 1200)
	p.roundTrip(t, buf) // first contact caches the peer's address
	allocs := testing.AllocsPerRun(1000, func() { p.roundTrip(t, buf) })
	if allocs != 0 {
		t.Fatalf("relaying a packet each way allocated %v times, want 0", allocs)
	}
	if got, want := testutil.ToFloat64(p.m.BytesFromPeer), 1002.0*1200; got != want {
		t.Errorf("bytes from peer = %v, want %v", got, want)
	}
}

// TestRelayDropsStrangers checks that a packet from an address without a
// permission never reaches pion nor spends the budget.
func TestRelayDropsStrangers(t *testing.T) {
	t.Parallel()
	p := newRelayPair(t, 64<<10)
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	time.Sleep(100 * time.Millisecond) // 6.4 KB in the bucket
	big := make([]byte, 1400)
	for range 20 { // 28 KB: would empty the bucket
		if _, err := stranger.WriteToUDPAddrPort(big, p.relayAt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.peer.WriteToUDPAddrPort([]byte("mine"), p.relayAt); err != nil {
		t.Fatal(err)
	}
	_ = p.relay.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	n, from, err := p.relay.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "mine" || from.String() != p.peerAt.String() {
		t.Errorf("ReadFrom = %q from %v, want \"mine\" from %v", buf[:n], from, p.peerAt)
	}
	if got := testutil.ToFloat64(p.m.BytesDropped); got != 0 {
		t.Errorf("dropped bytes = %v, want 0: strangers are not over budget, just not let in", got)
	}
}
