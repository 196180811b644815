package metrics

import "github.com/prometheus/client_golang/prometheus"

// SFU is what the SFU counts. Every field is a plain Gauge or Counter,
// looked up once, so that counting on the forwarding path allocates
// nothing.
type SFU struct {
	// Rooms is the number of sfu rooms with at least one participant
	// that has asked for an offer.
	Rooms prometheus.Gauge
	// Participants is the number of PeerConnections the SFU holds.
	Participants prometheus.Gauge
	// Tracks is the number of tracks being published into the SFU.
	Tracks prometheus.Gauge
	// PacketsForwarded and BytesForwarded count RTP read from publishers,
	// once per packet however many subscribers it reaches.
	PacketsForwarded prometheus.Counter
	BytesForwarded   prometheus.Counter
	// NACKs counts RTCP NACK packets received from subscribers; pion's
	// NACK responder answers them from its per-track packet buffer.
	NACKs prometheus.Counter
	// PLIs counts PLI and FIR packets received from subscribers.
	PLIs prometheus.Counter
	// KeyframeRequests counts the PLIs sent to publishers, after rate
	// limiting.
	KeyframeRequests prometheus.Counter
}

// NewSFU returns the SFU's collectors, registered on reg unless reg is nil
// (as for an SFU whose figures nobody scrapes).
func NewSFU(reg *prometheus.Registry) *SFU {
	s := &SFU{
		Rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_sfu_rooms", Help: "SFU rooms with at least one participant.",
		}),
		Participants: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_sfu_participants", Help: "PeerConnections held by the SFU.",
		}),
		Tracks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_sfu_tracks", Help: "Tracks published into the SFU.",
		}),
		PacketsForwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_forwarded_packets_total", Help: "RTP packets read from publishers and forwarded, once per packet whatever the number of subscribers.",
		}),
		BytesForwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_forwarded_bytes_total", Help: "Bytes of RTP read from publishers and forwarded, once per packet whatever the number of subscribers.",
		}),
		NACKs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_nacks_total", Help: "RTCP NACK packets received from subscribers.",
		}),
		PLIs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_plis_total", Help: "RTCP PLI and FIR packets received from subscribers.",
		}),
		KeyframeRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_keyframe_requests_total", Help: "Keyframe requests (PLI) sent to publishers, after rate limiting.",
		}),
	}
	if reg != nil {
		reg.MustRegister(s.Rooms, s.Participants, s.Tracks, s.PacketsForwarded, s.BytesForwarded, s.NACKs, s.PLIs, s.KeyframeRequests)
	}
	return s
}
