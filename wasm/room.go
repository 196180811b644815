//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/internal/queue"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

var roomMethods = map[string]handler[*roomObject]{
	"roomMembers":         callRoomMembers,
	"roomSend":            callRoomSend,
	"roomClose":           roomAction("close", func(r sdk.Room) error { r.Close(); return nil }),
	"roomGetLog":          roomAction("getLog", sdk.Room.GetLog),
	"roomReplaceStream":   callRoomReplaceStream,
	"roomConnections":     callRoomConnections,
	"roomPeerConnections": callRoomPeerConnections,
	"roomPeerConnection":  callRoomPeerConnection,
	"roomRemoteStreams":   callRoomRemoteStreams,
}

// roomObject is the Go side of a JavaScript MeshRoom or SFURoom.
type roomObject struct {
	objectBase
	room sdk.Room
	// peerSelf is the Peer's JavaScript object: room errors are its error
	// events, as in SkyWay.
	peerSelf safejs.Value
	// sends holds the sends that must wait (see callRoomSend); it is
	// closed with the room.
	sends *queue.Queue[any]
	// waiting counts the values pushed to sends and not yet handled or
	// dropped: while it is 0, a send need not queue.
	waiting atomic.Int32

	mu sync.Mutex
	// calls are the JavaScript objects of a MeshRoom's calls, made when
	// the page first reads room.connections; they emit their own stream
	// and close events from then on (see roomCall).
	calls map[*sdk.MediaConnection]*mediaObject
}

func (*roomObject) kind() kind { return kindRoom }

// callJoinRoom is peer.joinRoom(name, options): the room's JavaScript
// object, the same one again for a room the peer is in already, or null
// after an error event on the peer (room-error for an empty name).
func callJoinRoom(b *bridge, o *peerObject, self safejs.Value, args []safejs.Value) any {
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return safejs.Null()
	}
	v := arg(args, 1)
	opts := &sdk.RoomOptions{
		// SkyWay made every mode but "sfu" a mesh room.
		Mode:           protocol.Mesh,
		Stream:         streamOf(field(v, "stream")),
		VideoBandwidth: int(numberOr(field(v, "videoBandwidth"), 0)),
		AudioBandwidth: int(numberOr(field(v, "audioBandwidth"), 0)),
		VideoCodec:     stringOr(field(v, "videoCodec"), ""),
		AudioCodec:     stringOr(field(v, "audioCodec"), ""),
		NoVideoReceive: isFalse(field(v, "videoReceiveEnabled")),
		NoAudioReceive: isFalse(field(v, "audioReceiveEnabled")),
	}
	if stringOr(field(v, "mode"), "") == string(protocol.SFU) {
		opts.Mode = protocol.SFU
	} else {
		// A mesh room's calls follow SkyWay's rule for calls; the SFU
		// takes the two options as they are.
		opts.NoVideoReceive, opts.NoAudioReceive = receiveOff(field(v, "stream"), v)
	}
	r, err := o.peer.JoinRoom(stringOr(arg(args, 0), ""), opts)
	if err != nil {
		b.emitError(self, err)
		return safejs.Null()
	}
	if ro := b.objectOfRoom(r); ro != nil {
		return ro.self
	}
	ro, err := b.adoptRoom(r, self)
	if err != nil {
		b.emitError(self, err)
		return safejs.Null()
	}
	return ro.self
}

// adoptRoom gives an SDK room its JavaScript object and routes its events
// there. The object leaves the table after its close event.
//
// If the shim's make throws, the room cannot reach the page: it is left,
// and the error returned.
func (b *bridge) adoptRoom(r sdk.Room, peerSelf safejs.Value) (*roomObject, error) {
	o := &roomObject{room: r, peerSelf: peerSelf, calls: map[*sdk.MediaConnection]*mediaObject{}}
	o.sends = queue.New(func(v any) { b.roomSend(o, v) }, queue.Config[any]{
		Dropped: func(any) {
			o.waiting.Add(-1)
			b.emitError(peerSelf, fmt.Errorf("skywasm: room.send: %w", sdk.ErrClosed))
		},
	})
	if err := b.make(o, string(r.Mode()), map[string]any{"name": r.Name()}); err != nil {
		o.sends.Close()
		go r.Close()
		return nil, err
	}
	self := o.self
	r.OnOpen(func() { b.emit(self, "open") })
	r.OnPeerJoin(func(id string) { b.emit(self, "peerJoin", id) })
	r.OnPeerLeave(func(id string) { b.emit(self, "peerLeave", id) })
	r.OnStream(func(s *sdk.MediaStream) { b.emit(self, "stream", labelled(s)) })
	r.OnData(func(d sdk.RoomData) {
		b.emit(self, "data", map[string]any{"src": d.Src, "data": toJS(d.Data)})
	})
	r.OnLog(func(entries []protocol.LogEntry) { b.emit(self, "log", logValue(r.Name(), entries)) })
	r.OnClose(func() {
		b.emit(self, "close")
		o.sends.Close()
		o.mu.Lock()
		calls := o.calls
		o.calls = map[*sdk.MediaConnection]*mediaObject{}
		o.mu.Unlock()
		for _, co := range calls {
			b.remove(co)
		}
		b.remove(o)
	})
	return o, nil
}

// labelled is a room's stream with SkyWay's peerId property set. A stream
// object that refuses the property (the page froze it) goes without.
func labelled(s *sdk.MediaStream) safejs.Value {
	v := safejs.Safe(s.JSValue())
	var b jsutil.Batch
	b.Set(v, "peerId", s.PeerID())
	return v
}

// logValue turns a room's log into what SkyWay's log event delivered: an
// array of JSON strings, each parsing to {messageType, message, timestamp}
// (SkyWay's documentation reads them with JSON.parse). message is the
// event as the members got it: {roomName, src} and, for ROOM_DATA, data,
// or size where the server left the data out.
func logValue(roomName string, entries []protocol.LogEntry) any {
	type message struct {
		RoomName string          `json:"roomName"`
		Src      string          `json:"src"`
		Data     json.RawMessage `json:"data,omitempty"`
		Size     int             `json:"size,omitempty"`
	}
	type entry struct {
		MessageType protocol.MessageType `json:"messageType"`
		Message     message              `json:"message"`
		Timestamp   int64                `json:"timestamp"`
	}
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		text, err := minjson.Marshal(entry{e.MessageType, message{roomName, e.Src, e.Data, e.Size}, e.Timestamp})
		if err != nil {
			continue
		}
		out = append(out, string(text))
	}
	return out
}

// callRooms is peer.rooms: {name: room}.
func callRooms(b *bridge, o *peerObject, _ safejs.Value, _ []safejs.Value) any {
	out := map[string]any{}
	if o == nil {
		return out
	}
	for name, r := range o.peer.Rooms() {
		if ro := b.objectOfRoom(r); ro != nil {
			out[name] = ro.self
		}
	}
	return out
}

func callRoomMembers(_ *bridge, o *roomObject, _ safejs.Value, _ []safejs.Value) any {
	out := []any{}
	if o == nil {
		return out
	}
	for _, id := range o.room.Members() {
		out = append(out, id)
	}
	return out
}

// roomAction runs a Room method that may wait on the browser in a
// goroutine; its error is the peer's error event.
func roomAction(name string, f func(sdk.Room) error) handler[*roomObject] {
	return func(b *bridge, o *roomObject, self safejs.Value, _ []safejs.Value) any {
		if o == nil {
			return safejs.Undefined()
		}
		peerSelf := o.peerSelf
		b.goSafe(peerSelf, name, func() {
			if err := f(o.room); err != nil {
				b.emitError(peerSelf, err)
			}
		}, nil)
		return safejs.Undefined()
	}
}

// callRoomReplaceStream is room.replaceStream(stream).
func callRoomReplaceStream(b *bridge, o *roomObject, self safejs.Value, args []safejs.Value) any {
	stream := streamOf(arg(args, 0))
	if stream == nil {
		return jsError(errors.New("skywasm: replaceStream needs a MediaStream"))
	}
	return roomAction("replaceStream", func(r sdk.Room) error { return r.ReplaceStream(stream) })(b, o, self, nil)
}

// callRoomConnections is meshRoom.connections: {peerId: [MediaConnection]}.
// A room's calls have JavaScript objects of their own, as in SkyWay.
func callRoomConnections(b *bridge, o *roomObject, _ safejs.Value, _ []safejs.Value) any {
	out := map[string]any{}
	if o == nil {
		return out
	}
	m, ok := o.room.(*sdk.MeshRoom)
	if !ok {
		return out
	}
	current := m.Connections()
	live := map[*sdk.MediaConnection]bool{}
	for remote, calls := range current {
		list := []any{}
		for _, c := range calls {
			live[c] = true
			if co := b.roomCall(o, c); co != nil {
				list = append(list, co.self)
			}
		}
		out[remote] = list
	}
	// Calls that ended leave the table; the page may still hold them.
	o.mu.Lock()
	var gone []*mediaObject
	for c, co := range o.calls {
		if !live[c] {
			gone = append(gone, co)
			delete(o.calls, c)
		}
	}
	o.mu.Unlock()
	for _, co := range gone {
		b.remove(co)
	}
	return out
}

// roomCall returns the JavaScript object of a mesh room's call, making it
// the first time; nil if the shim's make throws.
func (b *bridge) roomCall(o *roomObject, c *sdk.MediaConnection) *mediaObject {
	o.mu.Lock()
	defer o.mu.Unlock()
	if co := o.calls[c]; co != nil {
		return co
	}
	co := &mediaObject{media: c}
	if err := b.make(co, string(c.Type()), connProps(c)); err != nil {
		return nil
	}
	o.calls[c] = co
	// Like any MediaConnection, the call emits its own stream, close and
	// ICE recovery events (its errors are the Peer's, as the room's are),
	// from now on. Its stream is the one the room's stream event carried,
	// labelled with the peer already: the SDK gives the room its streams
	// before the call's handler.
	self := co.self
	c.OnStream(func(s *sdk.MediaStream) { b.emit(self, "stream", labelled(s)) })
	b.recoveryEvents(self, c)
	c.OnClose(func() { b.emit(self, "close") })
	return co
}

// callRoomPeerConnections is meshRoom.getPeerConnections().
func callRoomPeerConnections(_ *bridge, o *roomObject, _ safejs.Value, _ []safejs.Value) any {
	out := map[string]any{}
	if o == nil {
		return out
	}
	if m, ok := o.room.(*sdk.MeshRoom); ok {
		for remote, pc := range m.PeerConnections() {
			out[remote] = safejs.Safe(pc.JSValue())
		}
	}
	return out
}

// callRoomPeerConnection is sfuRoom.getPeerConnection(): null before the
// SFU's first offer and after the room closed.
func callRoomPeerConnection(_ *bridge, o *roomObject, _ safejs.Value, _ []safejs.Value) any {
	if o == nil {
		return safejs.Null()
	}
	if s, ok := o.room.(*sdk.SFURoom); ok {
		if pc := s.PeerConnection(); pc != nil {
			return safejs.Safe(pc.JSValue())
		}
	}
	return safejs.Null()
}

// callRoomRemoteStreams is sfuRoom.remoteStreams: {streamId: MediaStream},
// SkyWay's shape, holding the streams whose publisher is known and still
// in the room.
func callRoomRemoteStreams(_ *bridge, o *roomObject, _ safejs.Value, _ []safejs.Value) any {
	out := map[string]any{}
	if o == nil {
		return out
	}
	s, ok := o.room.(*sdk.SFURoom)
	if !ok {
		return out
	}
	for _, stream := range s.RemoteStreams() { // the SDK drops those of members who left
		if stream.PeerID() == "" {
			continue
		}
		out[stream.ID()] = labelled(stream)
	}
	return out
}

// callRoomSend is room.send(data). A value over the size limit is
// returned as an Error for the shim to throw, as SkyWay threw; any other
// failure is the peer's error event.
//
// A send waits in the room's queue, in the order the page made it, when it
// must: a value holding a Blob is read off the event loop first, and every
// send after it waits behind it. Otherwise it goes at once, so that the SDK
// checks its exact size while the shim can still throw. The SDK itself
// spaces the sends by the server's 100 ms limit.
func callRoomSend(b *bridge, o *roomObject, self safejs.Value, args []safejs.Value) any {
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return safejs.Undefined()
	}
	var c converter
	v, err := c.fromJS(arg(args, 0), 0)
	if err != nil {
		b.emitError(o.peerSelf, fmt.Errorf("skywasm: room.send: %w", err))
		return safejs.Undefined()
	}
	if n := sizeAtLeast(v); n > protocol.MaxRoomDataSize {
		return jsError(tooLarge(n))
	}
	if c.blobs == 0 && o.waiting.Load() == 0 {
		if err := o.room.Send(v); err != nil {
			if isSizeError(err) {
				return jsError(err)
			}
			b.emitError(o.peerSelf, err)
		}
		return safejs.Undefined()
	}
	o.waiting.Add(1)
	if !o.sends.Push(v) {
		o.waiting.Add(-1)
		b.emitError(o.peerSelf, fmt.Errorf("skywasm: room.send: %w", sdk.ErrClosed))
	}
	return safejs.Undefined()
}

// roomSend is the room's send queue's handler: it reads the Blobs of v and
// hands it to the room. A panic becomes an error event on the peer, and the
// queue goes on with the next value.
func (b *bridge) roomSend(o *roomObject, v any) {
	defer func() {
		o.waiting.Add(-1)
		if r := recover(); r != nil {
			b.emitError(o.peerSelf, internalError("room.send", r))
		}
	}()
	v, err := resolveBlobs(context.Background(), v, false)
	if err == nil {
		err = o.room.Send(v)
	}
	if err != nil {
		b.emitError(o.peerSelf, fmt.Errorf("skywasm: room.send: %w", err))
	}
}

// sizeAtLeast is a lower bound of v's encoded size: the bytes of its
// strings, binary data and Blobs. It lets a value too large for a room be
// refused at once, before its Blobs are read.
func sizeAtLeast(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []byte:
		return len(x)
	case blobRef:
		return x.size
	case []any:
		n := 0
		for _, e := range x {
			n += sizeAtLeast(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range x {
			n += len(k) + sizeAtLeast(e)
		}
		return n
	}
	return 0
}

func tooLarge(n int) error {
	return &sdk.Error{Type: protocol.ErrRoom, Message: fmt.Sprintf("room data of at least %d bytes is over the %d-byte limit", n, protocol.MaxRoomDataSize)}
}

// isSizeError reports whether err is the SDK's refusal of room data over
// the limit: the one room.send failure SkyWay threw.
func isSizeError(err error) bool {
	var se *sdk.Error
	return errors.As(err, &se) && se.Type == protocol.ErrRoom
}
