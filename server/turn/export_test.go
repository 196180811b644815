package turn

import (
	"net"
	"net/netip"
	"time"

	"github.com/skywasm/skywasm/server/metrics"
)

// NewTestRelay wraps conn as an allocation's relay socket with the given
// bandwidth, permitted to talk to peers, outside any pion allocation: the
// relay path alone, for benchmarks and the allocation test.
func NewTestRelay(conn *net.UDPConn, m *metrics.TURN, bandwidth int, peers ...netip.Addr) net.PacketConn {
	s := &Server{
		cfg:     Config{Metrics: m},
		perPeer: make(map[string]int),
		relays:  make(map[string]*relayConn),
	}
	r := newRelayConn(conn, s, "", conn.LocalAddr().String(), bandwidth, time.Now())
	for _, p := range peers {
		r.setPermission(net.IP(p.AsSlice()), true)
	}
	return r
}

// EmbeddedIPv4 is embeddedIPv4, for tests.
var EmbeddedIPv4 = embeddedIPv4
