//go:build !js

package sdk_test

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// member is one peer in a room test and what it has seen.
type member struct {
	peer    *sdk.Peer
	room    sdk.Room
	opened  chan struct{}
	closed  chan struct{}
	streams chan *sdk.MediaStream
	joins   chan string
	leaves  chan string
	data    chan sdk.RoomData
}

// join makes p join room name and records its events.
func join(t *testing.T, p *sdk.Peer, name string, opts *sdk.RoomOptions) *member {
	t.Helper()
	r, err := p.JoinRoom(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := &member{
		peer: p, room: r, opened: make(chan struct{}), closed: make(chan struct{}),
		streams: make(chan *sdk.MediaStream, 16), joins: make(chan string, 16), leaves: make(chan string, 16),
		data: make(chan sdk.RoomData, 64),
	}
	r.OnOpen(func() { close(m.opened) })
	r.OnClose(func() { close(m.closed) })
	r.OnStream(func(s *sdk.MediaStream) { m.streams <- s })
	r.OnPeerJoin(func(id string) { m.joins <- id })
	r.OnPeerLeave(func(id string) { m.leaves <- id })
	r.OnData(func(d sdk.RoomData) { m.data <- d })
	within(t, m.opened, wait, p.ID()+" opening room "+name)
	return m
}

// remoteMedia is what one member receives from the others, by publisher.
type remoteMedia struct {
	mu      sync.Mutex
	tracks  map[webrtc.SSRC][2]int64 // sequence numbers spanned, packets received
	streams map[string]*sdk.MediaStream
	video   map[string]*atomic.Int64
	audio   map[string]*atomic.Int64
}

// collect takes n streams from m and counts their packets.
func collect(t *testing.T, m *member, n int) *remoteMedia {
	t.Helper()
	rm := &remoteMedia{streams: map[string]*sdk.MediaStream{}, video: map[string]*atomic.Int64{}, audio: map[string]*atomic.Int64{}}
	for range n {
		s := recv(t, m.streams, m.peer.ID()+"'s stream event")
		if s.PeerID() == "" {
			t.Fatalf("%s: stream %s has no peer ID", m.peer.ID(), s.ID())
		}
		if _, dup := rm.streams[s.PeerID()]; dup {
			t.Fatalf("%s: a second stream from %s", m.peer.ID(), s.PeerID())
		}
		rm.streams[s.PeerID()] = s
		// An SFU stream's tracks may come one at a time.
		deadline := time.Now().Add(wait)
		for len(s.RemoteTracks()) < 2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		rm.video[s.PeerID()], rm.audio[s.PeerID()] = rm.count(s)
	}
	return rm
}

// count reads every track of s until it ends, counting packets per kind
// and the sequence numbers that never came.
func (rm *remoteMedia) count(s *sdk.MediaStream) (video, audio *atomic.Int64) {
	video, audio = new(atomic.Int64), new(atomic.Int64)
	for _, tr := range s.RemoteTracks() {
		n := audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			n = video
		}
		go func() {
			var last uint16
			var span int64 // sequence numbers from the first to the highest
			for got := int64(1); ; got++ {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				if got == 1 {
					span, last = 1, p.SequenceNumber
				} else if d := int16(p.SequenceNumber - last); d > 0 {
					span += int64(d)
					last = p.SequenceNumber
				}
				n.Add(1)
				rm.note(tr.SSRC(), span, got)
			}
		}()
	}
	return video, audio
}

// note records, for one track, how many packets its sequence numbers span
// and how many came.
func (rm *remoteMedia) note(ssrc webrtc.SSRC, span, got int64) {
	rm.mu.Lock()
	if rm.tracks == nil {
		rm.tracks = map[webrtc.SSRC][2]int64{}
	}
	rm.tracks[ssrc] = [2]int64{span, got}
	rm.mu.Unlock()
}

// loss returns the packets missing and spanned over every track.
func (rm *remoteMedia) loss() (missing, span int64) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for _, t := range rm.tracks {
		span += t[0]
		missing += max(0, t[0]-t[1])
	}
	return missing, span
}

func (rm *remoteMedia) peers() []string {
	var ids []string
	for id := range rm.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// others returns the IDs of every member but m, sorted.
func others(ms []*member, m *member) []string {
	var ids []string
	for _, o := range ms {
		if o != m {
			ids = append(ids, o.peer.ID())
		}
	}
	slices.Sort(ids)
	return ids
}

// conference has n peers join one room, each publishing synthetic media,
// and checks that each receives the others' streams under the right IDs.
func conference(t *testing.T, mode sdk.RoomMode, n int) ([]*member, []*remoteMedia) {
	e := newEnv(t)
	var ms []*member
	for i := range n {
		p := e.peer(sdk.PeerOptions{ID: fmt.Sprintf("p%d", i)})
		ms = append(ms, join(t, p, "conf", &sdk.RoomOptions{Mode: mode, Stream: source(t, fmt.Sprintf("s%d", i))}))
	}
	got := make([]*remoteMedia, n)
	for i, m := range ms {
		got[i] = collect(t, m, n-1)
		if want := others(ms, m); !slices.Equal(got[i].peers(), want) {
			t.Fatalf("%s received streams of %v, want %v", m.peer.ID(), got[i].peers(), want)
		}
		if members := slices.Sorted(slices.Values(m.room.Members())); !slices.Equal(members, others(ms, m)) {
			t.Fatalf("%s: members %v, want %v", m.peer.ID(), members, others(ms, m))
		}
	}
	for i, m := range ms {
		for _, id := range got[i].peers() {
			waitPackets(t, m.peer.ID()+" from "+id, got[i].video[id], got[i].audio[id], 50)
		}
	}
	time.Sleep(time.Second)
	var missing, span int64
	for _, rm := range got {
		m, s := rm.loss()
		missing, span = missing+m, span+s
	}
	loss := float64(missing) / float64(span)
	t.Logf("%s, %d peers: %d of %d packets lost (%.3f%%)", mode, n, missing, span, 100*loss)
	if loss >= 0.01 {
		t.Fatalf("%.2f%% of packets lost on loopback, want under 1%%", 100*loss)
	}
	return ms, got
}

// leaveAndCheck makes the last member leave and checks that everyone else
// sees peerLeave and stops receiving its media.
func leaveAndCheck(t *testing.T, ms []*member, got []*remoteMedia) {
	last := ms[len(ms)-1]
	last.room.Close()
	within(t, last.closed, wait, "the leaver's close event")
	for i, m := range ms[:len(ms)-1] {
		if id := recv(t, m.leaves, m.peer.ID()+"'s peerLeave"); id != last.peer.ID() {
			t.Fatalf("%s: peerLeave %s, want %s", m.peer.ID(), id, last.peer.ID())
		}
		if slices.Contains(m.room.Members(), last.peer.ID()) {
			t.Fatalf("%s still lists %s as a member", m.peer.ID(), last.peer.ID())
		}
		// Its packets stop: the count holds still for a while.
		v := got[i].video[last.peer.ID()]
		deadline := time.Now().Add(wait)
		for {
			before := v.Load()
			time.Sleep(300 * time.Millisecond)
			if v.Load() == before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still receives %s's video", m.peer.ID(), last.peer.ID())
			}
		}
	}
}

func TestMeshRoomThreePeers(t *testing.T) {
	ms, got := conference(t, sdk.RoomModeMesh, 3)
	for _, m := range ms {
		mesh := m.room.(*sdk.MeshRoom)
		if n := len(mesh.Connections()); n != 2 {
			t.Fatalf("%s has %d room connections, want 2", m.peer.ID(), n)
		}
		if n := len(m.peer.Connections()); n != 0 {
			t.Fatalf("%s lists %d room connections as its own", m.peer.ID(), n)
		}
	}
	leaveAndCheck(t, ms, got)
	for _, m := range ms[:2] {
		if n := len(m.room.(*sdk.MeshRoom).Connections()); n != 1 {
			t.Fatalf("%s has %d room connections after a leave, want 1", m.peer.ID(), n)
		}
	}
}

func TestSFURoomFourPeers(t *testing.T) {
	ms, got := conference(t, sdk.RoomModeSFU, 4)
	for _, m := range ms {
		if m.room.(*sdk.SFURoom).PeerConnection() == nil {
			t.Fatalf("%s has no PeerConnection with the SFU", m.peer.ID())
		}
	}
	leaveAndCheck(t, ms, got)
	for _, m := range ms[:3] {
		if n := len(m.room.(*sdk.SFURoom).RemoteStreams()); n != 2 {
			t.Fatalf("%s has %d remote streams after a leave, want 2", m.peer.ID(), n)
		}
	}
}

func TestSFURoomReceiveOnly(t *testing.T) {
	e := newEnv(t)
	pub := join(t, e.peer(sdk.PeerOptions{ID: "pub"}), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU, Stream: source(t, "s")})
	watcher := join(t, e.peer(sdk.PeerOptions{ID: "watcher"}), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU})
	audioOnly := join(t, e.peer(sdk.PeerOptions{ID: "audio"}), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU, NoVideoReceive: true})
	rm := collect(t, watcher, 1)
	waitPackets(t, "watcher", rm.video["pub"], rm.audio["pub"], 30)
	s := recv(t, audioOnly.streams, "the audio-only member's stream")
	time.Sleep(500 * time.Millisecond)
	for _, tr := range s.RemoteTracks() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			t.Fatal("a member with videoReceiveEnabled false received video")
		}
	}
	select {
	case s := <-pub.streams:
		t.Fatalf("the publisher received a stream from %q of receive-only members", s.PeerID())
	case <-time.After(300 * time.Millisecond):
	}
}

// pliCounter counts the picture-loss indications a peer receives.
type pliCounter struct {
	interceptor.NoOp
	n *atomic.Int64
}

func (c *pliCounter) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

func (c *pliCounter) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attrs, err := r.Read(b, a)
		if err == nil {
			pkts, _ := rtcp.Unmarshal(b[:n])
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					c.n.Add(1)
				}
			}
		}
		return n, attrs, err
	})
}

// TestSFURoomPLI checks that subscribers' picture-loss indications reach
// the publisher, once however many subscribers ask at the same time.
func TestSFURoomPLI(t *testing.T) {
	e := newEnv(t)
	plis := &pliCounter{n: new(atomic.Int64)}
	api, err := sdktest.LoopbackAPIWith([]interceptor.Factory{plis})
	if err != nil {
		t.Fatal(err)
	}
	join(t, e.peer(sdk.PeerOptions{ID: "pub", API: api}), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU, Stream: source(t, "s")})
	var subs []*member
	var ssrcs []uint32
	for i := range 3 {
		sub := join(t, e.peer(sdk.PeerOptions{ID: fmt.Sprintf("sub%d", i)}), "r", &sdk.RoomOptions{Mode: sdk.RoomModeSFU})
		rm := collect(t, sub, 1)
		waitPackets(t, sub.peer.ID(), rm.video["pub"], rm.audio["pub"], 30)
		for _, tr := range rm.streams["pub"].RemoteTracks() {
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				ssrcs = append(ssrcs, uint32(tr.SSRC()))
			}
		}
		subs = append(subs, sub)
	}
	if plis.n.Load() == 0 {
		t.Fatal("the publisher got no keyframe request when subscribers arrived")
	}
	time.Sleep(time.Second) // past the SFU's keyframe interval
	before := plis.n.Load()
	for i, sub := range subs {
		pc := sub.room.(*sdk.SFURoom).PeerConnection()
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrcs[i]}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(wait)
	for plis.n.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the subscribers' PLIs did not reach the publisher")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if got := plis.n.Load() - before; got != 1 {
		t.Fatalf("3 simultaneous PLIs gave the publisher %d keyframe requests, want 1", got)
	}
}

func TestRoomData(t *testing.T) {
	e := newEnv(t)
	a := join(t, e.peer(sdk.PeerOptions{ID: "a"}), "chat", nil)
	b := join(t, e.peer(sdk.PeerOptions{ID: "b"}), "chat", nil)
	c := join(t, e.peer(sdk.PeerOptions{ID: "c"}), "chat", nil)
	if id := recv(t, a.joins, "a's peerJoin"); id != "b" {
		t.Fatalf("a: peerJoin %s, want b", id)
	}
	when := time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	values := []struct {
		name string
		in   any
		want any
	}{
		{"string", "héllo", "héllo"},
		{"int", 42, int64(42)},
		{"float", 1.5, 1.5},
		{"bool", true, true},
		{"nil", nil, nil},
		{"bytes", []byte{0, 1, 2, 255}, []byte{0, 1, 2, 255}},
		{"array", []any{"x", 1}, []any{"x", int64(1)}},
		{"map", map[string]any{"k": []any{true}}, map[string]any{"k": []any{true}}},
		{"time", when, when},
		{"file", sdk.File{Name: "a.txt", Type: "text/plain", Data: []byte("file body")}, sdk.File{Name: "a.txt", Type: "text/plain", Data: []byte("file body")}},
	}
	for _, v := range values {
		if err := a.room.Send(v.in); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
	}
	for _, m := range []*member{b, c} {
		for _, v := range values {
			d := recv(t, m.data, m.peer.ID()+" receiving "+v.name)
			if d.Src != "a" {
				t.Fatalf("%s: src %q, want a", v.name, d.Src)
			}
			if f, ok := d.Data.(sdk.File); ok {
				w := v.want.(sdk.File)
				if f.Name != w.Name || f.Type != w.Type || !bytes.Equal(f.Data, w.Data) {
					t.Fatalf("%s: got %+v, want %+v", v.name, f, w)
				}
				continue
			}
			if tm, ok := d.Data.(time.Time); ok {
				if !tm.Equal(when) {
					t.Fatalf("%s: got %v, want %v", v.name, tm, when)
				}
				continue
			}
			if !reflect.DeepEqual(d.Data, v.want) {
				t.Fatalf("%s: got %#v (%T), want %#v", v.name, d.Data, d.Data, v.want)
			}
		}
	}
	select {
	case d := <-a.data:
		t.Fatalf("the sender received its own message %v", d)
	default:
	}
	// Ordering under the 100 ms limit: a burst arrives whole and in order,
	// spaced by the limit.
	const burst = 8
	start := time.Now()
	for i := range burst {
		if err := b.room.Send(i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range burst {
		d := recv(t, c.data, "burst message")
		if d.Src != "b" || d.Data != int64(i) {
			t.Fatalf("burst message %d: got %v from %s", i, d.Data, d.Src)
		}
	}
	elapsed := time.Since(start)
	if min := (burst - 1) * sdk.RoomDataInterval; elapsed < min {
		t.Fatalf("%d messages took %v, less than the %v the limit allows", burst, elapsed, min)
	}
	t.Logf("%d queued messages arrived in order in %v", burst, elapsed)
	// A large frame takes a while to leave; the small ones queued behind
	// it must not reach the server too soon after it (or, if they do, go
	// again).
	big := bytes.Repeat([]byte{7}, 4<<20)
	for i, v := range []any{big, "after big", big, 1, 2} {
		if err := b.room.Send(v); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i, want := range []any{big, "after big", big, int64(1), int64(2)} {
		d := recv(t, c.data, "message after a large one")
		if !reflect.DeepEqual(d.Data, want) {
			t.Fatalf("message %d after a large one: got %T, want %T", i, d.Data, want)
		}
	}
	// Over the limit: refused at once.
	if err := a.room.Send(make([]byte, sdk.MaxRoomDataSize)); errorType(err) != sdk.ErrorRoom {
		t.Fatalf("a 20 MiB send: %v, want room-error", err)
	}
}

func TestJoinRoomErrors(t *testing.T) {
	e := newEnv(t)
	p := e.peer(sdk.PeerOptions{})
	if _, err := p.JoinRoom("", nil); errorType(err) != sdk.ErrorRoom {
		t.Fatalf("an empty name: %v, want room-error", err)
	}
	r1, err := p.JoinRoom("same", nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.JoinRoom("same", &sdk.RoomOptions{Mode: sdk.RoomModeSFU})
	if err != nil || r2 != r1 {
		t.Fatalf("joining again: %v, %v; want the same room", r2, err)
	}
	if got := p.Rooms()["same"]; got != r1 {
		t.Fatalf("Rooms()[same] = %v", got)
	}
	// A room of the other type is refused by the server and closes. Two
	// sockets' joins are not ordered: q joins once p is in.
	opened := make(chan struct{})
	r1.OnOpen(func() { close(opened) })
	within(t, opened, wait, "the mesh room's open")
	q := e.peer(sdk.PeerOptions{})
	errs := make(chan error, 4)
	q.OnError(func(err error) { errs <- err })
	r3, err := q.JoinRoom("same", &sdk.RoomOptions{Mode: sdk.RoomModeSFU})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	r3.OnClose(func() { close(closed) })
	if err := recv(t, errs, "the refusal"); errorType(err) != sdk.ErrorRoom {
		t.Fatalf("joining a mesh room as sfu: %v, want room-error", err)
	}
	within(t, closed, wait, "the refused room's close")
	if len(q.Rooms()) != 0 {
		t.Fatal("a refused room is still listed")
	}
}

// TestRoomOpenHandlerSetLate checks that an open event the server's answer
// brought before the handler was set is not lost.
func TestRoomOpenHandlerSetLate(t *testing.T) {
	e := newEnv(t)
	p := e.peer(sdk.PeerOptions{})
	r, err := p.JoinRoom("late", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for !r.Open() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	opened := make(chan struct{})
	r.OnOpen(func() { close(opened) })
	within(t, opened, wait, "the open event set after the room opened")
}
