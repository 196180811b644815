package routing

import (
	"context"
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
		prev.inbox.Evict()
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
	r.log.add(protocol.RoomUserJoin, j.Peer, l.now(), nil, 0)
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
		delete(l.rooms, rk)
		return 0, nil
	}
	r.log.add(protocol.RoomUserLeave, peer, l.now(), nil, 0)
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

// LogRoomData implements Router.
func (l *Local) LogRoomData(_ context.Context, key, name, src string, data []byte, binary bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.rooms[roomKey{key, name}]; r != nil {
		if binary || len(data) > protocol.MaxLoggedData {
			r.log.add(protocol.RoomData, src, l.now(), nil, len(data))
		} else {
			r.log.add(protocol.RoomData, src, l.now(), data, len(data))
		}
	}
	return nil
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

// ring keeps the last protocol.MaxRoomLog events, reusing each slot's data
// buffer so that logging room data allocates only while the ring fills.
type ring struct {
	slots []protocol.LogEntry
	next  int // the slot to write once full
}

func (r *ring) add(t protocol.MessageType, src string, at time.Time, data []byte, size int) {
	var e *protocol.LogEntry
	if len(r.slots) < protocol.MaxRoomLog {
		r.slots = append(r.slots, protocol.LogEntry{})
		e = &r.slots[len(r.slots)-1]
	} else {
		e = &r.slots[r.next]
		r.next = (r.next + 1) % len(r.slots)
	}
	buf := e.Data[:0]
	if data != nil {
		buf = append(buf, data...)
	}
	*e = protocol.LogEntry{MessageType: t, Src: src, Timestamp: at.UnixMilli(), Data: buf, Size: size}
	if data == nil {
		e.Data = e.Data[:0]
	}
}

func (r *ring) entries() []protocol.LogEntry {
	out := make([]protocol.LogEntry, 0, len(r.slots))
	for i := range r.slots {
		e := r.slots[(r.next+i)%len(r.slots)]
		e.Data = slices.Clone(e.Data)
		if len(e.Data) == 0 {
			e.Data = nil
		}
		out = append(out, e)
	}
	return out
}
