package protocol

import (
	"encoding/binary"
	"fmt"

	"github.com/skywasm/skywasm/internal/minjson"
)

// AppendRelay appends the message that the server delivers for a relayed
// client message m (SEND_OFFER and the others whose Type.Relayed is true):
// the client's payload untouched, with "src" first. Parse has already
// refused a payload that sets src itself.
func AppendRelay(buf []byte, m *ClientMessage, src string) []byte {
	t, _ := m.Type.Relayed()
	buf = append(buf, `{"type":"`...)
	buf = append(buf, t...)
	buf = append(buf, `","payload":{"src":"`...)
	buf = append(buf, src...) // a peer ID needs no escaping
	buf = append(buf, `",`...)
	buf = append(buf, m.Payload[1:]...) // the payload's members and closing brace
	return append(buf, '}')
}

// AppendRoomData appends the ROOM_DATA that delivers m, a ROOM_SEND_DATA
// from src, to the other members: a text frame with the data as sent, or a
// binary frame (see BinaryFrame) when m came as one.
func AppendRoomData(buf []byte, m *ClientMessage, src string) []byte {
	buf = appendRoomDataHead(buf, m, src)
	buf = append(buf, m.Data...)
	return append(buf, roomDataTail(m.Binary)...)
}

// appendRoomDataHead appends what comes before the data in AppendRoomData's
// frame.
func appendRoomDataHead(buf []byte, m *ClientMessage, src string) []byte {
	start := len(buf)
	if m.Binary {
		buf = append(buf, 0, 0, 0, 0)
	}
	buf = append(buf, `{"type":"ROOM_DATA","payload":{"roomName":`...)
	buf = append(buf, m.RoomNameJSON...)
	buf = append(buf, `,"src":"`...)
	buf = append(buf, src...)
	if m.Binary {
		buf = append(buf, `"}}`...)
		binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
		return buf
	}
	return append(buf, `","data":`...)
}

// roomDataTail is what follows the data in AppendRoomData's frame.
func roomDataTail(binary bool) string {
	if binary {
		return ""
	}
	return "}}"
}

// RoomDataHeadroom is what RoomDataInPlace may need before a frame in its
// buffer: ROOM_DATA's header with the longest room name and peer ID, less
// nothing that the ROOM_SEND_DATA before it is sure to have.
const RoomDataHeadroom = 2 << 10

// RoomDataInPlace turns the buffer a ROOM_SEND_DATA was read into into the
// frame AppendRoomData would append, without copying the data, which may
// be 20 MiB: the ROOM_DATA header is written just before m.Data, over the
// frame's own header and up to RoomDataHeadroom bytes free before the
// frame, and its tail just after, over the frame's. buf ends where the
// frame does, and m was parsed from the frame. It returns the new frame, a
// part of buf, or false, with buf untouched, if m.Data is not in buf or the
// header does not fit.
func RoomDataInPlace(buf []byte, m *ClientMessage, src string) ([]byte, bool) {
	d := cap(buf) - cap(m.Data) // where m.Data starts, if it is a part of buf
	if len(m.Data) == 0 || d < 0 || d+len(m.Data) > len(buf) || &buf[d] != &m.Data[0] {
		return nil, false
	}
	// The header is built apart first: the room name it copies may lie
	// where it goes.
	var scratch [RoomDataHeadroom]byte
	head := appendRoomDataHead(scratch[:0], m, src)
	tail := roomDataTail(m.Binary)
	end := d + len(m.Data)
	if len(head) > d || end+len(tail) > len(buf) {
		return nil, false
	}
	copy(buf[end:], tail)
	copy(buf[d-len(head):], head)
	return buf[d-len(head) : end+len(tail)], true
}

// BinaryFrame returns a binary frame: the 4-byte big-endian length of the
// JSON envelope header, the header, then data. This is how ROOM_SEND_DATA
// and ROOM_DATA carry bytes without base64's third more.
func BinaryFrame(header []byte, data []byte) []byte {
	out := make([]byte, 4, 4+len(header)+len(data))
	binary.BigEndian.PutUint32(out, uint32(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

// SplitBinaryFrame splits a binary frame into its JSON header and its data.
func SplitBinaryFrame(frame []byte) (header, data []byte, err error) {
	if len(frame) < 4 {
		return nil, nil, fmt.Errorf("binary frame of %d bytes has no header length", len(frame))
	}
	n := binary.BigEndian.Uint32(frame)
	if int64(n) > int64(len(frame)-4) {
		return nil, nil, fmt.Errorf("binary frame header length %d exceeds the frame", n)
	}
	return frame[4 : 4+n], frame[4+n:], nil
}

// Marshal encodes a message of type t with payload as a text frame. The
// server uses it for the messages it composes (OPEN, ERROR, ROOM_USERS, …)
// and the SDK for everything it sends.
func Marshal(t MessageType, payload any) ([]byte, error) {
	env := Envelope{Type: t}
	if payload != nil {
		p, err := minjson.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("failed to encode %s payload: %w", t, err)
		}
		env.Payload = p
	}
	return minjson.Marshal(env)
}
