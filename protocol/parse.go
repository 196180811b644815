package protocol

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/skywasm/skywasm/internal/jsonscan"
)

// ClientMessage is a client message that Parse has validated. Its byte
// slices point into the parsed frame or into the ClientMessage itself: they
// are valid until the frame is reused or the next Parse into the same value.
// A server keeps one per connection, so parsing allocates nothing.
type ClientMessage struct {
	Type MessageType
	// Binary is set for a binary ROOM_SEND_DATA frame.
	Binary bool
	// Payload is the payload object as sent, for relaying.
	Payload []byte
	// Dst, ConnectionID and RoomName are decoded (escapes resolved).
	Dst          []byte
	ConnectionID []byte
	RoomName     []byte
	// RoomNameJSON is the room name as sent: a JSON string, quotes included.
	RoomNameJSON   []byte
	RoomType       RoomType
	ConnectionType ConnectionType
	// Data is ROOM_SEND_DATA's data: a JSON value in a text frame, the
	// bytes after the header in a binary one.
	Data []byte
	// Credential is UPDATE_CREDENTIAL's payload.
	Credential Credential
	// NoVideoReceive and NoAudioReceive are SFU_GET_OFFER's
	// videoReceiveEnabled and audioReceiveEnabled set to false.
	NoVideoReceive, NoAudioReceive bool

	dst    [MaxPeerIDLength]byte
	connID [MaxConnectionIDLength]byte
	room   [4 * MaxRoomNameLength]byte
}

// Fields a client message may carry, as bits of a set.
const (
	fDst uint32 = 1 << iota
	fConnectionID
	fConnectionType
	fOffer
	fAnswer
	fCandidate
	fMetadata
	fSerialization
	fLabel
	fDCInit
	fRoomName
	fRoomType
	fData
	fTimestamp
	fTTL
	fAuthToken
	fSrc
	fVideoReceiveEnabled
	fAudioReceiveEnabled
)

var fieldNames = [...]string{"dst", "connectionId", "connectionType", "offer", "answer", "candidate", "metadata",
	"serialization", "label", "dcInit", "roomName", "roomType", "data", "timestamp", "ttl", "authToken", "src",
	"videoReceiveEnabled", "audioReceiveEnabled"}

var fieldNameBytes = func() [][]byte {
	b := make([][]byte, len(fieldNames))
	for i, n := range fieldNames {
		b[i] = []byte(n)
	}
	return b
}()

// fieldBit finds a known field by name, folding case as encoding/json does
// when it decodes into a struct ("Src" and "ſrc" are "src" to a Go
// client): a payload cannot smuggle a second src or dst past the checks.
func fieldBit(key []byte) uint32 {
	for i, n := range fieldNameBytes {
		if bytes.EqualFold(key, n) {
			return 1 << i
		}
	}
	return 0
}

// required lists, per client message type, the fields it must carry.
func required(t MessageType, binary bool) uint32 {
	switch t {
	case SendOffer:
		return fDst | fConnectionID | fConnectionType | fOffer
	case SendAnswer:
		return fDst | fConnectionID | fConnectionType | fAnswer
	case SendCandidate:
		return fDst | fConnectionID | fConnectionType | fCandidate
	case SendForceClose:
		return fDst | fConnectionID
	case RoomJoin:
		return fRoomName | fRoomType
	case RoomLeave, RoomGetUsers, RoomGetLogs:
		return fRoomName
	case RoomSendData:
		if binary {
			return fRoomName
		}
		return fRoomName | fData
	case UpdateCredential:
		return fTimestamp | fTTL | fAuthToken
	case SFUGetOffer:
		return fRoomName
	case SFUAnswer:
		return fRoomName | fAnswer
	case SFUCandidate:
		return fRoomName | fCandidate
	}
	return 0
}

// forbidden lists, per client message type, the known fields it must not
// carry: an offer, an answer and a candidate are distinct messages, so that a
// recipient never has to guess which one it got.
func forbidden(t MessageType) uint32 {
	switch t {
	case SendOffer:
		return fAnswer | fCandidate
	case SendAnswer:
		return fOffer | fCandidate
	case SendCandidate:
		return fOffer | fAnswer
	case SendForceClose:
		return fOffer | fAnswer | fCandidate
	case SFUGetOffer:
		return fOffer | fAnswer | fCandidate
	case SFUAnswer:
		return fOffer | fCandidate
	case SFUCandidate:
		return fOffer | fAnswer
	}
	return 0
}

// oneOf returns the choice that s spells, without converting s to a string.
func oneOf[T ~string](s []byte, choices ...T) (T, bool) {
	for _, c := range choices {
		if string(s) == string(c) {
			return c, true
		}
	}
	var zero T
	return zero, false
}

// Parse validates one client frame into m. binary says whether it came as a
// binary WebSocket frame. It returns a *ProtocolError of type
// invalid-message naming the problem; m.Type is set whenever the type could
// be read, so the error can say which request failed.
func Parse(m *ClientMessage, frame []byte, binary bool) error {
	*m = ClientMessage{Binary: binary}
	text := frame
	if binary {
		if len(frame) < 4 {
			return invalid("", "binary frame shorter than its 4-byte header length")
		}
		n := binary32(frame)
		if n > MaxBinaryHeaderSize || int(n) > len(frame)-4 {
			return invalid("", "binary frame header length %d out of range", n)
		}
		text, m.Data = frame[4:4+n], frame[4+n:]
	}
	env, kind, err := jsonscan.Value(text)
	if err != nil {
		return invalid("", "%v", err)
	}
	if kind != jsonscan.Object {
		return invalid("", "message is a JSON %v, not an object", kind)
	}
	var typ []byte
	it := jsonscan.Members(env)
	for f, ok := it.Next(); ok; f, ok = it.Next() {
		switch string(f.Key) {
		case "type":
			if typ != nil {
				return invalid("", `duplicate field "type"`)
			}
			if f.Kind != jsonscan.String {
				return invalid("", `field "type" is a %v, want a string`, f.Kind)
			}
			typ = jsonscan.StringContent(f.Value)
		case "payload":
			if m.Payload != nil {
				return invalid("", `duplicate field "payload"`)
			}
			if f.Kind != jsonscan.Object {
				return invalid("", `field "payload" is a %v, want an object`, f.Kind)
			}
			m.Payload = f.Value
		}
	}
	if typ == nil {
		return invalid("", `missing field "type"`)
	}
	t, ok := oneOf(typ, ClientTypes...)
	if !ok {
		if len(typ) > 64 {
			typ = typ[:64]
		}
		return invalid("", "unknown message type %q", typ)
	}
	m.Type = t
	if binary && t != RoomSendData {
		return invalid(t, "only ROOM_SEND_DATA may be sent as a binary frame")
	}
	if t != RoomSendData && len(frame) > MaxMessageSize {
		return invalid(t, "message of %d bytes is over the %d-byte limit", len(frame), MaxMessageSize)
	}
	var seen uint32
	if m.Payload != nil {
		if seen, err = m.parsePayload(); err != nil {
			return err
		}
	}
	if len(m.Data) > MaxRoomDataSize { // text data is known only now
		return invalid(t, "room data of %d bytes is over the %d-byte limit", len(m.Data), MaxRoomDataSize)
	}
	if extra := seen & forbidden(t); extra != 0 {
		return invalid(t, "field %q belongs to another message type", fieldNames[bitIndex(extra&-extra)])
	}
	if binary && seen&fData != 0 {
		return invalid(t, `a binary frame carries its data after the header, not in field "data"`)
	}
	if missing := required(t, binary) &^ seen; missing != 0 {
		for i, n := range fieldNames {
			if missing&(1<<i) != 0 {
				return invalid(t, "missing field %q", n)
			}
		}
	}
	return nil
}

// parsePayload checks every field it knows, whatever the type; the others
// are left alone (and relayed as they are).
func (m *ClientMessage) parsePayload() (uint32, error) {
	var seen uint32
	t := m.Type
	it := jsonscan.Members(m.Payload)
	for f, ok := it.Next(); ok; f, ok = it.Next() {
		key := f.Key
		var keyBuf [32]byte
		if f.KeyEscaped {
			// A key spelt with escapes must not slip past the checks.
			key = jsonscan.Unquote(keyBuf[:0], f.Key)
		}
		bit := fieldBit(key)
		if bit == 0 {
			continue
		}
		name := fieldNames[bitIndex(bit)]
		if seen&bit != 0 {
			return 0, invalid(t, "duplicate field %q", name)
		}
		seen |= bit
		if err := m.field(bit, name, f); err != nil {
			return 0, err
		}
	}
	return seen, nil
}

func (m *ClientMessage) field(bit uint32, name string, f jsonscan.Member) error {
	t := m.Type
	want := jsonscan.String
	switch bit {
	case fMetadata, fData:
		want = jsonscan.Invalid // any
	case fOffer, fAnswer, fCandidate, fDCInit:
		want = jsonscan.Object
	case fTimestamp, fTTL:
		want = jsonscan.Number
	case fVideoReceiveEnabled, fAudioReceiveEnabled:
		if f.Kind != jsonscan.True && f.Kind != jsonscan.False {
			return invalid(t, "field %q is a %v, want a boolean", name, f.Kind)
		}
		if bit == fVideoReceiveEnabled {
			m.NoVideoReceive = f.Kind == jsonscan.False
		} else {
			m.NoAudioReceive = f.Kind == jsonscan.False
		}
		return nil
	}
	if want != jsonscan.Invalid && f.Kind != want {
		return invalid(t, "field %q is a %v, want a %v", name, f.Kind, want)
	}
	s := jsonscan.StringContent(f.Value)
	switch bit {
	case fSrc:
		return invalid(t, `field "src" is set by the server`)
	case fDst:
		if len(s) > 6*MaxPeerIDLength || !ValidPeerID(unquote(&m.Dst, m.dst[:0], s)) {
			return invalid(t, `field "dst" is not a valid peer ID`)
		}
	case fConnectionID:
		if len(s) > 6*MaxConnectionIDLength || !ValidConnectionID(unquote(&m.ConnectionID, m.connID[:0], s)) {
			return invalid(t, `field "connectionId" must be 1 to %d characters of [A-Za-z0-9_-]`, MaxConnectionIDLength)
		}
	case fConnectionType:
		var ok bool
		if m.ConnectionType, ok = oneOf(s, Media, Data); !ok {
			return invalid(t, `field "connectionType" must be "media" or "data"`)
		}
	case fRoomType:
		var ok bool
		if m.RoomType, ok = oneOf(s, Mesh, SFU); !ok {
			return invalid(t, `field "roomType" must be "mesh" or "sfu"`)
		}
	case fRoomName:
		m.RoomNameJSON = f.Value
		if len(s) > 6*len(m.room) || !ValidRoomName(unquote(&m.RoomName, m.room[:0], s)) {
			return invalid(t, `field "roomName" must be 1 to %d characters without control characters`, MaxRoomNameLength)
		}
	case fOffer, fAnswer:
		if !isDescription(f.Value) {
			return invalid(t, `field %q must be an object with string fields "type" and "sdp"`, name)
		}
	case fData:
		m.Data = f.Value
	case fTimestamp, fTTL:
		n, err := strconv.ParseInt(string(f.Value), 10, 64)
		if err != nil {
			return invalid(t, "field %q must be an integer", name)
		}
		if bit == fTimestamp {
			m.Credential.Timestamp = n
		} else {
			m.Credential.TTL = n
		}
	case fAuthToken:
		if len(s) > 256 {
			return invalid(t, `field "authToken" is too long`)
		}
		m.Credential.AuthToken = string(s)
	}
	return nil
}

// unquote decodes the string content s into buf, sets *field to the result
// and returns it. Callers bound len(s) first: a JSON escape takes at most six
// bytes a character, so a short enough s decodes within buf.
func unquote(field *[]byte, buf, s []byte) []byte {
	*field = jsonscan.Unquote(buf, s)
	return *field
}

func isDescription(obj []byte) bool {
	var typ, sdp bool
	it := jsonscan.Members(obj)
	for f, ok := it.Next(); ok; f, ok = it.Next() {
		switch string(f.Key) {
		case "type":
			typ = f.Kind == jsonscan.String
		case "sdp":
			sdp = f.Kind == jsonscan.String
		}
	}
	return typ && sdp
}

func bitIndex(bit uint32) int {
	i := 0
	for bit > 1 {
		bit >>= 1
		i++
	}
	return i
}

func binary32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func invalid(t MessageType, format string, args ...any) *ProtocolError {
	e := Errorf(ErrInvalidMessage, format, args...)
	if t != "" {
		e.Message = string(t) + ": " + e.Message
	}
	return e
}
