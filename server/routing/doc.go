// Package routing carries everything that crosses between peers: delivery to
// a peer by its ID, the claim on an ID, peer lookup and listing, and room
// membership, fan-out and logs. The signaling handlers reach other peers only
// through the Router interface, never through maps of their own, so that a
// Router spanning several servers (over NATS) can replace Local without a
// change to them.
//
// It also declares the SFU interface, the contract by which the signaling
// plane hands a peer's SFU_* messages to the media plane: both planes build
// on this package, and neither may import the other.
//
// Local is the in-process Router. It does no I/O and starts no goroutines.
package routing
