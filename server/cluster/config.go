package cluster

import (
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// Config sets up a Router.
type Config struct {
	// Node names this node; it must be unique in the cluster.
	Node string
	// PublicURL is what clients of this node are told to dial.
	PublicURL string
	// Lease is how long a node is believed alive after its last refresh;
	// it refreshes every Lease/3.
	Lease time.Duration
	// ReclaimWindow is how long the IDs of a dead node's peers wait for
	// their tokens to reclaim them on another node before they are
	// released and their contacts and rooms are told.
	ReclaimWindow time.Duration
	// Timeout bounds each NATS request and key-value operation.
	Timeout time.Duration
	// Replicas is how many servers keep each bucket: 3 in a cluster of
	// three or more, so that one can fail.
	Replicas int
	// QueueLength is how many incoming messages wait for the dispatcher.
	QueueLength int
	// Load reports this node's load for the dispatcher; nil counts the
	// peers held here.
	Load func() int
	// Logger receives what goes wrong in the background.
	Logger *slog.Logger
	// Metrics receives the node's figures; nil counts into collectors
	// that nobody registers.
	Metrics *metrics.Cluster
	// RoomLogBytes and KeyLogBytes bound the room logs in bytes, as
	// routing.Local's are: a room's log keeps the newest events with at
	// most RoomLogBytes of text, and an API key's stream of room logs
	// (events, text and framing) at most KeyLogBytes, its oldest events
	// dropped first.
	RoomLogBytes int
	KeyLogBytes  int64
	// KVConn, if set, carries the key-value store, the room log and the
	// lease, apart from the connection given to New, which carries the
	// deliveries: a 20 MiB broadcast queued on one connection cannot then
	// hold a lease refresh back past the lease. nil shares New's.
	KVConn *nats.Conn
}

// DefaultConfig returns a lease of 6 s, the protocol's reclaim window and
// single-replica buckets; Node must still be set.
func DefaultConfig() Config {
	return Config{
		Lease:         6 * time.Second,
		ReclaimWindow: protocol.ReclaimWindow,
		Timeout:       3 * time.Second,
		Replicas:      1,
		QueueLength:   8192,
		RoomLogBytes:  routing.MaxRoomLogBytes,
		KeyLogBytes:   routing.MaxKeyLogBytes,
	}
}

// Validate checks every field.
func (c *Config) Validate() error {
	switch {
	case c.Node == "":
		return errors.New("cluster: Config.Node is empty")
	case c.Lease < 300*time.Millisecond:
		return errors.New("cluster: Config.Lease must be at least 300ms")
	case c.ReclaimWindow < 0:
		return errors.New("cluster: Config.ReclaimWindow must not be negative")
	case c.Timeout <= 0:
		return errors.New("cluster: Config.Timeout must be positive")
	case c.Replicas < 1 || c.Replicas > 5:
		return errors.New("cluster: Config.Replicas must be 1 to 5")
	case c.QueueLength < 1:
		return errors.New("cluster: Config.QueueLength must be positive")
	case c.RoomLogBytes < protocol.MaxLoggedData || c.KeyLogBytes < int64(c.RoomLogBytes):
		return errors.New("cluster: Config.RoomLogBytes must hold one logged text, and KeyLogBytes one room's")
	}
	return nil
}
