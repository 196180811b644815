package routing

import (
	"context"
	"errors"

	"github.com/skywasm/skywasm/protocol"
)

// Router is the one way a signaling handler reaches other peers. Every method
// is safe for concurrent use; ctx bounds a call that crosses the network in a
// distributed Router.
type Router interface {
	// Claim makes inbox the holder of c.ID in c.Key's namespace. An ID
	// held with another token gives ErrIDTaken; one held with the same
	// token passes to inbox, and the previous holder is Evicted. A key at
	// c.MaxPeers gives ErrPeerLimit.
	Claim(ctx context.Context, c Claim, inbox Inbox) error
	// Release gives up key/id if inbox still holds it.
	Release(ctx context.Context, key, id string, inbox Inbox) error
	// Send delivers msg to the peer key/dst, or returns
	// ErrPeerUnavailable. It takes over the caller's reference to msg
	// whatever the outcome.
	Send(ctx context.Context, key, dst string, msg *Message) error
	// Exists reports whether key/id is claimed.
	Exists(ctx context.Context, key, id string) (bool, error)
	// Peers lists the IDs claimed under key, sorted.
	Peers(ctx context.Context, key string) ([]string, error)

	// JoinRoom adds a peer to a room, creating the room if need be, logs
	// the join, and returns the members in the order they joined. A room
	// of the other type gives ErrRoomType; a full one, ErrRoomFull.
	// Joining a room one is in returns its members and no error.
	JoinRoom(ctx context.Context, j Join) ([]string, error)
	// LeaveRoom removes a peer from a room, logs the leave, deletes the
	// room once empty, and returns how many members remain. A peer not in
	// the room gives ErrNotMember.
	LeaveRoom(ctx context.Context, key, room, peer string) (int, error)
	// RoomMembers lists a room's members in the order they joined; an
	// absent room has none.
	RoomMembers(ctx context.Context, key, room string) ([]string, error)
	// Broadcast delivers msg to every member of the room but except. It
	// takes over the caller's reference to msg.
	Broadcast(ctx context.Context, key, room, except string, msg *Message) error
	// LogRoomData appends a ROOM_DATA event to the room's log: data whole
	// when it is text and at most protocol.MaxLoggedData bytes, else only
	// its size. The log keeps the last protocol.MaxRoomLog events.
	LogRoomData(ctx context.Context, key, room, src string, data []byte, binary bool) error
	// RoomLog returns the room's log, oldest first.
	RoomLog(ctx context.Context, key, room string) ([]protocol.LogEntry, error)
}

// Inbox is where a Router delivers one peer's messages.
type Inbox interface {
	// Deliver takes one reference to msg and must Release it once the
	// message is written or dropped. It must not block, nor call back into
	// the Router.
	Deliver(msg *Message)
	// Evict tells the holder that it no longer holds its ID, and why: it
	// must close its socket without leaving its rooms or announcing a
	// departure, since the peer lives on.
	Evict(why Eviction)
}

// Eviction says why an Inbox was evicted.
type Eviction int

const (
	// Reclaimed: a connection with the same token claimed the ID; the
	// peer lives on in it.
	Reclaimed Eviction = iota
	// Fenced: the Router gave the ID up (a cluster node whose lease
	// lapsed, which the other nodes may have buried); the peer should
	// reconnect with its token, elsewhere if need be.
	Fenced
)

// Claim asks for a peer ID.
type Claim struct {
	Key, ID, Token string
	// MaxPeers bounds the peers of Key; 0 means no bound.
	MaxPeers int
}

// Join asks to put a peer in a room.
type Join struct {
	Key, Room, Peer string
	Type            protocol.RoomType
	// MaxMembers bounds the room; 0 means no bound.
	MaxMembers int
}

// Errors a Router returns.
var (
	ErrIDTaken         = errors.New("peer ID is in use")
	ErrPeerLimit       = errors.New("the key has as many peers as it may")
	ErrPeerUnavailable = errors.New("no such peer")
	ErrRoomType        = errors.New("the room exists with the other type")
	ErrRoomFull        = errors.New("the room is full")
	ErrNotMember       = errors.New("not a member of the room")
)

// LogEncoder is a Router that keeps each room's log encoded: RoomLogJSON
// returns it as the JSON array of ROOM_LOGS' log, encoded once per change
// however often it is asked for, and never written to after (the caller
// may keep it but not change it). The signaling plane prefers it to
// RoomLog, whose entries it would encode on every ROOM_GET_LOGS.
type LogEncoder interface {
	RoomLogJSON(ctx context.Context, key, room string) ([]byte, error)
}
