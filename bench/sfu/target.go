//go:build !js

package sfu

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// target is an SFU the ramp runs against: how to start it as a child
// process and how its bots join. The bots publish and count alike
// whatever the server (publisher.send, subscriber.readRTP).
type target struct {
	name       string
	start      func(ctx context.Context, members int, logs io.Writer) (*server, error)
	publisher  func(ctx context.Context, srv *server, room string, index int, epoch time.Time) (*publisher, error)
	subscriber func(ctx context.Context, srv *server, api *webrtc.API, room string, index, publishers int, epoch time.Time, recording *atomic.Bool) (*subscriber, error)
}

// skywasmTarget is `skywasm serve` from the binary bin, with bots on the
// Go SDK; shed turns on the SFU's load shedding.
func skywasmTarget(bin string, shed bool) target {
	return target{
		name: "skywasm",
		start: func(ctx context.Context, members int, logs io.Writer) (*server, error) {
			return startServer(ctx, bin, shed, members, logs)
		},
		publisher:  startPublisher,
		subscriber: startSubscriber,
	}
}
