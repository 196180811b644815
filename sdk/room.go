package sdk

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/internal/queue"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk/internal/datapack"
)

// roomSendMargin is added to protocol.RoomDataInterval between two sends of
// room data: the server measures the interval between arrivals, and a
// message the network delayed would otherwise reach it too soon after the
// previous one and be refused.
const roomSendMargin = 20 * time.Millisecond

// RoomMode is a room's topology, SkyWay's room mode: RoomModeMesh or
// RoomModeSFU.
type RoomMode = protocol.RoomType

// The room modes.
const (
	// RoomModeMesh: every member calls every other (MeshRoom), "mesh".
	RoomModeMesh RoomMode = protocol.Mesh
	// RoomModeSFU: media goes through the server's SFU (SFURoom), "sfu".
	RoomModeSFU RoomMode = protocol.SFU
)

// Limits on room data (Room.Send), which the server enforces.
const (
	// MaxRoomDataSize bounds one Send's data, encoded, in bytes.
	MaxRoomDataSize = protocol.MaxRoomDataSize
	// RoomDataInterval is the least time between two sends of one peer
	// to one room; Room.Send spaces faster ones itself.
	RoomDataInterval = protocol.RoomDataInterval
)

// LogEntry is one event of a room's log (Room.GetLog): a member joined
// (MessageTypeRoomUserJoin) or left (MessageTypeRoomUserLeave), or sent
// data (MessageTypeRoomData).
type LogEntry = protocol.LogEntry

// MessageType is the type of a signaling message, as a LogEntry names the
// event it logged.
type MessageType = protocol.MessageType

// The message types of a room's log.
const (
	// MessageTypeRoomUserJoin logs a member's arrival.
	MessageTypeRoomUserJoin MessageType = protocol.RoomUserJoin
	// MessageTypeRoomUserLeave logs a member's departure.
	MessageTypeRoomUserLeave MessageType = protocol.RoomUserLeave
	// MessageTypeRoomData logs a member's Send; the entry's Data is left
	// out when it was binary or large.
	MessageTypeRoomData MessageType = protocol.RoomData
)

// RoomOptions are the options of Peer.JoinRoom, SkyWay's room options.
type RoomOptions struct {
	// Mode is RoomModeMesh (the default) or RoomModeSFU.
	Mode RoomMode
	// Stream is what this peer sends to the room; nil receives only.
	Stream *MediaStream
	// VideoBandwidth, AudioBandwidth, VideoCodec and AudioCodec are as in
	// CallOptions. In an SFU room the codecs are the SFU's choice and
	// these two are ignored.
	VideoBandwidth, AudioBandwidth int
	VideoCodec, AudioCodec         string
	// NoVideoReceive and NoAudioReceive turn off receiving that kind
	// (SkyWay's videoReceiveEnabled and audioReceiveEnabled set to false).
	NoVideoReceive, NoAudioReceive bool
}

// RoomData is a room's data event: what Src sent with Room.Send.
type RoomData struct {
	Src  string
	Data any
}

// Room is a MeshRoom or an SFURoom.
type Room interface {
	// Name is the room's name.
	Name() string
	// Mode is RoomModeMesh or RoomModeSFU.
	Mode() RoomMode
	// Members are the other peers in the room, in the order they joined.
	Members() []string
	// Open reports whether the server has let this peer in.
	Open() bool
	// Send sends data to every other member through the server: any value
	// a DataConnection's binary serialization takes, at most
	// MaxRoomDataSize bytes encoded. Sends are spaced by
	// RoomDataInterval; faster ones wait their turn, in order.
	Send(data any) error
	// Close leaves the room.
	Close()
	// ReplaceStream sends stream instead of the current one (nil: none).
	ReplaceStream(stream *MediaStream) error
	// GetLog asks the server for the room's log; the log event brings it.
	GetLog() error

	OnOpen(func())
	OnPeerJoin(func(peerID string))
	OnPeerLeave(func(peerID string))
	// OnStream fires once per remote stream; MediaStream.PeerID says
	// whose it is.
	OnStream(func(*MediaStream))
	OnData(func(RoomData))
	OnLog(func([]LogEntry))
	OnClose(func())

	base() *room
}

// roomKind is what a mesh and an SFU room do differently.
type roomKind interface {
	// joined runs when the server has let this peer in, with the other
	// members; again after a reconnection, when the peer may be on
	// another node that has none of its state.
	joined(members []string)
	peerJoined(id string)
	peerLeft(id string)
	replace(s *MediaStream) error
	// shutdown releases the media when the room closes.
	shutdown()
}

// room is what both kinds of room share: membership, events and data.
type room struct {
	peer *Peer
	name string
	mode RoomMode
	opts RoomOptions
	kind roomKind

	events      *serial
	onOpen      latch[struct{}]
	onPeerJoin  handler[string]
	onPeerLeave handler[string]
	onStream    handler[*MediaStream]
	onData      handler[RoomData]
	onLog       handler[[]LogEntry]
	onClose     handler[struct{}]

	// sendQ paces the room's data (sendFrame); it is held until the
	// server lets this peer in. lastSent is when sendFrame last wrote a
	// frame, used by it alone.
	sendQ    *queue.Queue[[]byte]
	lastSent time.Time
	// done is closed by close: it ends sendFrame's waits.
	done chan struct{}

	mu      sync.Mutex
	open    bool
	closed  bool
	members []string
	stream  *MediaStream
}

// newRoom makes the part of a room both kinds share.
func newRoom(p *Peer, name string, o RoomOptions) *room {
	r := &room{peer: p, name: name, mode: o.Mode, opts: o, stream: o.Stream,
		events: newSerial(), done: make(chan struct{})}
	// Unbounded, as Send promises: a faster sender's data waits its turn.
	r.sendQ = queue.New(r.sendFrame, queue.Config[[]byte]{})
	r.sendQ.Hold()
	return r
}

// Name is the room's name.
func (r *room) Name() string { return r.name }

// Mode is RoomModeMesh or RoomModeSFU.
func (r *room) Mode() RoomMode { return r.mode }

func (r *room) base() *room { return r }

// Members are the other peers in the room, in the order they joined.
func (r *room) Members() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.members...)
}

// Open reports whether the server has let this peer in.
func (r *room) Open() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open
}

// OnOpen sets the handler of the open event: this peer is in the room. The
// server can let the peer in before JoinRoom's caller has set the handler;
// such an open event is delivered to the handler when it is set.
func (r *room) OnOpen(f func()) { r.onOpen.set(r.events, func(struct{}) { f() }) }

// OnPeerJoin sets the handler of the peerJoin event.
func (r *room) OnPeerJoin(f func(string)) { r.onPeerJoin.set(f) }

// OnPeerLeave sets the handler of the peerLeave event.
func (r *room) OnPeerLeave(f func(string)) { r.onPeerLeave.set(f) }

// OnStream sets the handler of the stream event.
func (r *room) OnStream(f func(*MediaStream)) { r.onStream.set(f) }

// OnData sets the handler of the data event.
func (r *room) OnData(f func(RoomData)) { r.onData.set(f) }

// OnLog sets the handler of the log event, which answers GetLog.
func (r *room) OnLog(f func([]LogEntry)) { r.onLog.set(f) }

// OnClose sets the handler of the close event, fired once.
func (r *room) OnClose(f func()) { r.onClose.set(func(struct{}) { f() }) }

// JoinRoom joins the room name, or returns the room if this peer is in it
// or joining it already. The room's open event says the server let it in.
// An empty or invalid name is an *Error of type room-error.
func (p *Peer) JoinRoom(name string, opts *RoomOptions) (Room, error) {
	if opts == nil {
		opts = &RoomOptions{}
	}
	o := *opts
	if o.Mode == "" {
		o.Mode = protocol.Mesh
	}
	if !protocol.ValidRoomName([]byte(name)) {
		return nil, newError(protocol.ErrRoom, fmt.Sprintf("room name %q is not 1 to %d characters without control characters", name, protocol.MaxRoomNameLength), nil)
	}
	if o.Mode != protocol.Mesh && o.Mode != protocol.SFU {
		return nil, newError(protocol.ErrRoom, fmt.Sprintf("room mode %q is neither mesh nor sfu", o.Mode), nil)
	}
	mo := mediaOptions{o.VideoBandwidth, o.AudioBandwidth, o.VideoCodec, o.AudioCodec}
	if err := mo.check(); err != nil {
		return nil, err
	}
	if err := p.checkOpen(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if r, ok := p.rooms[name]; ok {
		p.mu.Unlock()
		return r, nil
	}
	r := newRoom(p, name, o)
	var rm Room
	if o.Mode == protocol.SFU {
		s := &SFURoom{room: r}
		r.kind, rm = s, s
	} else {
		m := &MeshRoom{room: r, conns: map[string]*MediaConnection{}}
		r.kind, rm = m, m
	}
	p.rooms[name] = rm
	p.mu.Unlock()
	if err := p.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: name, RoomType: o.Mode}); err != nil {
		r.close(false)
		return nil, err
	}
	return rm, nil
}

// Rooms returns the rooms this peer is in or joining, by name: SkyWay's
// peer.rooms.
func (p *Peer) Rooms() map[string]Room {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string]Room, len(p.rooms))
	for k, r := range p.rooms {
		m[k] = r
	}
	return m
}

// room returns the room name, or nil.
func (p *Peer) room(name string) Room {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rooms[name]
}

// rejoinRooms asks the server again for every room after a reconnection:
// a rejoin of a room the server kept is harmless, and one it dropped with
// the old session is joined afresh.
func (p *Peer) rejoinRooms() {
	for _, r := range p.Rooms() {
		b := r.base()
		_ = p.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: b.name, RoomType: b.mode})
	}
}

// Close leaves the room: its media connections close, the others get
// peerLeave, and close fires once.
func (r *room) Close() { r.close(true) }

// close closes the room once; leave tells the server, unless it refused
// the join.
func (r *room) close(leave bool) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed, r.open = true, false
	r.sendQ.Close()
	close(r.done)
	r.mu.Unlock()
	p := r.peer
	p.mu.Lock()
	if cur, ok := p.rooms[r.name]; ok && cur.base() == r {
		delete(p.rooms, r.name)
	}
	p.mu.Unlock()
	if leave {
		// A frame being written goes first: the server refuses data for
		// a room this peer has left. A stalled socket is not waited for.
		t := time.NewTimer(time.Second)
		select {
		case <-r.sendQ.Done():
		case <-t.C:
		}
		t.Stop()
		_ = p.send(protocol.RoomLeave, protocol.RoomPayload{RoomName: r.name})
	}
	r.kind.shutdown()
	emit(r.events, &r.onClose, struct{}{})
}

// ReplaceStream sends stream instead of the current one.
func (r *room) ReplaceStream(stream *MediaStream) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.stream = stream
	r.mu.Unlock()
	return r.kind.replace(stream)
}

func (r *room) localStream() *MediaStream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stream
}

// GetLog asks the server for the room's log.
func (r *room) GetLog() error {
	if r.isClosed() {
		return ErrClosed
	}
	return r.peer.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: r.name})
}

func (r *room) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Send queues data for the other members.
func (r *room) Send(data any) error {
	header, err := protocol.Marshal(protocol.RoomSendData, protocol.RoomPayload{RoomName: r.name})
	if err != nil {
		return err
	}
	body, err := encodeRoomData(data)
	if err != nil {
		return err
	}
	if len(body) > protocol.MaxRoomDataSize {
		return newError(protocol.ErrRoom, fmt.Sprintf("room data of %d bytes is over the %d-byte limit", len(body), protocol.MaxRoomDataSize), nil)
	}
	if !r.sendQ.Push(protocol.BinaryFrame(header, body)) {
		return ErrClosed
	}
	return nil
}

// encodeRoomData encodes a value as a DataConnection's binary
// serialization does, whole.
func encodeRoomData(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		head, err := datapack.AppendBinHeader(nil, len(x))
		return append(head, x...), err
	case *File:
		return encodeRoomData(*x)
	case File:
		head, err := datapack.AppendFileHeader(nil, x.Name, x.Type, len(x.Data))
		return append(head, x.Data...), err
	}
	b, err := datapack.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("sdk: encoding room data: %w", err)
	}
	return b, nil
}

// sendFrame is sendQ's handler: it writes one frame of room data straight
// to the signaling socket, waiting for one during an outage. Frames are
// spaced from when the previous one was written, not queued: the server
// measures the interval between arrivals, and a large frame takes a while
// to leave.
func (r *room) sendFrame(frame []byte) {
	t := time.NewTimer(time.Until(r.lastSent.Add(protocol.RoomDataInterval + roomSendMargin)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.done:
		return
	}
	l := r.peer.waitLink(r.done)
	if l == nil {
		return
	}
	_ = r.peer.write(l, websocket.MessageBinary, frame) // a failed write ends the socket, and the frame with it
	r.lastSent = time.Now()
}

// handleJoin takes ROOM_USER_JOIN.
func (r *room) handleJoin(j *protocol.RoomUserJoinPayload, self string) {
	if j.Src == self {
		others := make([]string, 0, len(j.RoomMembers))
		for _, m := range j.RoomMembers {
			if m != self {
				others = append(others, m)
			}
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		first := !r.open
		var left, came []string
		if !first {
			// A rejoin after a reconnection, maybe on another node: only
			// who came or went meanwhile is news to the application.
			left, came = diffMembers(r.members, others)
		}
		r.open, r.members = true, others
		r.sendQ.Release()
		r.mu.Unlock()
		if first {
			r.onOpen.fire(r.events, 1, struct{}{})
		}
		for _, id := range left {
			r.kind.peerLeft(id)
			emit(r.events, &r.onPeerLeave, id)
		}
		for _, id := range came {
			r.kind.peerJoined(id)
			emit(r.events, &r.onPeerJoin, id)
		}
		r.kind.joined(others)
		return
	}
	r.mu.Lock()
	known := false
	for _, m := range r.members {
		known = known || m == j.Src
	}
	if !known {
		r.members = append(r.members, j.Src)
	}
	r.mu.Unlock()
	if !known {
		r.kind.peerJoined(j.Src)
		emit(r.events, &r.onPeerJoin, j.Src)
	}
}

// diffMembers returns the members of was missing from now, and those of now
// missing from was, each in its list's order.
func diffMembers(was, now []string) (left, came []string) {
	for _, m := range was {
		if !slices.Contains(now, m) {
			left = append(left, m)
		}
	}
	for _, m := range now {
		if !slices.Contains(was, m) {
			came = append(came, m)
		}
	}
	return left, came
}

// handleLeave takes ROOM_USER_LEAVE of another member.
func (r *room) handleLeave(src string) {
	r.mu.Lock()
	found := false
	for i, m := range r.members {
		if m == src {
			r.members = append(r.members[:i], r.members[i+1:]...)
			found = true
			break
		}
	}
	r.mu.Unlock()
	if found {
		r.kind.peerLeft(src)
		emit(r.events, &r.onPeerLeave, src)
	}
}

// stream reports a remote stream of the room.
func (r *room) remoteStream(s *MediaStream) {
	emit(r.events, &r.onStream, s)
}

// joinRefused takes the server's refusal of the join: the room closes, so
// that joining again starts afresh. A room already in is left as it is.
func (r *room) joinRefused() {
	if !r.Open() {
		r.close(false)
	}
}
