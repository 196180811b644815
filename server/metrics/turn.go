package metrics

import "github.com/prometheus/client_golang/prometheus"

// TURN is what the embedded TURN server counts. The relay path uses only
// plain Counters looked up once, so that counting a relayed packet
// allocates nothing.
type TURN struct {
	// Allocations is the number of live TURN allocations.
	Allocations prometheus.Gauge
	// AllocationsTotal counts allocations ever made.
	AllocationsTotal prometheus.Counter
	// BytesToPeer and BytesFromPeer count the payload relayed through the
	// allocations' relay sockets, by direction: client to peer, and peer
	// to client. They are the two series of
	// skywasm_turn_relayed_bytes_total.
	BytesToPeer   prometheus.Counter
	BytesFromPeer prometheus.Counter
	// BytesDropped counts payload dropped because an allocation was over
	// its bandwidth, both directions together.
	BytesDropped prometheus.Counter
	// Refusals counts refused requests by reason (the server's reason
	// strings, such as "expired" or "quota").
	Refusals *prometheus.CounterVec
}

// NewTURN returns the TURN server's collectors, registered on reg unless
// reg is nil (as for a server whose figures nobody scrapes).
func NewTURN(reg *prometheus.Registry) *TURN {
	relayed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skywasm_turn_relayed_bytes_total", Help: "Payload bytes relayed through TURN allocations, by direction (to-peer, from-peer).",
	}, []string{"direction"})
	t := &TURN{
		Allocations: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_turn_allocations", Help: "Live TURN allocations.",
		}),
		AllocationsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_turn_allocations_total", Help: "TURN allocations made.",
		}),
		BytesToPeer:   relayed.WithLabelValues("to-peer"),
		BytesFromPeer: relayed.WithLabelValues("from-peer"),
		BytesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_turn_dropped_bytes_total", Help: "Payload bytes dropped because a TURN allocation was over its bandwidth, both directions.",
		}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skywasm_turn_refusals_total", Help: "TURN requests refused, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(t.Allocations, t.AllocationsTotal, relayed, t.BytesDropped, t.Refusals)
	}
	return t
}
