// Package turn is skywasm's embedded TURN relay (RFC 8656) for the peers
// of the apps allowed to use it, on pion/turn.
//
// # Credentials
//
// The signaling server hands each peer a credential with OPEN (see
// Server.Credential), in the time-limited style of the TURN REST draft
// (draft-uberti-behave-turn-rest): the username is
// "<expiry in Unix seconds>:<API key>:<peer ID>" and the password is
// base64(HMAC-SHA1(app secret, username)). The relay needs no state shared
// with signaling beyond the apps' secrets: it finds the app from the API key
// in the username and checks the password by the message integrity of each
// request.
//
// The expiry is checked on Allocate only. Refresh, CreatePermission and
// ChannelBind on an allocation made in time keep working after the
// credential expires, so that a call that outlives its credential is not
// cut; the allocation still ends when its client stops refreshing it.
//
// # Limits
//
//   - Peers: permissions (and so relaying) are refused for loopback,
//     private (RFC 1918, fc00::/7), CGNAT (100.64.0.0/10), link-local,
//     multicast, unspecified and broadcast addresses and the server's own
//     addresses, unless Config.AllowedPeers lists them, so that the relay
//     cannot be used to reach the server's network.
//   - Allocations: at most Config.MaxAllocationsPerPeer live at once per
//     API key and peer ID, Config.MaxAllocationsPerIP per client address
//     and Config.MaxAllocations on the server; more are answered 486
//     (Allocation Quota Reached).
//   - Bandwidth: each allocation has a token bucket of
//     Config.RelayBandwidth bytes per second, both directions together,
//     with a burst of one second's worth; a packet over it is dropped, as
//     UDP may drop it anyway. The bucket starts empty, so that making a new
//     allocation does not buy a burst. Packets from addresses without a
//     permission are dropped before they cost anything.
//   - Connections: a TCP or TLS client must finish its handshake and send
//     its first request within 10 s, and is cut after an hour of silence
//     (longer than any allocation lives unrefreshed). One client address
//     holds at most Config.MaxConnsPerIP of them and opens at most
//     Config.HandshakesPerIP a second, and the server at most
//     Config.MaxConns (as many as allocations, by default); past that a
//     new one is closed as soon as it is accepted, before any TLS
//     handshake.
//
// Refusals are counted (metrics.TURN.Refusals, by reason) and logged at
// Info with the reason, the username (or the peer address) and the
// client's address, never the password; refused connections are logged
// at Debug only, so that a flood of them is not a flood of log lines.
//
// # What it does not do
//
// Relay over TCP to peers (RFC 6062) is not offered: browsers relay media
// over UDP allocations (reached over UDP, TCP or TLS), so TCP allocations
// are answered 508 (Insufficient Capacity). It does not decide who is a
// peer: anyone holding a valid credential may allocate. It never logs
// passwords or secrets.
package turn
