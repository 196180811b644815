package metrics

import "github.com/prometheus/client_golang/prometheus"

// Cluster is what a cluster node (server/cluster) counts. Every field is
// looked up once, so that counting a relay allocates nothing.
type Cluster struct {
	// Nodes is the number of live nodes this node sees, itself included.
	Nodes prometheus.Gauge
	// RelaysOut counts messages this node sent to peers or rooms on other
	// nodes; RelaysIn those it received from other nodes. A broadcast
	// counts once however many nodes it reaches.
	RelaysOut, RelaysIn prometheus.Counter
	// KV observes the latency of each key-value operation (get, create,
	// update, put, delete) the node makes.
	KV prometheus.Observer
	// Reconnects counts the node's NATS reconnections, on either of its
	// connections.
	Reconnects prometheus.Counter
	// SFUForwards counts SFU_* requests sent on to the node an sfu room
	// is pinned to, by what they asked.
	SFUForwards map[string]prometheus.Counter

	collectors []prometheus.Collector
}

// Collectors returns what NewCluster made, for a registry made later (the
// server's, when the node joined the cluster before the server started).
func (c *Cluster) Collectors() []prometheus.Collector { return c.collectors }

// SFUOps are the requests a node forwards to a pinned SFU.
var SFUOps = []string{"offer", "answer", "candidate", "leave"}

// NewCluster returns a cluster node's collectors, registered on reg unless
// reg is nil (Register them later with Collectors).
func NewCluster(reg *prometheus.Registry) *Cluster {
	relays := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skywasm_cluster_relays_total", Help: "Messages relayed between this node and the others, by direction (out, in); a broadcast once.",
	}, []string{"direction"})
	forwards := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skywasm_cluster_sfu_forwards_total", Help: "SFU requests sent on to the node an sfu room is pinned to, by op.",
	}, []string{"op"})
	kv := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "skywasm_cluster_kv_seconds", Help: "Latency of the node's JetStream key-value operations.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	c := &Cluster{
		Nodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skywasm_cluster_nodes", Help: "Live nodes of the cluster this node sees, itself included.",
		}),
		RelaysOut: relays.WithLabelValues("out"),
		RelaysIn:  relays.WithLabelValues("in"),
		KV:        kv,
		Reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skywasm_cluster_nats_reconnects_total", Help: "Reconnections of the node's NATS connections.",
		}),
		SFUForwards: make(map[string]prometheus.Counter, len(SFUOps)),
	}
	for _, op := range SFUOps {
		c.SFUForwards[op] = forwards.WithLabelValues(op)
	}
	c.collectors = []prometheus.Collector{c.Nodes, relays, kv, c.Reconnects, forwards}
	if reg != nil {
		reg.MustRegister(c.collectors...)
	}
	return c
}
