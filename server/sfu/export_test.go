//go:build !js

package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/server/routing"
)

// Track is a published track, for the external tests' benchmarks.
type Track = track

// PublishedVideo returns the video track m publishes, or nil.
func (s *SFU) PublishedVideo(m routing.Member) *Track {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[roomKey{m.Key, m.Room}]; r != nil {
		for _, t := range r.tracks {
			if t.kind == webrtc.RTPCodecTypeVideo && t.pub.peer == m.Peer {
				return t
			}
		}
	}
	return nil
}

// Forwarder is a track's forwarding loop state.
type Forwarder = forwarder

// ForwardOne is the body of track.forward's loop for one packet already
// read into buf: into the shared buffer and every subscriber's queue. The
// subscribers' send loops do the rest on their own goroutines.
func ForwardOne(t *Track, f *Forwarder, buf []byte) {
	f.forward(t, buf, time.Now())
}

// Settled reports whether m's participant has no offer outstanding and
// none due, asked on its own goroutine; false if it has none.
func (s *SFU) Settled(m routing.Member) bool {
	s.mu.Lock()
	p := s.lookupLocked(m)
	s.mu.Unlock()
	if p == nil {
		return false
	}
	ch := make(chan bool, 1)
	if !p.do(func() { ch <- !p.offering && !p.dirty }) {
		return false
	}
	select {
	case ok := <-ch:
		return ok
	case <-time.After(5 * time.Second):
		return false
	}
}
