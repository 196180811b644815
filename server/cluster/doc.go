// Package cluster spreads skywasm over several nodes on NATS: Router is a
// routing.Router whose peers and rooms live in NATS JetStream key-value
// buckets and whose deliveries cross nodes on NATS subjects, so the
// signaling plane runs unchanged on any node of a cluster. Embed runs a
// nats-server inside the process for clusters with nothing else installed.
//
// # What lives where
//
//   - Bucket skywasm_peers: key p.<key>.<id> holds a peer's claim (node,
//     node incarnation, token); key n.<key> counts the claims of an API key
//     for maxPeers. Create and compare-and-swap make an ID unique across
//     the cluster.
//   - Bucket skywasm_rooms: key <key>.<room> holds a room's type, epoch and
//     members in the order they joined.
//   - Bucket skywasm_nodes: key <node> holds a node's lease (incarnation,
//     public URL, load); the bucket's TTL is the lease, so a node that stops
//     refreshing vanishes from it.
//   - Bucket skywasm_sfu: key <key>.<room> holds the node an sfu room is
//     pinned to (name, incarnation) and the room's epoch; see SFU.
//   - Stream SKYWASM_ROOMLOG_<key>, one per API key, subjects
//     skywasm.roomlog.<key>.<room>.<epoch>: each room's log, at most
//     protocol.MaxRoomLog messages per subject and Config.RoomLogBytes of
//     text (older events are purged as the log is read), and at most
//     Config.KeyLogBytes per key (the stream's MaxBytes, oldest first).
//   - Subject skywasm.peer.<key>.<id>: requests delivering to one peer,
//     answered by the node holding it; no responders means no such peer.
//   - Subject skywasm.room.<key>.<room>: a room's broadcasts, subscribed by
//     every node with a member in it.
//   - Subject skywasm.sfu.<node>: SFU requests to the node a room is pinned
//     to; skywasm.sfu.leave: SFU leaves, heard by every node.
//
// A node holds two connections when Config.KVConn is set: deliveries on
// one, the key-value store, the room log and the lease on the other, so
// that bulk data cannot hold a lease refresh back.
//
// Every <key>, <id> and <room> is base64url-encoded behind a "k", so that
// no token holds '.', '*', '>' or white space. Messages over the
// connection's max payload are sent in chunks and reassembled.
//
// Nothing here blocks in a NATS callback: every subscription feeds one
// bounded channel drained by the Router's dispatcher, which hands messages
// to inboxes that never block. When the channel is full NATS drops the
// message and counts a slow consumer; a Send then fails after its timeout.
//
// Without a JetStream quorum the key-value operations fail, so claims and
// joins fail closed: the ID is never given to two holders.
package cluster
