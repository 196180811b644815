package routing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
)

const key, otherKey = "key-a", "key-b"

// inbox records what a Router hands it. With keep set it holds the messages
// for the test to inspect and release; otherwise it releases each at once.
type inbox struct {
	keep      bool
	delivered atomic.Int64
	evicted   atomic.Int64

	mu   sync.Mutex
	msgs []*Message
}

func (in *inbox) Deliver(m *Message) {
	in.delivered.Add(1)
	if !in.keep {
		m.Release()
		return
	}
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
}

func (in *inbox) Evict(Eviction) { in.evicted.Add(1) }

// releaseAll releases every kept message and returns how many there were.
func (in *inbox) releaseAll() int {
	in.mu.Lock()
	msgs := in.msgs
	in.msgs = nil
	in.mu.Unlock()
	for _, m := range msgs {
		m.Release()
	}
	return len(msgs)
}

// unpooled returns a message holding one reference whose buffer is too big
// for the pool: once its count reaches zero no one else can take it, so the
// count can be read and an extra Release must panic, whatever runs in
// parallel.
func unpooled(s string) *Message {
	m := &Message{Data: append(make([]byte, 0, maxPooled+1), s...)}
	m.refs.Store(1)
	return m
}

// mustPanic fails unless f panics.
func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func claim(id, token string) Claim { return Claim{Key: key, ID: id, Token: token} }

func TestLocalClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// first is claimed by inbox a, then second by inbox b.
		first, second Claim
		want          error
		holder        string // "a" or "b": who holds second's ID afterwards
	}{
		{"free", claim("x", "t1"), claim("y", ""), nil, "b"},
		{"taken by another token", claim("x", "t1"), claim("x", "t2"), ErrIDTaken, "a"},
		{"taken, no token", claim("x", "t1"), claim("x", ""), ErrIDTaken, "a"},
		{"empty token never reclaims", claim("x", ""), claim("x", ""), ErrIDTaken, "a"},
		{"same token passes on", claim("x", "t1"), claim("x", "t1"), nil, "b"},
		{"same ID other key", claim("x", "t1"), Claim{Key: otherKey, ID: "x", Token: "t2"}, nil, "b"},
		{"max peers", Claim{Key: key, ID: "x", MaxPeers: 1}, Claim{Key: key, ID: "y", MaxPeers: 1}, ErrPeerLimit, ""},
		{"max peers counted per key", Claim{Key: key, ID: "x", MaxPeers: 1}, Claim{Key: otherKey, ID: "y", MaxPeers: 1}, nil, "b"},
		{"max peers spares a reclaim", Claim{Key: key, ID: "x", Token: "t", MaxPeers: 1}, Claim{Key: key, ID: "x", Token: "t", MaxPeers: 1}, nil, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLocal()
			a, b := &inbox{keep: true}, &inbox{keep: true}
			if err := l.Claim(ctx, tt.first, a); err != nil {
				t.Fatalf("first Claim: %v", err)
			}
			if err := l.Claim(ctx, tt.second, b); !errors.Is(err, tt.want) {
				t.Fatalf("second Claim = %v, want %v", err, tt.want)
			}
			if tt.holder != "" {
				if err := l.Send(ctx, tt.second.Key, tt.second.ID, unpooled("m")); err != nil {
					t.Fatalf("Send to the holder: %v", err)
				}
				got := map[string]int64{"a": a.delivered.Load(), "b": b.delivered.Load()}
				if got[tt.holder] != 1 || got["a"]+got["b"] != 1 {
					t.Fatalf("delivered a=%d b=%d, want the one message at %s", got["a"], got["b"], tt.holder)
				}
			}
			wantEvict := int64(0)
			if tt.first == tt.second && tt.want == nil {
				wantEvict = 1
			}
			if n := a.evicted.Load(); n != wantEvict {
				t.Fatalf("first holder evicted %d times, want %d", n, wantEvict)
			}
			if n := b.evicted.Load(); n != 0 {
				t.Fatalf("second holder evicted %d times", n)
			}
			a.releaseAll()
			b.releaseAll()
		})
	}
}

func TestLocalReclaimEvictsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal()
	a, b, c := &inbox{}, &inbox{}, &inbox{}
	for _, in := range []*inbox{a, b, b, c} { // b claims twice: a holder is not evicted by itself
		if err := l.Claim(ctx, claim("x", "tok"), in); err != nil {
			t.Fatal(err)
		}
	}
	if a.evicted.Load() != 1 || b.evicted.Load() != 1 || c.evicted.Load() != 0 {
		t.Fatalf("evictions a=%d b=%d c=%d, want 1 1 0", a.evicted.Load(), b.evicted.Load(), c.evicted.Load())
	}
	// The old holders' Release must not free the ID the new one holds.
	for _, in := range []*inbox{a, b} {
		if err := l.Release(ctx, key, "x", in); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := l.Exists(ctx, key, "x"); !ok {
		t.Fatal("a former holder's Release freed the ID")
	}
	if ids, _ := l.Peers(ctx, key); !slices.Equal(ids, []string{"x"}) {
		t.Fatalf("Peers = %q after reclaims, want [x]", ids)
	}
}

func TestLocalMaxPeers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal()
	in := make([]*inbox, 4)
	for i := range in {
		in[i] = &inbox{}
	}
	c := func(id string) Claim { return Claim{Key: key, ID: id, MaxPeers: 2} }
	if err := l.Claim(ctx, c("p0"), in[0]); err != nil {
		t.Fatal(err)
	}
	if err := l.Claim(ctx, c("p1"), in[1]); err != nil {
		t.Fatal(err)
	}
	if err := l.Claim(ctx, c("p2"), in[2]); !errors.Is(err, ErrPeerLimit) {
		t.Fatalf("third Claim = %v, want ErrPeerLimit", err)
	}
	// Another key has its own count; a key without MaxPeers has no bound.
	if err := l.Claim(ctx, Claim{Key: otherKey, ID: "p2", MaxPeers: 2}, in[2]); err != nil {
		t.Fatalf("Claim under another key: %v", err)
	}
	// Releasing by a non-holder frees nothing.
	if err := l.Release(ctx, key, "p0", in[3]); err != nil {
		t.Fatal(err)
	}
	if err := l.Claim(ctx, c("p3"), in[3]); !errors.Is(err, ErrPeerLimit) {
		t.Fatalf("Claim after a non-holder's Release = %v, want ErrPeerLimit", err)
	}
	// Releasing an ID that is not held frees nothing either.
	if err := l.Release(ctx, key, "nobody", in[0]); err != nil {
		t.Fatal(err)
	}
	if err := l.Claim(ctx, c("p3"), in[3]); !errors.Is(err, ErrPeerLimit) {
		t.Fatalf("Claim after releasing an unheld ID = %v, want ErrPeerLimit", err)
	}
	if err := l.Release(ctx, key, "p0", in[0]); err != nil {
		t.Fatal(err)
	}
	if err := l.Claim(ctx, c("p3"), in[3]); err != nil {
		t.Fatalf("Claim after the holder's Release: %v", err)
	}
	if ids, _ := l.Peers(ctx, key); !slices.Equal(ids, []string{"p1", "p3"}) {
		t.Fatalf("Peers = %q, want [p1 p3]", ids)
	}
}

func TestLocalRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name        string
		key, id     string
		byHolder    bool
		stillExists bool
	}{
		{"by the holder", key, "x", true, false},
		{"by another inbox", key, "x", false, true},
		{"other key", otherKey, "x", true, true},
		{"other id", key, "y", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLocal()
			holder := &inbox{}
			if err := l.Claim(ctx, claim("x", "t"), holder); err != nil {
				t.Fatal(err)
			}
			var by Inbox = &inbox{}
			if tt.byHolder {
				by = holder
			}
			if err := l.Release(ctx, tt.key, tt.id, by); err != nil {
				t.Fatalf("Release: %v", err)
			}
			if ok, _ := l.Exists(ctx, key, "x"); ok != tt.stillExists {
				t.Fatalf("Exists = %v, want %v", ok, tt.stillExists)
			}
			// A released ID is free for any token.
			err := l.Claim(ctx, claim("x", "other"), &inbox{})
			if tt.stillExists != errors.Is(err, ErrIDTaken) {
				t.Fatalf("Claim after Release = %v", err)
			}
		})
	}
}

func TestLocalSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal()
	bob := &inbox{keep: true}
	if err := l.Claim(ctx, claim("bob", ""), bob); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		key, dst string
		want     error
	}{
		{"holder", key, "bob", nil},
		{"unknown", key, "nobody", ErrPeerUnavailable},
		{"other key", otherKey, "bob", ErrPeerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := unpooled(tt.name)
			before := bob.delivered.Load()
			if err := l.Send(ctx, tt.key, tt.dst, m); !errors.Is(err, tt.want) {
				t.Fatalf("Send = %v, want %v", err, tt.want)
			}
			if tt.want == nil {
				if bob.delivered.Load() != before+1 {
					t.Fatal("message not delivered")
				}
				if n := m.refs.Load(); n != 1 {
					t.Fatalf("delivered message has %d references, want the caller's 1 passed on", n)
				}
				bob.mu.Lock()
				got := bob.msgs[len(bob.msgs)-1]
				bob.mu.Unlock()
				if got != m || string(got.Data) != tt.name {
					t.Fatalf("delivered %q, want %q", got.Data, tt.name)
				}
				bob.releaseAll()
			} else if bob.delivered.Load() != before {
				t.Fatal("undeliverable message was delivered")
			}
			if n := m.refs.Load(); n != 0 {
				t.Fatalf("message holds %d references once released, want 0", n)
			}
			mustPanic(t, "Release past zero", m.Release)
		})
	}
}

func TestMessageRefs(t *testing.T) {
	t.Parallel()
	m := unpooled("x")
	m.Retain()
	m.Retain()
	for want := int32(2); want >= 0; want-- {
		m.Release()
		if n := m.refs.Load(); n != want {
			t.Fatalf("refs = %d, want %d", n, want)
		}
	}
	mustPanic(t, "Release past zero", m.Release)

	p := NewMessage(true)
	if n := p.refs.Load(); n != 1 || len(p.Data) != 0 || !p.Binary || p.Src != "" {
		t.Fatalf("NewMessage = refs %d, %q, binary %v, src %q", n, p.Data, p.Binary, p.Src)
	}
	p.Data = append(p.Data, "dirty"...)
	p.Src = "alice"
	p.Release()
	// Whatever the pool hands out next, it must come clean.
	q := NewMessage(false)
	if q.refs.Load() != 1 || len(q.Data) != 0 || q.Binary || q.Src != "" {
		t.Fatalf("reused message = refs %d, %q, binary %v, src %q", q.refs.Load(), q.Data, q.Binary, q.Src)
	}
	q.Release()
}

func TestLocalExistsAndPeers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal()
	for _, c := range []Claim{
		{Key: key, ID: "zed"}, {Key: key, ID: "Alpha"}, {Key: key, ID: "alpha"}, {Key: key, ID: "m-1"},
		{Key: otherKey, ID: "b"}, {Key: otherKey, ID: "a"},
	} {
		if err := l.Claim(ctx, c, &inbox{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		key  string
		want []string
	}{
		{key, []string{"Alpha", "alpha", "m-1", "zed"}},
		{otherKey, []string{"a", "b"}},
		{"no-such-key", []string{}},
	}
	for _, tt := range tests {
		t.Run("peers "+tt.key, func(t *testing.T) {
			ids, err := l.Peers(ctx, tt.key)
			if err != nil || !slices.Equal(ids, tt.want) || ids == nil {
				t.Fatalf("Peers = %#v, %v; want %q", ids, err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		key, id string
		want    bool
	}{
		{key, "zed", true}, {key, "Zed", false}, {otherKey, "zed", false}, {otherKey, "a", true}, {key, "", false},
	} {
		t.Run(fmt.Sprintf("exists %s/%s", tt.key, tt.id), func(t *testing.T) {
			if ok, err := l.Exists(ctx, tt.key, tt.id); err != nil || ok != tt.want {
				t.Fatalf("Exists = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
}

func join(room, peer string, typ protocol.RoomType, maxMembers int) Join {
	return Join{Key: key, Room: room, Peer: peer, Type: typ, MaxMembers: maxMembers}
}

func TestLocalJoinRoom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		joins   []Join
		want    []string // members returned by the last join
		wantErr error
	}{
		{"creates", []Join{join("r", "a", protocol.Mesh, 0)}, []string{"a"}, nil},
		{"members in order", []Join{join("r", "c", protocol.SFU, 0), join("r", "a", protocol.SFU, 0), join("r", "b", protocol.SFU, 0)}, []string{"c", "a", "b"}, nil},
		{"other type", []Join{join("r", "a", protocol.Mesh, 0), join("r", "b", protocol.SFU, 0)}, nil, ErrRoomType},
		{"full", []Join{join("r", "a", protocol.Mesh, 2), join("r", "b", protocol.Mesh, 2), join("r", "c", protocol.Mesh, 2)}, nil, ErrRoomFull},
		{"rejoin is idempotent", []Join{join("r", "a", protocol.Mesh, 0), join("r", "b", protocol.Mesh, 0), join("r", "a", protocol.Mesh, 0)}, []string{"a", "b"}, nil},
		{"rejoin of a full room", []Join{join("r", "a", protocol.Mesh, 2), join("r", "b", protocol.Mesh, 2), join("r", "b", protocol.Mesh, 2)}, []string{"a", "b"}, nil},
		{"rejoin with the other type", []Join{join("r", "a", protocol.Mesh, 0), join("r", "a", protocol.SFU, 0)}, nil, ErrRoomType},
		{"rooms per key", []Join{join("r", "a", protocol.Mesh, 1), {Key: otherKey, Room: "r", Peer: "b", Type: protocol.SFU, MaxMembers: 1}}, []string{"b"}, nil},
		{"rooms per name", []Join{join("r", "a", protocol.Mesh, 1), join("s", "b", protocol.SFU, 1)}, []string{"b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLocal()
			last := len(tt.joins) - 1
			for _, j := range tt.joins[:last] {
				if _, err := l.JoinRoom(ctx, j); err != nil {
					t.Fatalf("JoinRoom(%+v): %v", j, err)
				}
			}
			before, _ := l.RoomMembers(ctx, tt.joins[last].Key, tt.joins[last].Room)
			members, err := l.JoinRoom(ctx, tt.joins[last])
			if !errors.Is(err, tt.wantErr) || !slices.Equal(members, tt.want) {
				t.Fatalf("JoinRoom = %q, %v; want %q, %v", members, err, tt.want, tt.wantErr)
			}
			after, _ := l.RoomMembers(ctx, tt.joins[last].Key, tt.joins[last].Room)
			if err != nil && !slices.Equal(before, after) {
				t.Fatalf("a refused join changed the members from %q to %q", before, after)
			}
			if err == nil && !slices.Equal(after, members) {
				t.Fatalf("RoomMembers = %q, JoinRoom returned %q", after, members)
			}
		})
	}
}

func TestLocalJoinRoomReturnsACopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal()
	members, _ := l.JoinRoom(ctx, join("r", "a", protocol.Mesh, 0))
	members[0] = "mallory"
	if got, _ := l.RoomMembers(ctx, key, "r"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("changing JoinRoom's result changed the room: %q", got)
	}
	got, _ := l.RoomMembers(ctx, key, "r")
	got[0] = "mallory"
	if again, _ := l.RoomMembers(ctx, key, "r"); !slices.Equal(again, []string{"a"}) {
		t.Fatalf("changing RoomMembers' result changed the room: %q", again)
	}
	if none, err := l.RoomMembers(ctx, key, "absent"); none != nil || err != nil {
		t.Fatalf("RoomMembers of an absent room = %q, %v", none, err)
	}
}

func TestLocalLeaveRoom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name        string
		members     []string
		room, peer  string
		wantLeft    int
		wantErr     error
		wantMembers []string
	}{
		{"member", []string{"a", "b", "c"}, "r", "b", 2, nil, []string{"a", "c"}},
		{"first member", []string{"a", "b", "c"}, "r", "a", 2, nil, []string{"b", "c"}},
		{"last member", []string{"a"}, "r", "a", 0, nil, nil},
		{"not a member", []string{"a", "b"}, "r", "x", 2, ErrNotMember, []string{"a", "b"}},
		{"no such room", []string{"a"}, "s", "a", 0, ErrNotMember, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLocal()
			for _, m := range tt.members {
				if _, err := l.JoinRoom(ctx, join("r", m, protocol.Mesh, 0)); err != nil {
					t.Fatal(err)
				}
			}
			left, err := l.LeaveRoom(ctx, key, tt.room, tt.peer)
			if left != tt.wantLeft || !errors.Is(err, tt.wantErr) {
				t.Fatalf("LeaveRoom = %d, %v; want %d, %v", left, err, tt.wantLeft, tt.wantErr)
			}
			if got, _ := l.RoomMembers(ctx, key, tt.room); !slices.Equal(got, tt.wantMembers) {
				t.Fatalf("members = %q, want %q", got, tt.wantMembers)
			}
		})
	}
}

func TestLocalEmptyRoomIsDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal()
	for _, p := range []string{"a", "b"} {
		if _, err := l.JoinRoom(ctx, join("r", p, protocol.Mesh, 0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"a", "b"} {
		if _, err := l.LeaveRoom(ctx, key, "r", p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.LeaveRoom(ctx, key, "r", "a"); !errors.Is(err, ErrNotMember) {
		t.Fatalf("leaving twice = %v, want ErrNotMember", err)
	}
	members, err := l.JoinRoom(ctx, join("r", "c", protocol.SFU, 0))
	if err != nil || !slices.Equal(members, []string{"c"}) {
		t.Fatalf("rejoining an emptied room with the other type = %q, %v", members, err)
	}
	// The new room starts a new log.
	log, _ := l.RoomLog(ctx, key, "r")
	if len(log) != 1 || log[0].MessageType != protocol.RoomUserJoin || log[0].Src != "c" {
		t.Fatalf("log of the new room = %+v", log)
	}
	l.mu.RLock()
	n := len(l.rooms)
	l.mu.RUnlock()
	if n != 1 {
		t.Fatalf("%d rooms kept, want 1", n)
	}
}

func TestLocalBroadcast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		members []string // each claimed, in room "r"
		except  string
		want    []string // who gets the message
	}{
		{"all but except", []string{"a", "b", "c", "d"}, "b", []string{"a", "c", "d"}},
		{"no except", []string{"a", "b"}, "", []string{"a", "b"}},
		{"except not a member", []string{"a", "b"}, "x", []string{"a", "b"}},
		{"only except", []string{"a"}, "a", nil},
		{"empty room", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLocal()
			inboxes := map[string]*inbox{}
			for _, id := range tt.members {
				inboxes[id] = &inbox{keep: true}
				if err := l.Claim(ctx, claim(id, ""), inboxes[id]); err != nil {
					t.Fatal(err)
				}
				if _, err := l.JoinRoom(ctx, join("r", id, protocol.Mesh, 0)); err != nil {
					t.Fatal(err)
				}
			}
			// A member of the same room name under another key hears nothing.
			stranger := &inbox{keep: true}
			if err := l.Claim(ctx, Claim{Key: otherKey, ID: "a"}, stranger); err != nil {
				t.Fatal(err)
			}
			if _, err := l.JoinRoom(ctx, Join{Key: otherKey, Room: "r", Peer: "a", Type: protocol.Mesh}); err != nil {
				t.Fatal(err)
			}

			m := unpooled("hello")
			if err := l.Broadcast(ctx, key, "r", tt.except, m); err != nil {
				t.Fatalf("Broadcast: %v", err)
			}
			var got []string
			for _, id := range tt.members {
				if n := inboxes[id].delivered.Load(); n > 1 {
					t.Fatalf("%s got %d copies", id, n)
				} else if n == 1 {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, tt.want) || stranger.delivered.Load() != 0 {
				t.Fatalf("delivered to %q (stranger %d), want %q", got, stranger.delivered.Load(), tt.want)
			}
			if n := m.refs.Load(); n != int32(len(tt.want)) {
				t.Fatalf("message holds %d references after Broadcast, want one per recipient (%d)", n, len(tt.want))
			}
			for _, id := range tt.members {
				inboxes[id].releaseAll()
			}
			if n := m.refs.Load(); n != 0 {
				t.Fatalf("message holds %d references once every inbox released, want 0", n)
			}
			mustPanic(t, "Release past zero", m.Release)
		})
	}
}

func TestLocalBroadcastSkipsUnclaimedMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal()
	a := &inbox{keep: true}
	if err := l.Claim(ctx, claim("a", ""), a); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "ghost"} {
		if _, err := l.JoinRoom(ctx, join("r", p, protocol.Mesh, 0)); err != nil {
			t.Fatal(err)
		}
	}
	m := unpooled("x")
	if err := l.Broadcast(ctx, key, "r", "", m); err != nil {
		t.Fatal(err)
	}
	if a.releaseAll() != 1 || m.refs.Load() != 0 {
		t.Fatalf("refs = %d after the only recipient released", m.refs.Load())
	}
	// Broadcast to a room that does not exist releases the message too.
	m = unpooled("y")
	if err := l.Broadcast(ctx, key, "absent", "", m); err != nil || m.refs.Load() != 0 {
		t.Fatalf("Broadcast to an absent room = %v, refs %d", err, m.refs.Load())
	}
}

// clock is a fake time that moves a millisecond each call.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newClockedLocal() *Local {
	l := NewLocal()
	c := &clock{t: time.UnixMilli(1_700_000_000_000)}
	l.now = c.now
	return l
}

func TestLocalRoomLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newClockedLocal()
	mustJoin := func(p string) {
		t.Helper()
		if _, err := l.JoinRoom(ctx, join("r", p, protocol.Mesh, 0)); err != nil {
			t.Fatal(err)
		}
	}
	mustLog := func(p string, data []byte, binary bool) {
		t.Helper()
		if err := l.LogRoomData(ctx, key, "r", p, data, binary); err != nil {
			t.Fatal(err)
		}
	}
	whole := []byte(`"` + strings.Repeat("w", protocol.MaxLoggedData-2) + `"`)
	over := []byte(`"` + strings.Repeat("o", protocol.MaxLoggedData-1) + `"`)
	mustJoin("a")
	mustJoin("b")
	mustLog("a", []byte(`{"n":1}`), false)
	mustLog("b", []byte{0, 1, 2}, true)
	mustLog("a", whole, false)
	mustLog("b", over, false)
	if _, err := l.LeaveRoom(ctx, key, "r", "a"); err != nil {
		t.Fatal(err)
	}
	mustJoin("a")
	// Logging to a room that does not exist is a no-op.
	if err := l.LogRoomData(ctx, key, "absent", "a", []byte("1"), false); err != nil {
		t.Fatal(err)
	}

	want := []protocol.LogEntry{
		{MessageType: protocol.RoomUserJoin, Src: "a"},
		{MessageType: protocol.RoomUserJoin, Src: "b"},
		{MessageType: protocol.RoomData, Src: "a", Data: []byte(`{"n":1}`), Size: 7},
		{MessageType: protocol.RoomData, Src: "b", Size: 3},
		{MessageType: protocol.RoomData, Src: "a", Data: whole, Size: protocol.MaxLoggedData},
		{MessageType: protocol.RoomData, Src: "b", Size: protocol.MaxLoggedData + 1},
		{MessageType: protocol.RoomUserLeave, Src: "a"},
		{MessageType: protocol.RoomUserJoin, Src: "a"},
	}
	log, err := l.RoomLog(ctx, key, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != len(want) {
		t.Fatalf("log has %d entries, want %d: %+v", len(log), len(want), log)
	}
	var last int64
	for i, e := range log {
		w := want[i]
		if e.MessageType != w.MessageType || e.Src != w.Src || string(e.Data) != string(w.Data) || e.Size != w.Size {
			t.Errorf("entry %d = {%s %s %.20q %d}, want {%s %s %.20q %d}", i, e.MessageType, e.Src, e.Data, e.Size, w.MessageType, w.Src, w.Data, w.Size)
		}
		if (e.Data == nil) != (w.Data == nil) {
			t.Errorf("entry %d: Data is %v, want nil: %v", i, e.Data, w.Data == nil)
		}
		if e.Timestamp <= last {
			t.Errorf("entry %d: timestamp %d not after %d", i, e.Timestamp, last)
		}
		last = e.Timestamp
	}
	if log, err := l.RoomLog(ctx, key, "absent"); log != nil || err != nil {
		t.Fatalf("RoomLog of an absent room = %+v, %v", log, err)
	}
}

func TestLocalRoomLogIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newClockedLocal()
	if _, err := l.JoinRoom(ctx, join("r", "a", protocol.Mesh, 0)); err != nil {
		t.Fatal(err)
	}
	const extra = 250
	data := func(i int) []byte { return fmt.Appendf(nil, `{"i":%d}`, i) }
	// Entry 0 is the join; data i is event i+1. Every tenth is binary, to
	// check that a reused slot does not keep an earlier entry's data.
	for i := range protocol.MaxRoomLog + extra {
		if err := l.LogRoomData(ctx, key, "r", "a", data(i), i%10 == 0); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, log []protocol.LogEntry) {
		t.Helper()
		if len(log) != protocol.MaxRoomLog {
			t.Fatalf("%s: log has %d entries, want %d", what, len(log), protocol.MaxRoomLog)
		}
		for j, e := range log {
			// The join and the first extra data were dropped.
			i := j + extra
			d := data(i)
			if e.MessageType != protocol.RoomData || e.Size != len(d) {
				t.Fatalf("%s: entry %d = %+v, want data %d", what, j, e, i)
			}
			if i%10 == 0 {
				if e.Data != nil {
					t.Fatalf("%s: entry %d of binary data %d has Data %q", what, j, i, e.Data)
				}
			} else if string(e.Data) != string(d) {
				t.Fatalf("%s: entry %d has Data %q, want %q", what, j, e.Data, d)
			}
			if j > 0 && e.Timestamp <= log[j-1].Timestamp {
				t.Fatalf("%s: entry %d is not newer than the one before", what, j)
			}
		}
	}
	log, err := l.RoomLog(ctx, key, "r")
	if err != nil {
		t.Fatal(err)
	}
	check("first read", log)
	snapshot := make([]protocol.LogEntry, len(log))
	for i, e := range log {
		e.Data = slices.Clone(e.Data)
		snapshot[i] = e
	}
	// Later writes reuse the ring's buffers; what was returned must not change.
	for range protocol.MaxRoomLog {
		if err := l.LogRoomData(ctx, key, "r", "b", []byte(`"overwritten"`), false); err != nil {
			t.Fatal(err)
		}
	}
	for i := range log {
		if log[i].Src != snapshot[i].Src || string(log[i].Data) != string(snapshot[i].Data) || log[i].Size != snapshot[i].Size {
			t.Fatalf("returned entry %d changed from %+v to %+v", i, snapshot[i], log[i])
		}
	}
	// Changing a returned entry's data does not change the log.
	log2, _ := l.RoomLog(ctx, key, "r")
	log2[0].Data[1] = 'X'
	log3, _ := l.RoomLog(ctx, key, "r")
	if string(log3[0].Data) != `"overwritten"` {
		t.Fatalf("changing a returned entry changed the log: %q", log3[0].Data)
	}
}

// TestLocalConcurrent hammers one Local from many goroutines; run it with
// -race.
func TestLocalConcurrent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := NewLocal()
	const workers, rounds = 16, 200
	inboxes := make([]*inbox, workers)
	for i := range inboxes {
		inboxes[i] = &inbox{}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			in := inboxes[w]
			id := fmt.Sprintf("p%d", w)
			for i := range rounds {
				if ctx.Err() != nil {
					t.Error("deadline passed")
					return
				}
				// Two workers share each ID and token: they take it from each other.
				shared := fmt.Sprintf("s%d", w/2)
				_ = l.Claim(ctx, Claim{Key: key, ID: shared, Token: "t" + shared}, in)
				if err := l.Claim(ctx, Claim{Key: key, ID: id}, in); err != nil && !errors.Is(err, ErrIDTaken) {
					t.Errorf("Claim: %v", err)
				}
				room := fmt.Sprintf("r%d", i%3)
				if _, err := l.JoinRoom(ctx, join(room, id, protocol.Mesh, 0)); err != nil {
					t.Errorf("JoinRoom: %v", err)
				}
				m := NewMessage(false)
				m.Data = append(m.Data, "x"...)
				if err := l.Send(ctx, key, fmt.Sprintf("p%d", (w+1)%workers), m); err != nil && !errors.Is(err, ErrPeerUnavailable) {
					t.Errorf("Send: %v", err)
				}
				b := NewMessage(false)
				b.Data = append(b.Data, "y"...)
				_ = l.Broadcast(ctx, key, room, id, b)
				_ = l.LogRoomData(ctx, key, room, id, []byte(`"d"`), false)
				_, _ = l.RoomLog(ctx, key, room)
				_, _ = l.RoomMembers(ctx, key, room)
				_, _ = l.Peers(ctx, key)
				_, _ = l.Exists(ctx, key, shared)
				if _, err := l.LeaveRoom(ctx, key, room, id); err != nil {
					t.Errorf("LeaveRoom: %v", err)
				}
				if i%7 == 0 {
					_ = l.Release(ctx, key, id, in)
					_ = l.Release(ctx, key, shared, in)
				}
			}
			_ = l.Release(ctx, key, id, in)
			_ = l.Release(ctx, key, fmt.Sprintf("s%d", w/2), in)
		})
	}
	wg.Wait()
	if ids, _ := l.Peers(ctx, key); len(ids) != 0 {
		t.Fatalf("peers left after every holder released: %q", ids)
	}
	l.mu.RLock()
	rooms, counts := len(l.rooms), len(l.count)
	l.mu.RUnlock()
	if rooms != 0 || counts != 0 {
		t.Fatalf("%d rooms and %d key counts left, want none", rooms, counts)
	}
}

// TestLocalSendAllocatesNothing checks that relaying through Send with a
// pooled message allocates nothing. The race detector makes sync.Pool drop
// items at random, so the count is checked only without it.
func TestLocalSendAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	ctx := context.Background()
	l := NewLocal()
	if err := l.Claim(ctx, claim("bob", ""), &inbox{}); err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"type":"OFFER","payload":{"src":"alice"}}`)
	allocs := testing.AllocsPerRun(1000, func() {
		m := NewMessage(false)
		m.Data = append(m.Data, payload...)
		m.Src = "alice"
		if err := l.Send(ctx, key, "bob", m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Send+Release allocated %v times per message, want 0", allocs)
	}
}

func BenchmarkLocalSend(b *testing.B) {
	ctx := context.Background()
	l := NewLocal()
	if err := l.Claim(ctx, claim("bob", ""), &inbox{}); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"type":"OFFER","payload":{"src":"alice","dst":"bob","connectionId":"mc_1"}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		m := NewMessage(false)
		m.Data = append(m.Data, payload...)
		m.Src = "alice"
		if err := l.Send(ctx, key, "bob", m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocalBroadcast(b *testing.B) {
	ctx := context.Background()
	l := NewLocal()
	for i := range 10 {
		id := fmt.Sprintf("member%d", i)
		if err := l.Claim(ctx, claim(id, ""), &inbox{}); err != nil {
			b.Fatal(err)
		}
		if _, err := l.JoinRoom(ctx, join("room", id, protocol.Mesh, 0)); err != nil {
			b.Fatal(err)
		}
	}
	payload := []byte(`{"type":"ROOM_DATA","payload":{"roomName":"room","src":"member0","data":"hello"}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		m := NewMessage(false)
		m.Data = append(m.Data, payload...)
		if err := l.Broadcast(ctx, key, "room", "member0", m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRoomLogBoundedInBytes fills a room's log with text entries of the
// largest size kept whole: it keeps at most MaxRoomLogBytes of them, the
// newest, and an app's rooms together at most MaxKeyLogBytes.
func TestRoomLogBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	l := NewLocal()
	text := []byte(`"` + strings.Repeat("x", protocol.MaxLoggedData-2) + `"`)
	rooms := MaxKeyLogBytes/MaxRoomLogBytes + 2
	for i := range rooms {
		name := fmt.Sprintf("r%d", i)
		if _, err := l.JoinRoom(ctx, Join{Key: "k", Room: name, Type: protocol.Mesh, Peer: "p"}); err != nil {
			t.Fatal(err)
		}
		for range protocol.MaxRoomLog {
			if err := l.LogRoomData(ctx, "k", name, "p", text, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := 0
	for i := range rooms {
		log, err := l.RoomLog(ctx, "k", fmt.Sprintf("r%d", i))
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, e := range log {
			kept += len(e.Data)
		}
		if kept > MaxRoomLogBytes {
			t.Errorf("room r%d keeps %d bytes of text, over %d", i, kept, MaxRoomLogBytes)
		}
		if i == 0 && (len(log) == 0 || !bytes.Equal(log[len(log)-1].Data, text)) {
			t.Errorf("room r0 lost its newest entry")
		}
		total += kept
	}
	if total > MaxKeyLogBytes {
		t.Errorf("the app's rooms keep %d bytes of text, over %d", total, MaxKeyLogBytes)
	}
	if l.logBytes["k"] > MaxKeyLogBytes {
		t.Errorf("the app's count is %d bytes, over %d", l.logBytes["k"], MaxKeyLogBytes)
	}
	for i := range rooms {
		if _, err := l.LeaveRoom(ctx, "k", fmt.Sprintf("r%d", i), "p"); err != nil {
			t.Fatal(err)
		}
	}
	if n, ok := l.logBytes["k"]; ok {
		t.Errorf("rooms all gone, the app's count is still %d bytes", n)
	}
}

// TestRoomLogJSONEncodesOnce: a full log is encoded once, then handed out
// as is until the next event.
func TestRoomLogJSONEncodesOnce(t *testing.T) {
	ctx := context.Background()
	l := NewLocal()
	if _, err := l.JoinRoom(ctx, Join{Key: "k", Room: "r", Type: protocol.Mesh, Peer: "p"}); err != nil {
		t.Fatal(err)
	}
	for i := range protocol.MaxRoomLog {
		if err := l.LogRoomData(ctx, "k", "r", "p", []byte(fmt.Sprintf(`{"n":%d}`, i)), false); err != nil {
			t.Fatal(err)
		}
	}
	first, err := l.RoomLogJSON(ctx, "k", "r")
	if err != nil {
		t.Fatal(err)
	}
	var decoded []protocol.LogEntry
	if err := json.Unmarshal(first, &decoded); err != nil || len(decoded) != protocol.MaxRoomLog {
		t.Fatalf("RoomLogJSON = %d entries, %v; want %d", len(decoded), err, protocol.MaxRoomLog)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := l.RoomLogJSON(ctx, "k", "r"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("RoomLogJSON of an unchanged log allocated %v times, want 0", allocs)
	}
	if err := l.LogRoomData(ctx, "k", "r", "p", []byte(`"new"`), false); err != nil {
		t.Fatal(err)
	}
	next, _ := l.RoomLogJSON(ctx, "k", "r")
	if bytes.Equal(first, next) || !bytes.Contains(next, []byte(`"new"`)) {
		t.Error("RoomLogJSON did not change with the log")
	}
}
