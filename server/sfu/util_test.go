//go:build !js

package sfu_test

import (
	"errors"

	"github.com/skywasm/skywasm/protocol"
)

// minimalSDP parses but has no media.
const minimalSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

func protocolAnswer(sdp string) protocol.SessionDescription {
	return protocol.SessionDescription{Type: "answer", SDP: sdp}
}

func isProtocol(err error, typ protocol.ErrorType) bool {
	var pe *protocol.ProtocolError
	return errors.As(err, &pe) && pe.Type == typ
}
