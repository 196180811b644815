// Package routing carries everything that crosses between peers: delivery to
// a peer by its ID, the claim on an ID, peer lookup and listing, and room
// membership, fan-out and logs. The signaling handlers reach other peers only
// through the Router interface, never through maps of their own, so that a
// Router spanning several servers (over NATS) can replace Local without a
// change to them.
//
// Local is the in-process Router. It does no I/O and starts no goroutines.
package routing
