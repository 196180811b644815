//go:build !js

package sfu

import (
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// readRTCP reads what one subscriber says about one track until the
// sender stops. pion's interceptors act on it as it is read (the NACK
// responder resends from its buffer, reports update the statistics), so
// it must be read even where the SFU itself has nothing to do.
func (p *participant) readRTCP(sender *webrtc.RTPSender, t *track) {
	m := p.s.metrics
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				m.PLIs.Inc()
				t.requestKeyframe()
			case *rtcp.TransportLayerNack:
				m.NACKs.Inc()
			}
		}
	}
}
