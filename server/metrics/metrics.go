// Package metrics holds the server's Prometheus collectors, registered on a
// registry of their own rather than the global one, so that two servers in
// one process (as in tests) never collide.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/skywasm/skywasm/protocol"
)

// Signaling is what the signaling plane counts.
type Signaling struct {
	// Peers is the number of peers this server holds, connected or within
	// their reclaim window.
	Peers prometheus.Gauge
	// Connections is the number of open signaling sockets.
	Connections prometheus.Gauge
	// Rooms is the number of rooms this server created that still exist.
	Rooms prometheus.Gauge
	// Received counts messages received by type, looked up once per type
	// so that counting allocates nothing.
	Received map[protocol.MessageType]prometheus.Counter
	// Relayed counts messages passed on to other peers, by the type
	// delivered (OFFER, ANSWER, CANDIDATE, FORCE_CLOSE, ROOM_DATA); room
	// data counts once however many members it reaches.
	Relayed map[protocol.MessageType]prometheus.Counter
	// Errors counts ERROR messages sent, by error type.
	Errors *prometheus.CounterVec
	// Rejected counts connections refused before OPEN, by reason.
	Rejected *prometheus.CounterVec
	// Closed counts sockets the server closed, by reason.
	Closed *prometheus.CounterVec
}

// New returns a registry with the Go runtime's collectors and the
// signaling plane's.
func New() (*prometheus.Registry, *Signaling) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skywasm_signaling_messages_total", Help: "Signaling messages received from clients, by type.",
	}, []string{"type"})
	relayed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skywasm_signaling_relayed_total", Help: "Messages relayed to other peers, by delivered type; room data once per message.",
	}, []string{"type"})
	s := &Signaling{
		Peers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_signaling_peers", Help: "Peers held by this server, connected or within their reclaim window.",
		}),
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_signaling_connections", Help: "Open signaling WebSocket connections.",
		}),
		Rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_rooms", Help: "Rooms that exist.",
		}),
		Received: make(map[protocol.MessageType]prometheus.Counter),
		Relayed:  make(map[protocol.MessageType]prometheus.Counter),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skywasm_signaling_errors_total", Help: "ERROR messages sent to clients, by error type.",
		}, []string{"type"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skywasm_signaling_rejected_total", Help: "Connections refused before OPEN, by reason.",
		}, []string{"reason"}),
		Closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skywasm_signaling_closed_total", Help: "Signaling connections closed by the server, by reason.",
		}, []string{"reason"}),
	}
	for _, t := range protocol.ClientTypes {
		s.Received[t] = received.WithLabelValues(string(t))
	}
	for _, t := range []protocol.MessageType{protocol.Offer, protocol.Answer, protocol.Candidate, protocol.ForceClose, protocol.RoomData} {
		s.Relayed[t] = relayed.WithLabelValues(string(t))
	}
	reg.MustRegister(s.Peers, s.Connections, s.Rooms, received, relayed, s.Errors, s.Rejected, s.Closed)
	return reg, s
}
