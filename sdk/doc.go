// Package sdk is skywasm's client: a Peer that connects to a skywasm server,
// places and receives calls (MediaConnection) and data connections
// (DataConnection), and joins rooms (MeshRoom, SFURoom), with the semantics of the SkyWay (ECLWebRTC) JavaScript
// SDK. The same code builds natively, on pion/webrtc, for bots, load tests and
// server-side clients, and with GOOS=js for the browser, where pion drives the
// page's own RTCPeerConnection.
//
// # Events
//
// Every object delivers its events from one queue of its own, in the order
// they happened, on a goroutine of the SDK, never under one of its locks: a
// handler may call back into the SDK. Handlers are set with OnX methods; each
// call replaces the previous handler. A handler is looked up when its event is
// delivered, so one set right after Call or Connect returns sees every event
// of that connection. The events of an incoming connection wait until the
// Peer's OnCall or OnConnection handler has returned, so handlers set there
// miss nothing either.
//
// # Errors
//
// Errors of the server and of the SDK are *Error, whose Type is SkyWay's
// error type (ErrorPeerUnavailable, ErrorDisconnected, …): match them with
// errors.As, or errors.Is against &Error{Type: …}. The values a program
// needs (error types, ConnectionType, RoomMode, Credential, LogEntry and
// the room data limits) are all declared here: a program needs no other
// skywasm package, only pion/webrtc for its own media tracks.
//
// # Signaling outages
//
// The Peer keeps its signaling socket up by itself: after an unexpected drop
// it reports OnDisconnected, reconnects with back-off under the same ID (the
// server keeps the ID for 30 s for the Peer's reconnection token), and reports
// OnReconnected. Established connections keep running meanwhile; signaling
// they send waits for the socket.
//
// # Clusters
//
// Before every connection the Peer asks its server's dispatcher (GET
// /v1/dispatch). A node of a skywasm cluster answers with the live nodes,
// least loaded first, and the Peer connects to the first; a single server
// answers with none and is used itself. When its node dies the Peer asks
// the other nodes, moves to a live one and reclaims its ID there with its
// token; its rooms are joined again, reporting only members who came or
// went meanwhile. Peer.ServerURL says where it is; PeerOptions.NoDispatch
// turns dispatching off.
//
// # Rooms
//
// Peer.JoinRoom joins a room of the Peer's API key. In a MeshRoom the joiner
// calls every member and members answer by themselves; in an SFURoom the Peer
// keeps one PeerConnection with the server's SFU, which makes every offer and
// names the publisher of each stream (MediaStream.PeerID). Room data
// (Room.Send) travels through the signaling server, not a data channel. After
// a signaling outage the Peer joins its rooms again.
//
// Natively, SFURoom.ReplaceStream can publish into a kind this Peer sends
// nothing of yet, but swapping one track for another is not supported yet:
// the native SDK replaces a track by removing it and adding a new one, and
// as the answering side it cannot add the new one's section to the SFU's
// description. In the browser, replaceTrack swaps in place.
//
// # Wasm
//
// With GOOS=js GOARCH=wasm:
//   - MediaStream wraps a JavaScript MediaStream (StreamFromJS), which the
//     page gets from getUserMedia or getDisplayMedia; media goes to the page's
//     RTCPeerConnection through its JavaScript object, because pion's browser
//     build has no tracks of its own.
//   - PeerOptions.API can only carry what pion's browser SettingEngine has.
//   - A DataConnection reads and writes the page's RTCDataChannel itself:
//     its frames go out from one reused buffer, and its messages are read
//     on the event loop. DataConnection.OnRawData takes a `none`
//     connection's binary messages as the ArrayBuffers they arrived in,
//     and a binary connection's ArrayBuffers, Files and Blobs of up to
//     1 MiB put together in the page's memory: Go reads only each chunk's
//     header (datapack's Reassembler.Place keeps the limits), or cut out
//     of the one message they came in. Bytes is binary data left in the
//     page's memory, which TrySend sends at once when the channel has room,
//     without copying it into Go's.
//   - Blocking methods wait on JavaScript promises: never call them from a
//     js.Func callback directly; start a goroutine.
//   - PeerOptions.Config is the package's own Configuration, the members
//     of webrtc.Configuration that the browser takes, and HTTPClient's
//     type is a placeholder (the page's fetch and WebSocket are used):
//     both keep crypto/x509's certificate code out of sdk.wasm.
//   - PeerOptions.Logger is a *textlog.Logger (an internal package that
//     the wasm bridge sets up), not a *slog.Logger: it writes the same
//     lines with log/slog's TextHandler format, and keeps log/slog out of
//     sdk.wasm.
package sdk
