package protocol

import "time"

// Limits of the protocol. docs/protocol.md lists them with their reasons.
const (
	// MaxPeerIDLength is the longest peer ID, in bytes.
	MaxPeerIDLength = 64
	// GeneratedPeerIDLength is the length of a peer ID the server assigns.
	GeneratedPeerIDLength = 16
	// MaxTokenLength is the longest reconnection token.
	MaxTokenLength = 64
	// MaxConnectionIDLength is the longest connectionId.
	MaxConnectionIDLength = 64
	// MaxRoomNameLength is the longest room name, in characters; a name
	// may also take at most 4 bytes a character.
	MaxRoomNameLength = 128
	// MaxMessageSize bounds every message but room data: an envelope with
	// an SDP offer is typically 3–20 KB.
	MaxMessageSize = 128 << 10
	// MaxRoomDataSize bounds the data of one ROOM_SEND_DATA.
	MaxRoomDataSize = 20 << 20
	// MaxBinaryHeaderSize bounds the JSON header of a binary frame.
	MaxBinaryHeaderSize = 4 << 10
	// MaxFrameSize is the WebSocket read limit: the largest room data with
	// its header. A larger frame closes the connection with 1009.
	MaxFrameSize = MaxRoomDataSize + MaxBinaryHeaderSize + 4 + 64<<10

	// RoomDataInterval and RoomDataBurst bound the ROOM_SEND_DATA of one
	// member of one room: one per interval on average (a token bucket),
	// with up to RoomDataBurst back to back, because the server sees
	// arrivals and a delay on the way (a large frame ahead, a busy
	// network) bunches up messages a client sent an interval apart. Eight
	// absorbs a 1 MiB frame ahead of small ones on a busy 2-core machine,
	// where three did not always; the average stays SkyWay's one a 100 ms.
	RoomDataInterval = 100 * time.Millisecond
	RoomDataBurst    = 8
	// MessageRate and MessageBurst bound the messages of one connection (a
	// token bucket): faster messages get ERROR signaling-limited.
	MessageRate  = 100
	MessageBurst = 200
	// MaxLimitedMessages is how many refused messages in a row close the
	// connection with CloseFlooding.
	MaxLimitedMessages = 100

	// PingInterval is how often both sides ping.
	PingInterval = 25 * time.Second
	// IdleTimeout is how long a silent connection lives.
	IdleTimeout = 60 * time.Second
	// ReclaimWindow is how long an ID outlives an unexpected drop, for the
	// same token to reclaim it.
	ReclaimWindow = 30 * time.Second
	// AuthExpiryWarning is how long before a credential expires the server
	// sends AUTH_EXPIRES_IN.
	AuthExpiryWarning = 60 * time.Second

	// MaxRoomLog is how many events a room's log keeps.
	MaxRoomLog = 1000
	// MaxLoggedData is the largest room data kept whole in the log; larger
	// data is logged by size.
	MaxLoggedData = 4 << 10
)

// Close codes the server uses besides the standard ones (1000 normal, 1001
// going away, 1009 message too big, 1011 internal error).
const (
	CloseInvalidKey    = 4001
	CloseInvalidDomain = 4002
	CloseAuthFailed    = 4003 // bad credential, or expired without an update
	CloseInvalidID     = 4004
	CloseUnavailableID = 4005
	CloseFlooding      = 4006 // rate limit exceeded again and again
	CloseIdle          = 4007 // silent for IdleTimeout
	CloseReplaced      = 4008 // the same token reconnected elsewhere
	ClosePeerLimit     = 4009 // the key has maxPeers peers
	CloseSlowConsumer  = 4010 // the client read too slowly; messages were queued past the limit
	// CloseFenced: the server gave up the peer's ID (a cluster node that
	// lost its lease), without a word to its contacts or rooms; the client
	// reconnects with its token, through the dispatcher, as after a drop.
	CloseFenced = 4011
)
