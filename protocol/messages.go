package protocol

import "encoding/json"

// Envelope is every text message: a type and its payload.
type Envelope struct {
	Type    MessageType     `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// SessionDescription is an RTCSessionDescriptionInit.
type SessionDescription struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// RelayPayload is the payload of SEND_OFFER, SEND_ANSWER, SEND_CANDIDATE and
// SEND_FORCE_CLOSE (client → server) and of OFFER, ANSWER, CANDIDATE and
// FORCE_CLOSE (server → client, with Src set by the server). Offer, Answer
// and Candidate are exclusive, by message type. Fields the server does not
// know are relayed untouched.
type RelayPayload struct {
	Src            string              `json:"src,omitempty"`
	Dst            string              `json:"dst,omitempty"`
	ConnectionID   string              `json:"connectionId"`
	ConnectionType ConnectionType      `json:"connectionType,omitempty"`
	Offer          *SessionDescription `json:"offer,omitempty"`
	Answer         *SessionDescription `json:"answer,omitempty"`
	Candidate      json.RawMessage     `json:"candidate,omitempty"`
	Metadata       json.RawMessage     `json:"metadata,omitempty"`
	Serialization  string              `json:"serialization,omitempty"`
	Label          string              `json:"label,omitempty"`
	DCInit         json.RawMessage     `json:"dcInit,omitempty"`
	RoomName       string              `json:"roomName,omitempty"`
}

// RoomPayload is the payload of ROOM_JOIN (with RoomType), ROOM_LEAVE,
// ROOM_GET_USERS and ROOM_GET_LOGS.
type RoomPayload struct {
	RoomName string   `json:"roomName"`
	RoomType RoomType `json:"roomType,omitempty"`
}

// RoomSendDataPayload is the payload of a text ROOM_SEND_DATA. In a binary frame
// the header has only RoomName and the data follows it.
type RoomSendDataPayload struct {
	RoomName string          `json:"roomName"`
	Data     json.RawMessage `json:"data"`
}

// OpenPayload is the payload of OPEN.
type OpenPayload struct {
	PeerID         string          `json:"peerId"`
	TURNCredential *TURNCredential `json:"turnCredential,omitempty"`
}

// TURNCredential is a time-limited TURN credential and the servers it is for.
type TURNCredential struct {
	Username string   `json:"username"`
	Password string   `json:"credential"`
	URLs     []string `json:"urls"`
	Expires  int64    `json:"expires"` // Unix seconds
}

// ErrorPayload is the payload of ERROR. Request names the client message
// that was refused, when there was one; Dst, ConnectionID and RoomName repeat
// its fields so the client can tell which connection or room failed.
type ErrorPayload struct {
	Type         ErrorType   `json:"type"`
	Message      string      `json:"message"`
	Request      MessageType `json:"request,omitempty"`
	Dst          string      `json:"dst,omitempty"`
	ConnectionID string      `json:"connectionId,omitempty"`
	RoomName     string      `json:"roomName,omitempty"`
}

// LeavePayload is the payload of LEAVE: a peer Src that this one exchanged
// signaling with has left.
type LeavePayload struct {
	Src string `json:"src"`
}

// AuthExpiresInPayload is the payload of AUTH_EXPIRES_IN.
type AuthExpiresInPayload struct {
	Seconds int64 `json:"seconds"`
}

// RoomUserJoinPayload is the payload of ROOM_USER_JOIN. RoomMembers lists
// every member, the joiner Src included, in the order they joined.
type RoomUserJoinPayload struct {
	RoomName    string   `json:"roomName"`
	RoomType    RoomType `json:"roomType"`
	Src         string   `json:"src"`
	RoomMembers []string `json:"roomMembers"`
}

// RoomUserLeavePayload is the payload of ROOM_USER_LEAVE.
type RoomUserLeavePayload struct {
	RoomName string `json:"roomName"`
	Src      string `json:"src"`
}

// RoomUsersPayload is the payload of ROOM_USERS.
type RoomUsersPayload struct {
	RoomName string   `json:"roomName"`
	UserList []string `json:"userList"`
}

// RoomLogsPayload is the payload of ROOM_LOGS.
type RoomLogsPayload struct {
	RoomName string     `json:"roomName"`
	Log      []LogEntry `json:"log"`
}

// LogEntry is one event of a room's log.
type LogEntry struct {
	MessageType MessageType     `json:"messageType"` // ROOM_USER_JOIN, ROOM_USER_LEAVE or ROOM_DATA
	Src         string          `json:"src"`
	Timestamp   int64           `json:"timestamp"` // Unix milliseconds
	Data        json.RawMessage `json:"data,omitempty"`
	// Size is the data's size in bytes. Data is left out when it was
	// binary or over MaxLoggedData.
	Size int `json:"size,omitempty"`
}

// RoomDataPayload is the payload of a text ROOM_DATA. In a binary frame the
// header has RoomName and Src and the data follows.
type RoomDataPayload struct {
	RoomName string          `json:"roomName"`
	Src      string          `json:"src"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// SFUGetOfferPayload is the payload of SFU_GET_OFFER: the client asks the SFU
// for an offer, first after joining an sfu room and again whenever it has
// attached a different stream. VideoReceiveEnabled and AudioReceiveEnabled
// (default true) say whether the SFU sends it the others' tracks of that
// kind; the first SFU_GET_OFFER of a membership fixes them.
type SFUGetOfferPayload struct {
	RoomName            string `json:"roomName"`
	VideoReceiveEnabled *bool  `json:"videoReceiveEnabled,omitempty"`
	AudioReceiveEnabled *bool  `json:"audioReceiveEnabled,omitempty"`
}

// SFUOfferPayload is the payload of SFU_OFFER. Msids maps the ID of every
// stream the offer sends to the ID of the peer that publishes it.
type SFUOfferPayload struct {
	RoomName string             `json:"roomName"`
	Offer    SessionDescription `json:"offer"`
	Msids    map[string]string  `json:"msids"`
}

// SFUAnswerPayload is the payload of SFU_ANSWER.
type SFUAnswerPayload struct {
	RoomName string             `json:"roomName"`
	Answer   SessionDescription `json:"answer"`
}

// SFUCandidatePayload is the payload of SFU_CANDIDATE, both ways: an
// RTCIceCandidateInit for the room's PeerConnection with the SFU.
type SFUCandidatePayload struct {
	RoomName  string          `json:"roomName"`
	Candidate json.RawMessage `json:"candidate"`
}
