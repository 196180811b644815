//go:build js && wasm

package sdk

import "github.com/coder/websocket"

// dialOptions is nil in the browser, whose WebSocket has no HTTP client to
// choose: the page's own TLS and proxy settings apply.
func (p *Peer) dialOptions() *websocket.DialOptions { return nil }
