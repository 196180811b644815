//go:build !js

package sdk

import "github.com/pion/webrtc/v4"

// browserIO is the browser's send buffer and OnRawData handler
// (datachannel_js.go); natively pion sends from the slice it is given.
type browserIO struct{}

func (*browserIO) write(dc *webrtc.DataChannel, b []byte) error { return dc.Send(b) }

// receiveMessages hands the channel's messages to d.receive.
func (d *DataConnection) receiveMessages(dc *webrtc.DataChannel) { dc.OnMessage(d.receive) }

// maxMessageSize is the largest message the far side of pc's SCTP
// transport takes, 0 before it is known.
func maxMessageSize(pc *webrtc.PeerConnection) int {
	sctp := pc.SCTP()
	if sctp == nil {
		return 0
	}
	return int(sctp.GetCapabilities().MaxMessageSize)
}
