//go:build !js

package sfu

import (
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

// ForwardOne is the body of track.forward's loop for one packet already
// read into buf.
func ForwardOne(t *Track, buf []byte) {
	m := t.pub.s.metrics
	m.PacketsForwarded.Inc()
	m.BytesForwarded.Add(float64(len(buf)))
	_, _ = t.local.Write(buf)
}
