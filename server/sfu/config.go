//go:build !js

package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// Config configures an SFU.
type Config struct {
	// UDPAddr is the host:port of the one UDP socket that carries every
	// participant's ICE, DTLS and media; port 0 picks a free port.
	UDPAddr string
	// PublicAddrs are the IP addresses to advertise in the ICE candidates
	// instead of the socket's own, for a server behind a 1:1 NAT. Empty
	// advertises the local addresses.
	PublicAddrs []string
	// Router delivers SFU_OFFER to the peers. Required.
	Router routing.Router
	// Logger receives the SFU's and pion's logs; nil discards them.
	Logger *slog.Logger
	// Metrics receives the SFU's figures; nil counts into collectors that
	// nobody registers.
	Metrics *metrics.SFU
	// KeyframeInterval is the least time between two keyframe requests to
	// one published track, however many subscribers ask.
	KeyframeInterval time.Duration
	// SocketBuffer is the size in bytes asked of the kernel for the UDP
	// socket's read and write buffers; 0 keeps the system's default.
	SocketBuffer int
	// MaxParticipants is the most PeerConnections the SFU holds; a new
	// one beyond it is refused with sfu-limited. 0: no limit.
	MaxParticipants int
	// MaxDownTracks is the most tracks the SFU sends to subscribers (a
	// room of n members each publishing audio and video to everyone has
	// 2n(n-1)); a new participant that would take the SFU beyond it is
	// refused with sfu-limited. 0: no limit.
	MaxDownTracks int
	// ShedLoad turns on load shedding (shed.go): past capacity, the
	// newest joiners' video is shed while the send queues overflow, so
	// that the others keep all of theirs. Off in DefaultConfig; a node's
	// `sfu.shedLoad` is on unless its file says false.
	ShedLoad bool
	// InlineFanOut is the most subscribers a published track's own
	// goroutine sends to; a track with more is sent by the SFU's
	// workers, one per core. 0 sends every track through the workers.
	InlineFanOut int
	// BatchWrites sends what a send worker's pass over its queues (or a
	// track's inline fan-out) writes in one sendmmsg, on Linux, rather
	// than one sendto a packet (batch_linux.go). On in DefaultConfig; a
	// node's `sfu.batchWrites` is on unless its file says false.
	BatchWrites bool
}

// DefaultConfig returns a Config listening on 127.0.0.1:0; its Router must
// still be set.
func DefaultConfig() Config {
	return Config{
		UDPAddr:          "127.0.0.1:0",
		KeyframeInterval: 500 * time.Millisecond,
		SocketBuffer:     4 << 20,
		InlineFanOut:     16,
		BatchWrites:      true,
	}
}

// Validate reports the first field that is unusable.
func (c *Config) Validate() error {
	if c.Router == nil {
		return errors.New("sfu: Config.Router is nil")
	}
	if _, _, err := net.SplitHostPort(c.UDPAddr); err != nil {
		return fmt.Errorf("sfu: Config.UDPAddr %q is not host:port: %w", c.UDPAddr, err)
	}
	for _, a := range c.PublicAddrs {
		if net.ParseIP(a) == nil {
			return fmt.Errorf("sfu: Config.PublicAddrs: %q is not an IP address", a)
		}
	}
	if c.SocketBuffer < 0 {
		return fmt.Errorf("sfu: Config.SocketBuffer %d is negative", c.SocketBuffer)
	}
	if c.MaxParticipants < 0 {
		return fmt.Errorf("sfu: Config.MaxParticipants %d is negative", c.MaxParticipants)
	}
	if c.MaxDownTracks < 0 {
		return fmt.Errorf("sfu: Config.MaxDownTracks %d is negative", c.MaxDownTracks)
	}
	if c.InlineFanOut < 0 {
		return fmt.Errorf("sfu: Config.InlineFanOut %d is negative", c.InlineFanOut)
	}
	if c.KeyframeInterval <= 0 {
		return fmt.Errorf("sfu: Config.KeyframeInterval %v is not positive", c.KeyframeInterval)
	}
	return nil
}
