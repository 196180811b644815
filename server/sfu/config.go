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
}

// DefaultConfig returns a Config listening on 127.0.0.1:0; its Router must
// still be set.
func DefaultConfig() Config {
	return Config{
		UDPAddr:          "127.0.0.1:0",
		KeyframeInterval: 500 * time.Millisecond,
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
	if c.KeyframeInterval <= 0 {
		return fmt.Errorf("sfu: Config.KeyframeInterval %v is not positive", c.KeyframeInterval)
	}
	return nil
}
