//go:build !js

package sdk

import "github.com/pion/webrtc/v4"

// sendBuffer is the browser's reused send buffer (datachannel_js.go);
// natively pion sends from the slice it is given.
type sendBuffer struct{}

func (*sendBuffer) write(dc *webrtc.DataChannel, b []byte) error { return dc.Send(b) }

// receiveMessages hands the channel's messages to d.receive.
func (d *DataConnection) receiveMessages(dc *webrtc.DataChannel) { dc.OnMessage(d.receive) }
