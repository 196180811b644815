package signaling

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// Apps holds the API keys and their settings.
	Apps *config.Config
	// Router reaches other peers.
	Router routing.Router
	// Logger receives the server's logs; never a secret or credential.
	Logger *slog.Logger
	// Metrics receives the signaling plane's counts.
	Metrics *metrics.Signaling
	// SFU serves the media of sfu rooms. With nil, sfu rooms have
	// membership and room data only, and SFU_* messages get room-error.
	SFU routing.SFU
	// TURN issues the TURN credential sent with OPEN. With nil, OPEN
	// carries none.
	TURN TURNIssuer

	// PingInterval is how often the server pings each socket.
	PingInterval time.Duration
	// IdleTimeout closes a socket that has sent nothing, not even a pong.
	IdleTimeout time.Duration
	// ReclaimWindow is how long an ID outlives an unexpected drop.
	ReclaimWindow time.Duration
	// AuthExpiryWarning is how long before a credential expires the server
	// sends AUTH_EXPIRES_IN.
	AuthExpiryWarning time.Duration
	// WriteTimeout and MinWriteRate bound one write to a socket: n bytes
	// get WriteTimeout + n/MinWriteRate, so that a 20 MiB message reaches
	// a client reading at 1 MiB/s, and a client that stops reading is
	// closed.
	WriteTimeout time.Duration
	MinWriteRate int
	// TickInterval is the granularity of the pings, idle checks and write
	// deadlines of every socket, served by one timer wheel: a deadline is
	// enforced less than a tick late. A tick over IdleTimeout/32 is
	// taken as IdleTimeout/32.
	TickInterval time.Duration
	// QueueLength and QueueBytes bound what waits to be written to one
	// socket; a client that reads slower is closed with CloseSlowConsumer.
	QueueLength int
	QueueBytes  int
	// LargeFrameBudget bounds, across the server, the memory of frames
	// over LargeFrame (1 MiB), from their read to their last write: each
	// takes a buffer of the largest frame's size, which the room message
	// made from it shares with every recipient. It also counts the 1 MiB
	// buffer that reads the head of every frame over 64 KiB while it is
	// read, and the free buffers kept for reuse. A sender over it gets
	// ERROR signaling-limited and its message is dropped; a recipient over
	// QueueBytes, or of a message from another node over the budget,
	// loses that message with an ERROR and keeps its socket. It bounds the
	// server's memory for room data whatever the number of senders.
	LargeFrameBudget int64
	// BacklogLength bounds what is kept for a peer within its reclaim window.
	BacklogLength int
	// MaxRoomsPerPeer bounds the rooms one peer is in at once.
	MaxRoomsPerPeer int
	// MaxContacts bounds the peers remembered for LEAVE per peer.
	MaxContacts int
	// MessageRate and MessageBurst bound a socket's messages a second (a
	// token bucket); RoomDataInterval and RoomDataBurst pace one member's
	// room data the same way: one per interval, up to the burst at once.
	// A zero interval does not pace it.
	MessageRate, MessageBurst int
	RoomDataInterval          time.Duration
	RoomDataBurst             int
	// RoomLogsInterval and RoomLogsBurst pace one socket's ROOM_GET_LOGS
	// apart from its other messages: a full log is megabytes to encode,
	// and at the general message rate two sockets saturated a machine.
	RoomLogsInterval time.Duration
	RoomLogsBurst    int

	// Now tells the time; tests may replace it.
	Now func() time.Time
}

// DefaultConfig returns the protocol's timings and limits. Apps, Router and
// Metrics are left for the caller.
func DefaultConfig() Config {
	return Config{
		Logger:            slog.New(slog.DiscardHandler),
		PingInterval:      protocol.PingInterval,
		IdleTimeout:       protocol.IdleTimeout,
		ReclaimWindow:     protocol.ReclaimWindow,
		AuthExpiryWarning: protocol.AuthExpiryWarning,
		WriteTimeout:      10 * time.Second,
		MinWriteRate:      256 << 10,
		TickInterval:      500 * time.Millisecond,
		QueueLength:       512,
		QueueBytes:        64 << 20,
		LargeFrameBudget:  DefaultLargeFrameBudget(),
		BacklogLength:     256,
		MaxRoomsPerPeer:   64,
		MaxContacts:       4096,
		MessageRate:       protocol.MessageRate,
		MessageBurst:      protocol.MessageBurst,
		RoomDataInterval:  protocol.RoomDataInterval,
		RoomDataBurst:     protocol.RoomDataBurst,
		RoomLogsInterval:  time.Second,
		RoomLogsBurst:     3,
		Now:               time.Now,
	}
}

// Validate reports the first field that is unusable.
func (c *Config) Validate() error {
	switch {
	case c.Apps == nil:
		return errors.New("signaling: Config.Apps is nil")
	case c.Router == nil:
		return errors.New("signaling: Config.Router is nil")
	case c.Logger == nil:
		return errors.New("signaling: Config.Logger is nil")
	case c.Metrics == nil:
		return errors.New("signaling: Config.Metrics is nil")
	case c.Now == nil:
		return errors.New("signaling: Config.Now is nil")
	case c.PingInterval <= 0:
		return errors.New("signaling: Config.PingInterval must be positive")
	case c.IdleTimeout <= c.PingInterval:
		return errors.New("signaling: Config.IdleTimeout must exceed PingInterval")
	case c.ReclaimWindow < 0:
		return errors.New("signaling: Config.ReclaimWindow must not be negative")
	case c.AuthExpiryWarning < 0:
		return errors.New("signaling: Config.AuthExpiryWarning must not be negative")
	case c.WriteTimeout <= 0 || c.MinWriteRate <= 0:
		return errors.New("signaling: Config.WriteTimeout and MinWriteRate must be positive")
	case c.TickInterval <= 0:
		return errors.New("signaling: Config.TickInterval must be positive")
	case c.QueueLength <= 0 || c.QueueBytes <= protocol.MaxFrameSize:
		return errors.New("signaling: Config.QueueLength must be positive and QueueBytes over protocol.MaxFrameSize")
	case c.MessageRate <= 0 || c.MessageBurst <= 0 || c.RoomDataInterval < 0 || c.RoomDataBurst <= 0:
		return errors.New("signaling: Config.MessageRate, MessageBurst and RoomDataBurst must be positive, RoomDataInterval not negative")
	case c.RoomLogsInterval <= 0 || c.RoomLogsBurst <= 0:
		return errors.New("signaling: Config.RoomLogsInterval and RoomLogsBurst must be positive")
	case c.LargeFrameBudget < frameBufferSize+midBufferSize:
		// A frame buffer (the largest frame), and the mid buffer that
		// read the frame's first MiB until it is copied in.
		return fmt.Errorf("signaling: Config.LargeFrameBudget must hold the read of one frame of protocol.MaxFrameSize: at least %d bytes", frameBufferSize+midBufferSize)
	case c.BacklogLength < 0 || c.MaxRoomsPerPeer <= 0 || c.MaxContacts <= 0:
		return errors.New("signaling: Config.BacklogLength, MaxRoomsPerPeer and MaxContacts must be positive")
	}
	return nil
}

// tick is the timer wheel's granularity.
func (c *Config) tick() time.Duration {
	return max(time.Millisecond, min(c.TickInterval, c.IdleTimeout/32))
}

// writeTimeout is how long a write of n bytes may take.
func (c *Config) writeTimeout(n int) time.Duration {
	return c.WriteTimeout + time.Duration(int64(n)*int64(time.Second)/int64(c.MinWriteRate))
}
