package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/skywasm/skywasm/protocol"
)

// Local is the in-process Router: every peer and room lives in this process.
type Local struct {
	now func() time.Time

	mu    sync.RWMutex
	peers map[peerKey]holder
	count map[string]int // peers per API key
	rooms map[roomKey]*room
	// logBytes is the bytes the room logs of each API key keep.
	logBytes map[string]int
}

type peerKey struct{ key, id string }
type roomKey struct{ key, name string }

type holder struct {
	token string
	inbox Inbox
}

type room struct {
	typ     protocol.RoomType
	members []string
	log     ring
}

// NewLocal returns an empty in-process Router.
func NewLocal() *Local {
	return &Local{
		now:   time.Now,
		peers: make(map[peerKey]holder),
		count: make(map[string]int),
		rooms: make(map[roomKey]*room),

		logBytes: make(map[string]int),
	}
}

var _ Router = (*Local)(nil)

// Claim implements Router.
func (l *Local) Claim(_ context.Context, c Claim, inbox Inbox) error {
	pk := peerKey{c.Key, c.ID}
	l.mu.Lock()
	prev, taken := l.peers[pk]
	switch {
	case taken && (c.Token == "" || prev.token != c.Token):
		l.mu.Unlock()
		return ErrIDTaken
	case !taken && c.MaxPeers > 0 && l.count[c.Key] >= c.MaxPeers:
		l.mu.Unlock()
		return ErrPeerLimit
	}
	l.peers[pk] = holder{c.Token, inbox}
	if !taken {
		l.count[c.Key]++
	}
	l.mu.Unlock()
	if taken && prev.inbox != inbox {
		prev.inbox.Evict(Reclaimed)
	}
	return nil
}

// Release implements Router.
func (l *Local) Release(_ context.Context, key, id string, inbox Inbox) error {
	pk := peerKey{key, id}
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.peers[pk]; ok && h.inbox == inbox {
		delete(l.peers, pk)
		if l.count[key]--; l.count[key] == 0 {
			delete(l.count, key)
		}
	}
	return nil
}

// Send implements Router.
func (l *Local) Send(_ context.Context, key, dst string, msg *Message) error {
	l.mu.RLock()
	h, ok := l.peers[peerKey{key, dst}]
	l.mu.RUnlock()
	if !ok {
		msg.Release()
		return ErrPeerUnavailable
	}
	h.inbox.Deliver(msg)
	return nil
}

// Exists implements Router.
func (l *Local) Exists(_ context.Context, key, id string) (bool, error) {
	l.mu.RLock()
	_, ok := l.peers[peerKey{key, id}]
	l.mu.RUnlock()
	return ok, nil
}

// Peers implements Router.
func (l *Local) Peers(_ context.Context, key string) ([]string, error) {
	l.mu.RLock()
	ids := make([]string, 0, l.count[key])
	for pk := range l.peers {
		if pk.key == key {
			ids = append(ids, pk.id)
		}
	}
	l.mu.RUnlock()
	slices.Sort(ids)
	return ids, nil
}

// JoinRoom implements Router.
func (l *Local) JoinRoom(_ context.Context, j Join) ([]string, error) {
	rk := roomKey{j.Key, j.Room}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[rk]
	switch {
	case r == nil:
		r = &room{typ: j.Type}
		l.rooms[rk] = r
	case r.typ != j.Type:
		return nil, ErrRoomType
	case slices.Contains(r.members, j.Peer):
		return slices.Clone(r.members), nil
	case j.MaxMembers > 0 && len(r.members) >= j.MaxMembers:
		return nil, ErrRoomFull
	}
	r.members = append(r.members, j.Peer)
	l.addLog(j.Key, r, protocol.RoomUserJoin, j.Peer, nil, 0)
	return slices.Clone(r.members), nil
}

// LeaveRoom implements Router.
func (l *Local) LeaveRoom(_ context.Context, key, name, peer string) (int, error) {
	rk := roomKey{key, name}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[rk]
	if r == nil {
		return 0, ErrNotMember
	}
	i := slices.Index(r.members, peer)
	if i < 0 {
		return len(r.members), ErrNotMember
	}
	r.members = slices.Delete(r.members, i, i+1)
	if len(r.members) == 0 {
		l.dropLog(key, r)
		delete(l.rooms, rk)
		return 0, nil
	}
	l.addLog(key, r, protocol.RoomUserLeave, peer, nil, 0)
	return len(r.members), nil
}

// RoomMembers implements Router.
func (l *Local) RoomMembers(_ context.Context, key, name string) ([]string, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if r := l.rooms[roomKey{key, name}]; r != nil {
		return slices.Clone(r.members), nil
	}
	return nil, nil
}

// Broadcast implements Router.
func (l *Local) Broadcast(_ context.Context, key, name, except string, msg *Message) error {
	l.mu.RLock()
	if r := l.rooms[roomKey{key, name}]; r != nil {
		for _, id := range r.members {
			if id == except {
				continue
			}
			if h, ok := l.peers[peerKey{key, id}]; ok {
				msg.Retain()
				h.inbox.Deliver(msg)
			}
		}
	}
	l.mu.RUnlock()
	msg.Release()
	return nil
}

// The bounds of the room logs of a Local, in bytes of kept text (room data
// of at most protocol.MaxLoggedData bytes, kept whole): a room's log drops
// its oldest events to stay within MaxRoomLogBytes, and within what the
// other rooms of its API key leave of MaxKeyLogBytes; an event whose text
// does not fit even so is logged with its size only, as binary data is.
const (
	MaxRoomLogBytes = 1 << 20
	MaxKeyLogBytes  = 64 << 20
)

// LogRoomData implements Router.
func (l *Local) LogRoomData(_ context.Context, key, name, src string, data []byte, binary bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.rooms[roomKey{key, name}]; r != nil {
		size := len(data)
		if binary || size > protocol.MaxLoggedData {
			data = nil
		}
		l.addLog(key, r, protocol.RoomData, src, data, size)
	}
	return nil
}

// addLog appends an event to r's log within the byte bounds; l.mu is held.
func (l *Local) addLog(key string, r *room, t protocol.MessageType, src string, data []byte, size int) {
	before := r.log.bytes
	limit := min(MaxRoomLogBytes, MaxKeyLogBytes-(l.logBytes[key]-before))
	r.log.add(t, src, l.now(), data, size, limit)
	l.logBytes[key] += r.log.bytes - before
}

// dropLog forgets r's log, which l.mu holds, from its key's total.
func (l *Local) dropLog(key string, r *room) {
	if l.logBytes[key] -= r.log.bytes; l.logBytes[key] <= 0 {
		delete(l.logBytes, key)
	}
}

// RoomLog implements Router.
func (l *Local) RoomLog(_ context.Context, key, name string) ([]protocol.LogEntry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if r := l.rooms[roomKey{key, name}]; r != nil {
		return r.log.entries(), nil
	}
	return nil, nil
}

// RoomLogJSON implements LogEncoder: the log is encoded once after each
// change, however often it is asked for.
func (l *Local) RoomLogJSON(_ context.Context, key, name string) ([]byte, error) {
	rk := roomKey{key, name}
	l.mu.RLock()
	r := l.rooms[rk]
	if r == nil {
		l.mu.RUnlock()
		return []byte("[]"), nil
	}
	if enc := r.log.encoded; enc != nil {
		l.mu.RUnlock()
		return enc, nil
	}
	l.mu.RUnlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if r = l.rooms[rk]; r == nil {
		return []byte("[]"), nil
	}
	if r.log.encoded == nil {
		enc, err := json.Marshal(r.log.entries())
		if err != nil {
			return nil, fmt.Errorf("routing: encoding the log of room %q: %w", name, err)
		}
		r.log.encoded = enc
	}
	return r.log.encoded, nil
}

// ring keeps the last protocol.MaxRoomLog events of a room, and at most a
// given number of bytes of their text, oldest dropped first. It reuses each
// slot's data buffer, so that logging room data allocates only while the
// ring fills.
type ring struct {
	slots []protocol.LogEntry // slots[(head+i)%len] for i < n are the events, oldest first
	head  int
	n     int
	bytes int // capacity of the kept data buffers
	// encoded is the log as a JSON array, made by RoomLogJSON, dropped by
	// add; it is never written to once made, so it may be handed out.
	encoded []byte
}

func (r *ring) add(t protocol.MessageType, src string, at time.Time, data []byte, size, limit int) {
	r.encoded = nil
	if r.n == len(r.slots) && len(r.slots) < protocol.MaxRoomLog {
		if r.head != 0 { // wrapped after evictions: unwrap to grow
			r.slots = append(slices.Clone(r.slots[r.head:]), r.slots[:r.head]...)
			r.head = 0
		}
		r.slots = append(r.slots, protocol.LogEntry{})
	}
	if r.n == len(r.slots) {
		r.evict(false)
	}
	for r.n > 0 && r.bytes+len(data) > limit {
		r.evict(true)
	}
	if len(data) > limit {
		data = nil // too big even for an empty log: its size only
	}
	e := &r.slots[(r.head+r.n)%len(r.slots)]
	r.n++
	buf := e.Data[:0]
	if cap(buf) > 2*len(data)+256 {
		buf = nil // a big buffer kept for a small text would count against the bound
	}
	r.bytes -= cap(e.Data)
	buf = append(buf, data...)
	r.bytes += cap(buf)
	*e = protocol.LogEntry{MessageType: t, Src: src, Timestamp: at.UnixMilli(), Data: buf, Size: size}
}

// evict drops the oldest event; free lets its data buffer go too, which a
// slot about to be reused keeps.
func (r *ring) evict(free bool) {
	e := &r.slots[r.head]
	if free {
		r.bytes -= cap(e.Data)
		e.Data = nil
	}
	e.Src = ""
	r.head = (r.head + 1) % len(r.slots)
	r.n--
}

func (r *ring) entries() []protocol.LogEntry {
	out := make([]protocol.LogEntry, 0, r.n)
	for i := range r.n {
		e := r.slots[(r.head+i)%len(r.slots)]
		e.Data = slices.Clone(e.Data)
		if len(e.Data) == 0 {
			e.Data = nil
		}
		out = append(out, e)
	}
	return out
}
