//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

var roomMethods = map[string]method{
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

// roomState is the Go side of a JavaScript MeshRoom or SFURoom beyond its
// sdk.Room.
type roomState struct {
	// peerSelf is the Peer's JavaScript object: room errors are its error
	// events, as in SkyWay.
	peerSelf js.Value
	sends    roomSendQueue

	mu sync.Mutex
	// calls are the JavaScript objects of a MeshRoom's calls, made when
	// the page first reads room.connections. They are listed in the
	// table, so their methods work, but emit nothing: their events are the
	// room's (see callRoomConnections).
	calls map[*sdk.MediaConnection]*object
}

// callJoinRoom is peer.joinRoom(name, options): the room's JavaScript
// object, the same one again for a room the peer is in already, or null
// after an error event on the peer (room-error for an empty name).
func callJoinRoom(b *bridge, o *object, self js.Value, args []js.Value) any {
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return js.Null()
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
		NoVideoReceive: field(v, "videoReceiveEnabled").Equal(js.ValueOf(false)),
		NoAudioReceive: field(v, "audioReceiveEnabled").Equal(js.ValueOf(false)),
	}
	if stringOr(field(v, "mode"), "") == string(protocol.SFU) {
		opts.Mode = protocol.SFU
	}
	r, err := o.peer.JoinRoom(stringOr(arg(args, 0), ""), opts)
	if err != nil {
		b.emitError(self, err)
		return js.Null()
	}
	if ro := b.objectOfRoom(r); ro != nil {
		return ro.self
	}
	return b.adoptRoom(r, self).self
}

// adoptRoom gives an SDK room its JavaScript object and routes its events
// there. The object leaves the table after its close event.
func (b *bridge) adoptRoom(r sdk.Room, peerSelf js.Value) *object {
	st := &roomState{peerSelf: peerSelf, calls: map[*sdk.MediaConnection]*object{}}
	o := &object{room: r, roomState: st}
	b.add(o)
	o.self = b.makeFn.Invoke(string(r.Mode()), o.handle, map[string]any{"name": r.Name()})
	self := o.self
	r.OnOpen(func() { b.emit(self, "open") })
	r.OnPeerJoin(func(id string) { b.emit(self, "peerJoin", id) })
	r.OnPeerLeave(func(id string) { b.emit(self, "peerLeave", id) })
	r.OnStream(func(s *sdk.MediaStream) {
		v := s.JSValue()
		v.Set("peerId", s.PeerID())
		b.emit(self, "stream", v)
	})
	r.OnData(func(d sdk.RoomData) {
		b.emit(self, "data", map[string]any{"src": d.Src, "data": toJS(d.Data)})
	})
	r.OnLog(func(entries []protocol.LogEntry) { b.emit(self, "log", logValue(entries)) })
	r.OnClose(func() {
		b.emit(self, "close")
		st.mu.Lock()
		calls := st.calls
		st.calls = map[*sdk.MediaConnection]*object{}
		st.mu.Unlock()
		for _, co := range calls {
			b.remove(co)
		}
		b.remove(o)
	})
	return o
}

// logValue turns a room's log into JavaScript objects, each as the server
// wrote it: {messageType, src, timestamp, data?, size?}.
func logValue(entries []protocol.LogEntry) any {
	if entries == nil {
		entries = []protocol.LogEntry{}
	}
	text, err := json.Marshal(entries)
	if err != nil {
		return jsArray.New()
	}
	return jsJSON.Call("parse", string(text))
}

// callRooms is peer.rooms: {name: room}.
func callRooms(b *bridge, o *object, _ js.Value, _ []js.Value) any {
	out := jsObject.New()
	if o == nil {
		return out
	}
	for name, r := range o.peer.Rooms() {
		if ro := b.objectOfRoom(r); ro != nil {
			out.Set(name, ro.self)
		}
	}
	return out
}

func callRoomMembers(_ *bridge, o *object, _ js.Value, _ []js.Value) any {
	out := jsArray.New()
	if o == nil || o.room == nil {
		return out
	}
	for _, id := range o.room.Members() {
		out.Call("push", id)
	}
	return out
}

// roomAction runs a Room method that may wait on the browser in a
// goroutine; its error is the peer's error event.
func roomAction(name string, f func(sdk.Room) error) method {
	return func(b *bridge, o *object, self js.Value, _ []js.Value) any {
		if o == nil || o.room == nil {
			return js.Undefined()
		}
		peerSelf := o.roomState.peerSelf
		b.goSafe(peerSelf, name, func() {
			if err := f(o.room); err != nil {
				b.emitError(peerSelf, err)
			}
		}, nil)
		return js.Undefined()
	}
}

// callRoomReplaceStream is room.replaceStream(stream).
func callRoomReplaceStream(b *bridge, o *object, self js.Value, args []js.Value) any {
	stream := streamOf(arg(args, 0))
	if stream == nil {
		return jsError(errors.New("skywasm: replaceStream needs a MediaStream"))
	}
	return roomAction("replaceStream", func(r sdk.Room) error { return r.ReplaceStream(stream) })(b, o, self, nil)
}

// callRoomConnections is meshRoom.connections: {peerId: [MediaConnection]}.
// A room's calls have JavaScript objects of their own, as in SkyWay, but
// their events belong to the room, whose stream and peerLeave events carry
// what a page needs: the SDK keeps each call's handlers for the room.
func callRoomConnections(b *bridge, o *object, _ js.Value, _ []js.Value) any {
	out := jsObject.New()
	if o == nil {
		return out
	}
	m, ok := o.room.(*sdk.MeshRoom)
	if !ok {
		return out
	}
	st := o.roomState
	current := m.Connections()
	live := map[*sdk.MediaConnection]bool{}
	for remote, calls := range current {
		list := jsArray.New()
		for _, c := range calls {
			live[c] = true
			list.Call("push", b.roomCall(st, c).self)
		}
		out.Set(remote, list)
	}
	// Calls that ended leave the table; the page may still hold them.
	st.mu.Lock()
	var gone []*object
	for c, co := range st.calls {
		if !live[c] {
			gone = append(gone, co)
			delete(st.calls, c)
		}
	}
	st.mu.Unlock()
	for _, co := range gone {
		b.remove(co)
	}
	return out
}

// roomCall returns the JavaScript object of a mesh room's call, making it
// the first time.
func (b *bridge) roomCall(st *roomState, c *sdk.MediaConnection) *object {
	st.mu.Lock()
	defer st.mu.Unlock()
	if co := st.calls[c]; co != nil {
		return co
	}
	co := &object{media: c}
	b.add(co)
	co.self = b.makeFn.Invoke(string(c.Type()), co.handle, map[string]any{
		"id":       c.ID(),
		"type":     string(c.Type()),
		"remoteId": c.RemoteID(),
		"metadata": metadataValue(c.Metadata()),
	})
	st.calls[c] = co
	return co
}

// callRoomPeerConnections is meshRoom.getPeerConnections().
func callRoomPeerConnections(_ *bridge, o *object, _ js.Value, _ []js.Value) any {
	out := jsObject.New()
	if o == nil {
		return out
	}
	if m, ok := o.room.(*sdk.MeshRoom); ok {
		for remote, pc := range m.PeerConnections() {
			out.Set(remote, pc.JSValue())
		}
	}
	return out
}

// callRoomPeerConnection is sfuRoom.getPeerConnection(): null before the
// SFU's first offer and after the room closed.
func callRoomPeerConnection(_ *bridge, o *object, _ js.Value, _ []js.Value) any {
	if o == nil {
		return js.Null()
	}
	if s, ok := o.room.(*sdk.SFURoom); ok {
		if pc := s.PeerConnection(); pc != nil {
			return pc.JSValue()
		}
	}
	return js.Null()
}

// callRoomRemoteStreams is sfuRoom.remoteStreams: {streamId: MediaStream},
// SkyWay's shape, holding the streams whose publisher is known and still
// in the room.
func callRoomRemoteStreams(_ *bridge, o *object, _ js.Value, _ []js.Value) any {
	out := jsObject.New()
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
		v := stream.JSValue()
		v.Set("peerId", stream.PeerID())
		out.Set(stream.ID(), v)
	}
	return out
}

// roomSendQueue keeps a room's sends in the order the page made them when
// some must wait: a value holding a Blob is read off the event loop first,
// and every send after it waits behind it. The SDK itself spaces the sends
// by the server's 100 ms limit.
type roomSendQueue struct {
	mu      sync.Mutex
	jobs    []any
	running bool
}

// callRoomSend is room.send(data). A value over the size limit is
// returned as an Error for the shim to throw, as SkyWay threw; any other
// failure is the peer's error event.
func callRoomSend(b *bridge, o *object, self js.Value, args []js.Value) any {
	if o == nil || o.room == nil {
		b.emitError(self, sdk.ErrClosed)
		return js.Undefined()
	}
	peerSelf := o.roomState.peerSelf
	var c converter
	v, err := c.fromJS(arg(args, 0), 0)
	if err != nil {
		b.emitError(peerSelf, fmt.Errorf("skywasm: room.send: %w", err))
		return js.Undefined()
	}
	if n := sizeAtLeast(v); n > protocol.MaxRoomDataSize {
		return jsError(tooLarge(n))
	}
	q := &o.roomState.sends
	q.mu.Lock()
	if c.blobs == 0 && !q.running {
		// Nothing to wait for: the SDK checks the exact size now.
		q.mu.Unlock()
		if err := o.room.Send(v); err != nil {
			if isSizeError(err) {
				return jsError(err)
			}
			b.emitError(peerSelf, err)
		}
		return js.Undefined()
	}
	q.jobs = append(q.jobs, v)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		b.goSafe(peerSelf, "room.send", func() { b.drainRoom(o) }, func() {
			q.mu.Lock()
			q.jobs, q.running = nil, false
			q.mu.Unlock()
		})
	}
	return js.Undefined()
}

// drainRoom hands the queued values to the room one by one, reading their
// Blobs first, until the queue is empty.
func (b *bridge) drainRoom(o *object) {
	q := &o.roomState.sends
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		v := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		v, err := resolveBlobs(context.Background(), v, false)
		if err == nil {
			err = o.room.Send(v)
		}
		if err != nil {
			b.emitError(o.roomState.peerSelf, fmt.Errorf("skywasm: room.send: %w", err))
		}
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
		return x.v.Get("size").Int()
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
