// Package signaling is the WebSocket signaling plane: it accepts a peer's
// socket at /v1/signaling, checks its API key, origin and credential, gives
// it a peer ID, and then relays its offers, answers and candidates and runs
// its rooms.
//
// Three objects share the work. A Server accepts sockets. A peer is one
// claimed ID on this server; it outlives its socket for a reclaim window so
// that a reconnecting client gets its ID, rooms and queued messages back. A
// session is one socket: a reader, a goroutine only while frames come (an
// idle socket parks with the server's internal/poller and holds none, on
// Linux and without TLS); a queue of what it is sent, drained by a
// goroutine only while it has work; and its pings, idle checks and write
// deadlines on the server's timer wheel.
//
// Other peers are reached only through a routing.Router, never through this
// package's own maps, which hold only this server's peers.
//
// Lock order: a peer's mutex is never held while calling the Router, since
// the Router calls back into peers (Deliver, Evict).
package signaling
