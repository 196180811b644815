//go:build !js

package sdk

import "github.com/coder/websocket"

// dialOptions makes the signaling socket's handshake with the options' HTTP
// client too, so that one client (its TLS roots, its proxy) serves both.
func (p *Peer) dialOptions() *websocket.DialOptions {
	return &websocket.DialOptions{HTTPClient: p.opts.HTTPClient}
}
