//go:build !js

package sfu

import (
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Congestion thresholds: a video down-track pauses when its share of the
// subscriber's bandwidth estimate falls below pauseRatio of the track's
// bitrate, and resumes (at a keyframe) above resumeRatio.
const (
	pauseRatio  = 0.5
	resumeRatio = 0.8
)

// readRTCP reads what one subscriber says about one down-track until the
// sender stops: keyframe requests go to the publisher, NACKs are
// answered from the track's shared buffer, REMB pauses or resumes video.
func (p *participant) readRTCP(sender *webrtc.RTPSender, d *downTrack) {
	m := p.s.metrics
	t := d.t
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				m.PLIs.Inc()
				t.requestKeyframe()
			case *rtcp.TransportLayerNack:
				m.NACKs.Inc()
				for _, pair := range pkt.Nacks {
					pair.Range(func(seq uint16) bool {
						d.nack(seq)
						return true
					})
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if len(pkt.SSRCs) > 0 {
					d.estimate(float64(pkt.Bitrate) / float64(len(pkt.SSRCs)))
				}
			}
		}
	}
}

// estimate is the subscriber's bandwidth estimate for this down-track, in
// bits per second, from REMB (a TWCC-based estimator would call it too):
// far below the track's bitrate, video pauses; it resumes at a keyframe.
func (d *downTrack) estimate(bps float64) {
	if d.t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	rate := float64(d.t.bitrate.Load())
	switch {
	case rate <= 0:
	case bps < pauseRatio*rate:
		d.paused.Store(true)
	case bps > resumeRatio*rate && d.paused.Load():
		d.paused.Store(false)
		d.t.keyframeForNewSubscriber()
	}
}
