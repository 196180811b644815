package protocol

// MessageType names a signaling message. The names are SkyWay's.
type MessageType string

// Client → server messages.
const (
	SendOffer        MessageType = "SEND_OFFER"
	SendAnswer       MessageType = "SEND_ANSWER"
	SendCandidate    MessageType = "SEND_CANDIDATE"
	SendForceClose   MessageType = "SEND_FORCE_CLOSE"
	RoomJoin         MessageType = "ROOM_JOIN"
	RoomLeave        MessageType = "ROOM_LEAVE"
	RoomGetUsers     MessageType = "ROOM_GET_USERS"
	RoomGetLogs      MessageType = "ROOM_GET_LOGS"
	RoomSendData     MessageType = "ROOM_SEND_DATA"
	SFUGetOffer      MessageType = "SFU_GET_OFFER"
	SFUAnswer        MessageType = "SFU_ANSWER"
	Ping             MessageType = "PING"
	UpdateCredential MessageType = "UPDATE_CREDENTIAL"
	// SFUCandidate goes both ways: the client's and the SFU's ICE
	// candidates for the room's PeerConnection.
	SFUCandidate MessageType = "SFU_CANDIDATE"
)

// Server → client messages.
const (
	Open          MessageType = "OPEN"
	Error         MessageType = "ERROR"
	Offer         MessageType = "OFFER"
	Answer        MessageType = "ANSWER"
	Candidate     MessageType = "CANDIDATE"
	ForceClose    MessageType = "FORCE_CLOSE"
	Leave         MessageType = "LEAVE"
	AuthExpiresIn MessageType = "AUTH_EXPIRES_IN"
	RoomUserJoin  MessageType = "ROOM_USER_JOIN"
	RoomUserLeave MessageType = "ROOM_USER_LEAVE"
	RoomUsers     MessageType = "ROOM_USERS"
	RoomLogs      MessageType = "ROOM_LOGS"
	RoomData      MessageType = "ROOM_DATA"
	SFUOffer      MessageType = "SFU_OFFER"
)

// ClientTypes lists every message a client may send, in protocol order.
var ClientTypes = []MessageType{
	SendOffer, SendAnswer, SendCandidate, SendForceClose,
	RoomJoin, RoomLeave, RoomGetUsers, RoomGetLogs, RoomSendData,
	SFUGetOffer, SFUAnswer, SFUCandidate,
	Ping, UpdateCredential,
}

// Relayed reports the message the server delivers to dst for a relayed
// client message (SEND_OFFER → OFFER, …), and whether t is relayed at all.
func (t MessageType) Relayed() (MessageType, bool) {
	switch t {
	case SendOffer:
		return Offer, true
	case SendAnswer:
		return Answer, true
	case SendCandidate:
		return Candidate, true
	case SendForceClose:
		return ForceClose, true
	}
	return "", false
}

// ConnectionType says whether a relayed offer, answer or candidate belongs to
// a media or a data connection.
type ConnectionType string

// The connection types.
const (
	Media ConnectionType = "media"
	Data  ConnectionType = "data"
)

// RoomType is a room's topology.
type RoomType string

// The room types.
const (
	Mesh RoomType = "mesh"
	SFU  RoomType = "sfu"
)
