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
	// PacketsSent counts RTP packets written to subscribers, once per
	// subscriber, retransmissions not included.
	PacketsSent prometheus.Counter
	// NACKs counts RTCP NACK packets received from subscribers; the SFU
	// answers them from the published track's shared packet buffer.
	NACKs prometheus.Counter
	// Retransmissions counts packets sent again to answer NACKs.
	Retransmissions prometheus.Counter
	// Drops by reason, of packets a subscriber did not get:
	// DropsQueueFull, its send queue had no room for the frame;
	// DropsKeyframeWait, video after a drop, until the next keyframe;
	// DropsCongestion, video paused because the subscriber's bandwidth
	// estimate is far below the track's bitrate; DropsEvicted, gone from
	// the shared buffer before the subscriber's turn came;
	// DropsOverload, video of a subscriber shed while the SFU's send
	// queues overflow; DropsIngress, packets of a publisher overwritten
	// in the ingress ring before the track's loop read them (once,
	// whatever the subscribers).
	DropsQueueFull, DropsKeyframeWait, DropsCongestion, DropsOverload, DropsEvicted, DropsIngress prometheus.Counter
	// Shed is the number of subscribers whose video the SFU has shed
	// while its send queues overflow.
	Shed prometheus.Gauge
	// QueueDepth is the number of packets waiting in every subscriber's
	// send queue, sampled every second; QueueDepthMax the deepest one.
	QueueDepth, QueueDepthMax prometheus.Gauge
	// CongestionPaused is the number of subscribers whose video is paused
	// for lack of bandwidth, sampled every second.
	CongestionPaused prometheus.Gauge
	// AdmissionsRefused counts SFU_GET_OFFERs refused with sfu-limited
	// because the node is at its configured limits.
	AdmissionsRefused prometheus.Counter
	// PLIs counts PLI and FIR packets received from subscribers.
	PLIs prometheus.Counter
	// KeyframeRequests counts the PLIs sent to publishers, after rate
	// limiting.
	KeyframeRequests prometheus.Counter
	// WriteBatches counts the batched writes (sendmmsg) on the SFU's UDP
	// socket, and BatchedPackets the packets they carried.
	WriteBatches, BatchedPackets prometheus.Counter
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
		PacketsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_sent_packets_total", Help: "RTP packets written to subscribers, once per subscriber, retransmissions not included.",
		}),
		Retransmissions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_retransmitted_packets_total", Help: "RTP packets sent again to subscribers to answer their NACKs.",
		}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_sfu_send_queue_packets", Help: "Packets waiting in all subscribers' send queues, sampled every second.",
		}),
		QueueDepthMax: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_sfu_send_queue_max_packets", Help: "Packets waiting in the deepest subscriber send queue, sampled every second.",
		}),
		CongestionPaused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_sfu_congestion_paused_subscribers", Help: "Subscribers whose video is paused for lack of bandwidth, sampled every second.",
		}),
		Shed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_sfu_shed_subscribers", Help: "Subscribers whose video is shed while the SFU's send queues overflow.",
		}),
		AdmissionsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_admissions_refused_total", Help: "SFU_GET_OFFERs refused with sfu-limited at the node's limits.",
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
		WriteBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_write_batches_total", Help: "Batched writes (sendmmsg) on the SFU's UDP socket.",
		}),
		BatchedPackets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_sfu_batched_packets_total", Help: "Packets sent in batched writes on the SFU's UDP socket.",
		}),
	}
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skywasm_sfu_dropped_packets_total", Help: "RTP packets not forwarded, by reason.",
	}, []string{"reason"})
	s.DropsQueueFull = drops.WithLabelValues("queue-full")
	s.DropsKeyframeWait = drops.WithLabelValues("keyframe-wait")
	s.DropsCongestion = drops.WithLabelValues("congestion")
	s.DropsOverload = drops.WithLabelValues("overload")
	s.DropsEvicted = drops.WithLabelValues("evicted")
	s.DropsIngress = drops.WithLabelValues("ingress")
	if reg != nil {
		reg.MustRegister(s.Rooms, s.Participants, s.Tracks, s.PacketsForwarded, s.BytesForwarded, s.PacketsSent,
			s.NACKs, s.Retransmissions, s.PLIs, s.KeyframeRequests, drops, s.QueueDepth, s.QueueDepthMax,
			s.CongestionPaused, s.Shed, s.AdmissionsRefused, s.WriteBatches, s.BatchedPackets)
	}
	return s
}
