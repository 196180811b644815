// Package protocol defines skywasm's signaling protocol: the message types and
// their payloads, the error types, the limits, the validation of identifiers,
// and the decoding of what a client sends. The server and the SDK both build
// on it, so the two can never disagree about the wire.
//
// Messages are JSON envelopes {"type": "...", "payload": {...}} in WebSocket
// text frames; ROOM_SEND_DATA and ROOM_DATA may also travel as binary frames
// (see BinaryFrame). docs/protocol.md is the specification.
//
// The package does no I/O and keeps no state.
package protocol
