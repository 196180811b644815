package signaling_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

// fakeClock is a Config.Now that moves only when told: rate limits become
// exact instead of depending on how fast the machine runs the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// roomDataAnyRate lets one member send room data as fast as it likes.
func roomDataAnyRate(c *signaling.Config) { c.RoomDataInterval = 0 }

// appsWith returns adjust for newEnv that replaces the apps with
// testApps() changed by change.
func appsWith(change func(apps *config.Config)) func(*signaling.Config) {
	return func(c *signaling.Config) {
		apps := testApps()
		change(apps)
		c.Apps = apps
	}
}

// appOf returns the app of key in apps.
func appOf(apps *config.Config, key string) *config.App {
	for i := range apps.Apps {
		if apps.Apps[i].Key == key {
			return &apps.Apps[i]
		}
	}
	panic("no app " + key)
}

// quote returns s as a JSON string.
func quote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// barrier proves that to has read everything that from's messages so far
// made the server send it: from sends a FORCE_CLOSE to to, which must be
// to's next message. A session handles its messages in order and a
// recipient's queue keeps them in that order, so this replaces a timed
// expectNothing for whatever from's own messages cause, and nothing else.
// It makes each the other's contact, to be told LEAVE.
func barrier(from, to *client) {
	from.t.Helper()
	from.send(protocol.SendForceClose, protocol.RelayPayload{Dst: to.id, ConnectionID: "barrier"})
	var got protocol.RelayPayload
	to.expect(protocol.ForceClose, &got)
	if got.Src != from.id || got.ConnectionID != "barrier" {
		from.t.Fatalf("%s: FORCE_CLOSE %+v, want the barrier from %s", to.id, got, from.id)
	}
}

// expectNothingAll is expectNothing for several clients at once.
func expectNothingAll(cs ...*client) {
	cs[0].t.Helper()
	time.Sleep(noMessage)
	for _, c := range cs {
		select {
		case f := <-c.in:
			c.t.Fatalf("%s: unexpected message %.200s", c.id, f.data)
		default:
		}
	}
}

// joinRoom sends ROOM_JOIN and reads the joiner's own ROOM_USER_JOIN.
func joinRoom(c *client, name string, typ protocol.RoomType) protocol.RoomUserJoinPayload {
	c.t.Helper()
	c.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: name, RoomType: typ})
	return expectJoin(c, name, c.id, typ)
}

// expectJoin reads a ROOM_USER_JOIN of src to room name and type typ.
func expectJoin(c *client, name, src string, typ protocol.RoomType) protocol.RoomUserJoinPayload {
	c.t.Helper()
	var j protocol.RoomUserJoinPayload
	c.expect(protocol.RoomUserJoin, &j)
	if j.RoomName != name || j.Src != src || j.RoomType != typ {
		c.t.Fatalf("%s: ROOM_USER_JOIN %+v, want room %q src %q type %s", c.id, j, name, src, typ)
	}
	return j
}

// expectLeave reads a ROOM_USER_LEAVE of src from room name.
func expectLeave(c *client, name, src string) {
	c.t.Helper()
	var l protocol.RoomUserLeavePayload
	c.expect(protocol.RoomUserLeave, &l)
	if l.RoomName != name || l.Src != src {
		c.t.Fatalf("%s: ROOM_USER_LEAVE %+v, want room %q src %q", c.id, l, name, src)
	}
}

// expectUsers asks for a room's members and checks them.
func expectUsers(c *client, name string, want ...string) {
	c.t.Helper()
	c.send(protocol.RoomGetUsers, protocol.RoomPayload{RoomName: name})
	var u protocol.RoomUsersPayload
	c.expect(protocol.RoomUsers, &u)
	if u.RoomName != name || !slices.Equal(u.UserList, want) {
		c.t.Fatalf("%s: ROOM_USERS %+v, want room %q users %q", c.id, u, name, want)
	}
}

// expectRoomError reads an ERROR of type et about request t in room name.
func expectRoomError(c *client, et protocol.ErrorType, t protocol.MessageType, name string) {
	c.t.Helper()
	e := c.expectError(et)
	if e.Request != t || e.RoomName != name || e.Message == "" {
		c.t.Fatalf("%s: ERROR %+v, want request %s room %q", c.id, e, t, name)
	}
}

// roomDataFrame is a text ROOM_SEND_DATA with data, a JSON value, as is.
func roomDataFrame(name, data string) []byte {
	return []byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":` + quote(name) + `,"data":` + data + `}}`)
}

// binaryRoomDataFrame is a binary ROOM_SEND_DATA.
func binaryRoomDataFrame(name string, data []byte) []byte {
	header, err := protocol.Marshal(protocol.RoomSendData, protocol.RoomPayload{RoomName: name})
	if err != nil {
		panic(err)
	}
	return protocol.BinaryFrame(header, data)
}

// expectRoomData reads a text ROOM_DATA of src in room name and returns its
// data exactly as it came.
func expectRoomData(c *client, name, src string) []byte {
	c.t.Helper()
	var p protocol.RoomDataPayload
	c.expect(protocol.RoomData, &p)
	if p.RoomName != name || p.Src != src {
		c.t.Fatalf("%s: ROOM_DATA from %q in %q, want from %q in %q", c.id, p.Src, p.RoomName, src, name)
	}
	return p.Data
}

// expectBinaryRoomData reads a binary ROOM_DATA of src in room name and
// returns its data.
func expectBinaryRoomData(c *client, name, src string) []byte {
	c.t.Helper()
	f := c.next()
	if !f.binary {
		c.t.Fatalf("%s: got text %.200s, want a binary ROOM_DATA", c.id, f.data)
	}
	header, data, err := protocol.SplitBinaryFrame(f.data)
	if err != nil {
		c.t.Fatalf("%s: %v", c.id, err)
	}
	var env protocol.Envelope
	var p protocol.RoomDataPayload
	if err := json.Unmarshal(header, &env); err != nil || env.Type != protocol.RoomData {
		c.t.Fatalf("%s: binary header %s: %v", c.id, header, err)
	}
	if err := json.Unmarshal(env.Payload, &p); err != nil || p.RoomName != name || p.Src != src || p.Data != nil {
		c.t.Fatalf("%s: binary header %s, want room %q src %q and no data field: %v", c.id, header, name, src, err)
	}
	return data
}

func TestRoomJoin(t *testing.T) {
	t.Parallel()
	for _, typ := range []protocol.RoomType{protocol.Mesh, protocol.SFU} {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			var in []*client
			var ids []string
			for _, id := range []string{"zed", "amy", "mid"} { // join order, not ID order
				c := e.dial(dialOpts{peerID: id})
				c.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "lobby", RoomType: typ})
				in, ids = append(in, c), append(ids, id)
				for _, m := range in { // every member, the joiner too
					j := expectJoin(m, "lobby", id, typ)
					if !slices.Equal(j.RoomMembers, ids) {
						t.Fatalf("%s: roomMembers %q, want %q", m.id, j.RoomMembers, ids)
					}
				}
			}
			outsider := e.dial(dialOpts{peerID: "out"})
			outsider.expectNothing()
			if got, _ := e.router.RoomMembers(context.Background(), keyA, "lobby"); !slices.Equal(got, ids) {
				t.Fatalf("router has members %q, want %q", got, ids)
			}
			if got := testutil.ToFloat64(e.metrics.Rooms); got != 1 {
				t.Fatalf("rooms gauge %v, want 1", got)
			}
		})
	}
}

func TestRoomRejoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a"})
	b := e.dial(dialOpts{peerID: "b"})
	joinRoom(a, "r", protocol.SFU)
	joinRoom(b, "r", protocol.SFU)
	expectJoin(a, "r", "b", protocol.SFU)

	j := joinRoom(a, "r", protocol.SFU) // again: only a hears it
	if !slices.Equal(j.RoomMembers, []string{"a", "b"}) {
		t.Fatalf("rejoin roomMembers %q", j.RoomMembers)
	}
	expectNothingAll(a, b)
	expectUsers(b, "r", "a", "b")
	// Rejoining as the other type is refused and changes nothing.
	a.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
	expectRoomError(a, protocol.ErrRoom, protocol.RoomJoin, "r")
	expectUsers(a, "r", "a", "b")
	b.expectNothing()
}

func TestRoomLeave(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   string
		leave   func(*client)
		self    bool          // the leaver hears its own ROOM_USER_LEAVE
		reclaim time.Duration // the others hear it only after this
	}{
		{"ROOM_LEAVE", "", func(c *client) { c.send(protocol.RoomLeave, protocol.RoomPayload{RoomName: "r"}) }, true, 0},
		{"normal close", "tok", (*client).close, false, 0},
		{"going away", "tok", func(c *client) { c.conn.Close(websocket.StatusGoingAway, "page closed"); <-c.done }, false, 0},
		{"drop without token", "", (*client).drop, false, 0},
		{"drop with token", "tok", (*client).drop, false, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil) // a one-second reclaim window
			a := e.dial(dialOpts{peerID: "a", token: tt.token})
			b := e.dial(dialOpts{peerID: "b"})
			c := e.dial(dialOpts{peerID: "c"})
			joinRoom(a, "r", protocol.Mesh)
			joinRoom(b, "r", protocol.Mesh)
			expectJoin(a, "r", "b", protocol.Mesh)
			joinRoom(c, "r", protocol.Mesh)
			expectJoin(a, "r", "c", protocol.Mesh)
			expectJoin(b, "r", "c", protocol.Mesh)

			start := time.Now()
			tt.leave(a)
			if tt.self {
				expectLeave(a, "r", "a")
			}
			if tt.reclaim > 0 {
				b.expectNothing()
				expectUsers(b, "r", "a", "b", "c") // still a member meanwhile
			}
			expectLeave(b, "r", "a")
			expectLeave(c, "r", "a")
			if elapsed := time.Since(start); elapsed < tt.reclaim {
				t.Fatalf("ROOM_USER_LEAVE after %v, want it after the %v reclaim window", elapsed, tt.reclaim)
			}
			expectUsers(b, "r", "b", "c")
			d := e.dial(dialOpts{peerID: "d"})
			j := joinRoom(d, "r", protocol.Mesh)
			if !slices.Equal(j.RoomMembers, []string{"b", "c", "d"}) {
				t.Fatalf("roomMembers after the leave %q", j.RoomMembers)
			}
			if tt.self {
				barrier(d, a) // not told of d: no longer a member
			}
		})
	}
}

func TestRoomMembershipSurvivesReclaim(t *testing.T) {
	t.Parallel()
	const reclaim = 4 * time.Second // room for a loaded machine to reclaim within it
	e := newEnv(t, func(c *signaling.Config) {
		c.RoomDataInterval = 0
		c.ReclaimWindow = reclaim
	})
	a := e.dial(dialOpts{peerID: "a", token: "tok"})
	b := e.dial(dialOpts{peerID: "b"})
	joinRoom(a, "r", protocol.Mesh)
	joinRoom(b, "r", protocol.Mesh)
	expectJoin(a, "r", "b", protocol.Mesh)
	a.drop()
	dropped := time.Now()
	// Once the server has seen the drop, what comes is kept for a.
	eventually(t, "the drop noticed", func() bool { return testutil.ToFloat64(e.metrics.Connections) == 1 })
	b.sendRaw(roomDataFrame("r", `"while away"`))
	a2 := e.dial(dialOpts{peerID: "a", token: "tok"})
	if got := expectRoomData(a2, "r", "b"); string(got) != `"while away"` {
		t.Fatalf("kept ROOM_DATA %s", got)
	}
	a2.sendRaw(roomDataFrame("r", `"back"`))
	if got := expectRoomData(b, "r", "a"); string(got) != `"back"` {
		t.Fatalf("ROOM_DATA %s", got)
	}
	time.Sleep(time.Until(dropped.Add(reclaim))) // past the first socket's reclaim window
	b.expectNothing()                            // no ROOM_USER_LEAVE: a never left
	expectUsers(a2, "r", "a", "b")
}

func TestRoomDeletedWhenEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a"})
	b := e.dial(dialOpts{peerID: "b"})
	joinRoom(a, "r", protocol.Mesh)
	joinRoom(b, "r", protocol.Mesh)
	expectJoin(a, "r", "b", protocol.Mesh)
	a.send(protocol.RoomLeave, protocol.RoomPayload{RoomName: "r"})
	expectLeave(a, "r", "a")
	expectLeave(b, "r", "a")
	b.close()

	members := func() []string {
		m, err := e.router.RoomMembers(context.Background(), keyA, "r")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	eventually(t, "room r deleted", func() bool { return len(members()) == 0 })
	eventually(t, "rooms gauge at 0", func() bool { return testutil.ToFloat64(e.metrics.Rooms) == 0 })
	if log, _ := e.router.RoomLog(context.Background(), keyA, "r"); len(log) != 0 {
		t.Fatalf("deleted room kept a log of %d events", len(log))
	}

	// The name is free again, for either type, with a fresh log.
	j := joinRoom(a, "r", protocol.SFU)
	if !slices.Equal(j.RoomMembers, []string{"a"}) {
		t.Fatalf("new room has members %q", j.RoomMembers)
	}
	a.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: "r"})
	var logs protocol.RoomLogsPayload
	a.expect(protocol.RoomLogs, &logs)
	if len(logs.Log) != 1 || logs.Log[0].MessageType != protocol.RoomUserJoin || logs.Log[0].Src != "a" {
		t.Fatalf("new room's log %+v", logs.Log)
	}
	if got := testutil.ToFloat64(e.metrics.Rooms); got != 1 {
		t.Fatalf("rooms gauge %v, want 1", got)
	}
}

func TestRoomGetUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var cs []*client
	var ids []string
	for _, id := range []string{"p3", "p1", "p2", "p0"} {
		c := e.dial(dialOpts{peerID: id})
		joinRoom(c, "r", protocol.Mesh)
		for _, m := range cs {
			expectJoin(m, "r", id, protocol.Mesh)
		}
		cs, ids = append(cs, c), append(ids, id)
		for _, m := range cs {
			expectUsers(m, "r", ids...)
		}
	}
	cs[1].send(protocol.RoomLeave, protocol.RoomPayload{RoomName: "r"})
	for _, m := range cs {
		expectLeave(m, "r", "p1")
	}
	expectUsers(cs[3], "r", "p3", "p2", "p0")
	expectUsers(cs[0], "r", "p3", "p2", "p0")
}

func TestRoomLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, roomDataAnyRate)
	a := e.dial(dialOpts{peerID: "a"})
	b := e.dial(dialOpts{peerID: "b"})
	c := e.dial(dialOpts{peerID: "c"})
	whole := `"` + strings.Repeat("w", protocol.MaxLoggedData-2) + `"` // exactly the limit
	over := `"` + strings.Repeat("o", protocol.MaxLoggedData-1) + `"`  // one byte over
	type want struct {
		typ  protocol.MessageType
		src  string
		data string // "" for none
		size int
	}
	// Each step waits for its effect, so that the log's order is the
	// test's, not the scheduler's: the three sockets are served apart.
	start := time.Now()
	joinRoom(a, "r", protocol.Mesh)
	joinRoom(b, "r", protocol.Mesh)
	expectJoin(a, "r", "b", protocol.Mesh)
	a.sendRaw(roomDataFrame("r", `{"n":1,"s":"x<y"}`))
	expectRoomData(b, "r", "a")
	b.sendRaw(roomDataFrame("r", whole))
	expectRoomData(a, "r", "b")
	a.sendRaw(roomDataFrame("r", over))
	expectRoomData(b, "r", "a")
	b.sendFrame(websocket.MessageBinary, binaryRoomDataFrame("r", []byte{0, 1, 2}))
	expectBinaryRoomData(a, "r", "b")
	joinRoom(c, "r", protocol.Mesh)
	expectJoin(a, "r", "c", protocol.Mesh)
	expectJoin(b, "r", "c", protocol.Mesh)
	c.sendRaw(roomDataFrame("r", `null`))
	expectRoomData(a, "r", "c")
	expectRoomData(b, "r", "c")
	c.send(protocol.RoomLeave, protocol.RoomPayload{RoomName: "r"})
	for _, m := range []*client{c, a, b} {
		expectLeave(m, "r", "c")
	}
	wants := []want{
		{protocol.RoomUserJoin, "a", "", 0},
		{protocol.RoomUserJoin, "b", "", 0},
		{protocol.RoomData, "a", `{"n":1,"s":"x<y"}`, 17},
		{protocol.RoomData, "b", whole, len(whole)},
		{protocol.RoomData, "a", "", len(over)},
		{protocol.RoomData, "b", "", 3},
		{protocol.RoomUserJoin, "c", "", 0},
		{protocol.RoomData, "c", `null`, 4},
		{protocol.RoomUserLeave, "c", "", 0},
	}
	a.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: "r"})
	var logs protocol.RoomLogsPayload
	a.expect(protocol.RoomLogs, &logs)
	end := time.Now()
	if logs.RoomName != "r" || len(logs.Log) != len(wants) {
		t.Fatalf("ROOM_LOGS of %q with %d events, want %d: %+v", logs.RoomName, len(logs.Log), len(wants), logs.Log)
	}
	last := int64(0)
	for i, w := range wants {
		g := logs.Log[i]
		if g.MessageType != w.typ || g.Src != w.src || g.Size != w.size || (w.data == "") != (g.Data == nil) {
			t.Errorf("event %d = {%s %s size %d data %.40s}, want {%s %s size %d data %.40s}", i, g.MessageType, g.Src, g.Size, g.Data, w.typ, w.src, w.size, w.data)
			continue
		}
		if w.data != "" && !sameJSON(g.Data, []byte(w.data)) {
			t.Errorf("event %d data %.80s, want %.80s", i, g.Data, w.data)
		}
		if g.Timestamp < start.UnixMilli() || g.Timestamp > end.UnixMilli() || g.Timestamp < last {
			t.Errorf("event %d timestamp %d, want within %d..%d and not before %d", i, g.Timestamp, start.UnixMilli(), end.UnixMilli(), last)
		}
		last = g.Timestamp
	}
	// Every member gets the same log.
	b.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: "r"})
	var again protocol.RoomLogsPayload
	b.expect(protocol.RoomLogs, &again)
	if !reflect.DeepEqual(again, logs) {
		t.Fatalf("b's log differs from a's:\n%+v\n%+v", again.Log, logs.Log)
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

// roomOf dials a client for each of ids and puts them in room name of type
// typ in that order, with every ROOM_USER_JOIN read.
func roomOf(e *env, name string, typ protocol.RoomType, ids ...string) []*client {
	e.t.Helper()
	var cs []*client
	for _, id := range ids {
		c := e.dial(dialOpts{peerID: id})
		joinRoom(c, name, typ)
		for _, m := range cs {
			expectJoin(m, name, id, typ)
		}
		cs = append(cs, c)
	}
	return cs
}

// roomOfThree is roomOf for a, b and c in room r.
func roomOfThree(e *env, typ protocol.RoomType) (a, b, c *client) {
	e.t.Helper()
	cs := roomOf(e, "r", typ, "a", "b", "c")
	return cs[0], cs[1], cs[2]
}

func TestRoomSendDataText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data string }{
		{"string", `"hello"`},
		{"empty string", `""`},
		{"unicode string", `"日本語 😀 café"`},
		{"escaped string", `"quote \" backslash \\ tab \t nul \u0000 \ud83d\ude00 </script>"`},
		{"integer", `42`},
		{"negative float", `-3.25e-7`},
		{"big number", `123456789012345678901234567890`},
		{"true", `true`},
		{"false", `false`},
		{"null", `null`},
		{"empty array", `[]`},
		{"array", `[1,"two",[3],{"four":4},null,true]`},
		{"empty object", `{}`},
		{"object", `{"text":"hi","n":[1,2],"nested":{"deep":{"deeper":null}},"src":"mallory"}`},
		{"whitespace", " { \"a\" :\n[ 1 , 2 ]\t} "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			a, b, c := roomOfThree(e, protocol.Mesh)
			a.sendRaw(roomDataFrame("r", tt.data))
			for _, m := range []*client{b, c} {
				// Delivered exactly as sent, but for the whitespace
				// around the value.
				if got := expectRoomData(m, "r", "a"); string(got) != strings.TrimSpace(tt.data) {
					t.Fatalf("%s got data %s, want %s", m.id, got, tt.data)
				}
			}
			barrier(a, a) // never its own
		})
	}
}

func TestRoomSendDataBinary(t *testing.T) {
	t.Parallel()
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bytes", []byte{0, 1, 2, 0xfe, 0xff}},
		{"looks like JSON", []byte(`{"type":"PING"}`)},
		{"not UTF-8", []byte{0xc3, 0x28, 0xa0, 0xa1}},
		{"256 KiB", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			a, b, c := roomOfThree(e, protocol.SFU)
			a.sendFrame(websocket.MessageBinary, binaryRoomDataFrame("r", tt.data))
			for _, m := range []*client{b, c} {
				if got := expectBinaryRoomData(m, "r", "a"); !bytes.Equal(got, tt.data) {
					t.Fatalf("%s got %d bytes, want %d", m.id, len(got), len(tt.data))
				}
			}
			barrier(a, a)
		})
	}

	t.Run("text and binary keep their order", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, roomDataAnyRate)
		a, b, c := roomOfThree(e, protocol.Mesh)
		a.sendRaw(roomDataFrame("r", `"text"`))
		a.sendFrame(websocket.MessageBinary, binaryRoomDataFrame("r", []byte("bin")))
		a.sendRaw(roomDataFrame("r", `"text again"`))
		for _, m := range []*client{b, c} {
			if got := expectRoomData(m, "r", "a"); string(got) != `"text"` {
				t.Fatalf("got %s", got)
			}
			if got := expectBinaryRoomData(m, "r", "a"); string(got) != "bin" {
				t.Fatalf("got %q", got)
			}
			if got := expectRoomData(m, "r", "a"); string(got) != `"text again"` {
				t.Fatalf("got %s", got)
			}
		}
		barrier(a, a)
	})
}

// TestRoomSendDataMaxSize sends the largest room data to two members, who
// read it as a stream: a copy of 20 MiB costs seconds under -race.
func TestRoomSendDataMaxSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.dial(dialOpts{peerID: "a"})
	joinRoom(a, "big", protocol.Mesh)
	members := make([]*websocket.Conn, 2)
	for i, id := range []string{"b", "c"} {
		m := e.dialConn(dialOpts{peerID: id})
		read(t, m, protocol.Open, nil)
		write(t, m, protocol.RoomJoin, protocol.RoomPayload{RoomName: "big", RoomType: protocol.Mesh})
		read(t, m, protocol.RoomUserJoin, nil)
		expectJoin(a, "big", id, protocol.Mesh)
		members[i] = m
	}
	read(t, members[0], protocol.RoomUserJoin, nil) // c's, for b

	// A pattern whose length is prime lines up with no buffer size; the
	// frame is filled by copying, since a byte loop is slow under -race.
	pattern := make([]byte, 65521)
	for i := range pattern {
		pattern[i] = byte(i ^ i>>8)
	}
	frame := binaryRoomDataFrame("big", nil)
	head := len(frame)
	for len(frame) < head+protocol.MaxRoomDataSize {
		frame = append(frame, pattern[:min(len(pattern), head+protocol.MaxRoomDataSize-len(frame))]...)
	}
	want := sha256.Sum256(frame[head:])

	start := time.Now()
	sums := make([][sha256.Size]byte, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { sums[i], errs[i] = readStream(m) })
	}
	a.sendHeavy(websocket.MessageBinary, frame)
	wg.Wait()
	t.Logf("20 MiB to two members in %v", time.Since(start))
	for i := range members {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if sums[i] != want {
			t.Fatalf("member %d got data with another hash", i)
		}
	}
	barrier(a, a)
}

// readStream reads one binary ROOM_DATA from a in room big as a stream and
// returns the SHA-256 of its data.
func readStream(conn *websocket.Conn) (sum [sha256.Size]byte, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), heavyWait)
	defer cancel()
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return sum, err
	}
	if typ != websocket.MessageBinary {
		return sum, fmt.Errorf("got a %v message, want binary", typ)
	}
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return sum, err
	}
	header := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := io.ReadFull(r, header); err != nil {
		return sum, err
	}
	if want := `{"type":"ROOM_DATA","payload":{"roomName":"big","src":"a"}}`; string(header) != want {
		return sum, fmt.Errorf("header %s, want %s", header, want)
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

func TestRoomErrors(t *testing.T) {
	t.Parallel()
	noSFU := appsWith(func(apps *config.Config) { appOf(apps, keyB).Permissions.SFU = false })
	tests := []struct {
		name   string
		adjust func(*signaling.Config)
		run    func(t *testing.T, e *env)
	}{
		{"type mismatch", nil, func(t *testing.T, e *env) {
			a, b := e.dial(dialOpts{peerID: "a"}), e.dial(dialOpts{peerID: "b"})
			joinRoom(a, "r", protocol.Mesh)
			b.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.SFU})
			expectRoomError(b, protocol.ErrRoom, protocol.RoomJoin, "r")
			barrier(b, a)
			expectUsers(a, "r", "a")
		}},
		{"full room", nil, func(t *testing.T, e *env) {
			cs := roomOf(e, "r", protocol.Mesh, "m1", "m2", "m3", "m4") // MaxRoomMembers is 4
			cs = append(cs, e.dial(dialOpts{peerID: "m5"}))
			cs[4].send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
			expectRoomError(cs[4], protocol.ErrRoom, protocol.RoomJoin, "r")
			expectUsers(cs[3], "r", "m1", "m2", "m3", "m4")
			// A place freed is a place taken.
			cs[0].send(protocol.RoomLeave, protocol.RoomPayload{RoomName: "r"})
			expectLeave(cs[0], "r", "m1")
			j := joinRoom(cs[4], "r", protocol.Mesh)
			if !slices.Equal(j.RoomMembers, []string{"m2", "m3", "m4", "m5"}) {
				t.Fatalf("roomMembers %q", j.RoomMembers)
			}
		}},
		{"sfu messages outside an sfu room", nil, func(t *testing.T, e *env) {
			a := e.dial(dialOpts{peerID: "a"})
			a.send(protocol.SFUGetOffer, protocol.SFUGetOfferPayload{RoomName: "r"})
			expectRoomError(a, protocol.ErrRoom, protocol.SFUGetOffer, "r") // not a member
			joinRoom(a, "r", protocol.Mesh)
			a.send(protocol.SFUCandidate, protocol.SFUCandidatePayload{RoomName: "r", Candidate: []byte(`{}`)})
			expectRoomError(a, protocol.ErrRoom, protocol.SFUCandidate, "r") // a mesh room
			joinRoom(a, "s", protocol.SFU)
			a.send(protocol.SFUGetOffer, protocol.SFUGetOfferPayload{RoomName: "s"})
			expectRoomError(a, protocol.ErrRoom, protocol.SFUGetOffer, "s") // this server has no SFU
		}},
		{"sfu without permission", noSFU, func(t *testing.T, e *env) {
			b := e.dial(dialOpts{key: keyB, peerID: "b"})
			b.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.SFU})
			expectRoomError(b, protocol.ErrPermission, protocol.RoomJoin, "r")
			if m, _ := e.router.RoomMembers(context.Background(), keyB, "r"); len(m) != 0 {
				t.Fatalf("refused join made a room with %q", m)
			}
			joinRoom(b, "r", protocol.Mesh) // mesh needs no permission
			a := e.dial(dialOpts{key: keyA, peerID: "a"})
			joinRoom(a, "s", protocol.SFU) // another app keeps its own
		}},
		{"non-member", nil, func(t *testing.T, e *env) {
			a, b := e.dial(dialOpts{peerID: "a"}), e.dial(dialOpts{peerID: "b"})
			joinRoom(a, "r", protocol.Mesh)
			for _, req := range []struct {
				t     protocol.MessageType
				frame []byte
			}{
				{protocol.RoomSendData, roomDataFrame("r", `"x"`)},
				{protocol.RoomSendData, binaryRoomDataFrame("r", []byte("x"))},
				{protocol.RoomGetUsers, []byte(`{"type":"ROOM_GET_USERS","payload":{"roomName":"r"}}`)},
				{protocol.RoomGetLogs, []byte(`{"type":"ROOM_GET_LOGS","payload":{"roomName":"r"}}`)},
				{protocol.RoomLeave, []byte(`{"type":"ROOM_LEAVE","payload":{"roomName":"r"}}`)},
				{protocol.RoomLeave, []byte(`{"type":"ROOM_LEAVE","payload":{"roomName":"nowhere"}}`)},
			} {
				typ := websocket.MessageText
				if req.frame[0] == 0 {
					typ = websocket.MessageBinary
				}
				b.sendFrame(typ, req.frame)
				perr := b.expectError(protocol.ErrRoom)
				if perr.Request != req.t || (perr.RoomName != "r" && perr.RoomName != "nowhere") {
					t.Fatalf("ERROR %+v for %q", perr, req.frame)
				}
			}
			barrier(b, a)
			expectUsers(a, "r", "a")
		}},
		{"rooms per peer", func(c *signaling.Config) { c.MaxRoomsPerPeer = 2 }, func(t *testing.T, e *env) {
			a := e.dial(dialOpts{peerID: "a"})
			joinRoom(a, "one", protocol.Mesh)
			joinRoom(a, "two", protocol.SFU)
			a.send(protocol.RoomJoin, protocol.RoomPayload{RoomName: "three", RoomType: protocol.Mesh})
			expectRoomError(a, protocol.ErrRoom, protocol.RoomJoin, "three")
			if m, _ := e.router.RoomMembers(context.Background(), keyA, "three"); len(m) != 0 {
				t.Fatalf("refused join made a room with %q", m)
			}
			joinRoom(a, "two", protocol.SFU) // a rejoin is not a third room
			a.send(protocol.RoomLeave, protocol.RoomPayload{RoomName: "one"})
			expectLeave(a, "one", "a")
			joinRoom(a, "three", protocol.Mesh)
			// The bound is per peer.
			b := e.dial(dialOpts{peerID: "b"})
			joinRoom(b, "one", protocol.Mesh)
			joinRoom(b, "four", protocol.Mesh)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newEnv(t, tt.adjust))
		})
	}
}

func TestRoomDataRate(t *testing.T) {
	t.Parallel()
	t.Run("default interval in real time", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil) // RoomDataInterval is protocol.RoomDataInterval
		a, b, _ := roomOfThree(e, protocol.Mesh)
		for i := range protocol.RoomDataBurst { // back to back: the burst
			a.sendRaw(roomDataFrame("r", fmt.Sprint(i)))
			expectRoomData(b, "r", "a")
		}
		a.sendRaw(roomDataFrame("r", `"over"`)) // well within 100 ms
		expectRoomError(a, protocol.ErrSignalingLimited, protocol.RoomSendData, "r")
		time.Sleep(protocol.RoomDataInterval)
		a.sendRaw(roomDataFrame("r", `"later"`))
		if got := expectRoomData(b, "r", "a"); string(got) != `"later"` {
			t.Fatalf("after the refused one, got %s", got)
		}
		barrier(a, a)
	})

	t.Run("exact interval", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		e := newEnv(t, func(c *signaling.Config) { c.Now = clock.Now })
		a, b, c := roomOfThree(e, protocol.Mesh)
		for i := range protocol.RoomDataBurst { // RoomDataBurst at once
			a.sendRaw(roomDataFrame("r", fmt.Sprint(i)))
			expectRoomData(b, "r", "a")
			expectRoomData(c, "r", "a")
		}
		clock.advance(protocol.RoomDataInterval - time.Millisecond)
		a.sendRaw(roomDataFrame("r", `"early"`))
		expectRoomError(a, protocol.ErrSignalingLimited, protocol.RoomSendData, "r")
		a.sendFrame(websocket.MessageBinary, binaryRoomDataFrame("r", []byte("early too")))
		expectRoomError(a, protocol.ErrSignalingLimited, protocol.RoomSendData, "r")
		// Another member's data is its own business.
		b.sendRaw(roomDataFrame("r", `"b's"`))
		expectRoomData(a, "r", "b")
		expectRoomData(c, "r", "b")
		clock.advance(time.Millisecond) // a token 100 ms after the burst: a refused send did not take one
		a.sendRaw(roomDataFrame("r", `"on time"`))
		if got := expectRoomData(c, "r", "a"); string(got) != `"on time"` {
			t.Fatalf("got %s", got)
		}
		if got := expectRoomData(b, "r", "a"); string(got) != `"on time"` {
			t.Fatalf("got %s", got)
		}
		// Dropped means dropped: nobody got it, and the log does not have it.
		b.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: "r"})
		var logs protocol.RoomLogsPayload
		b.expect(protocol.RoomLogs, &logs)
		var data []string
		for _, l := range logs.Log {
			if l.MessageType == protocol.RoomData {
				data = append(data, string(l.Data))
			}
		}
		var want []string
		for i := range protocol.RoomDataBurst {
			want = append(want, fmt.Sprint(i))
		}
		want = append(want, `"b's"`, `"on time"`)
		if !slices.Equal(data, want) {
			t.Fatalf("logged data %q", data)
		}
		barrier(a, b)
		barrier(a, c)
	})

	t.Run("spaced sends all arrive in order", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		e := newEnv(t, func(c *signaling.Config) { c.Now = clock.Now })
		a, b, c := roomOfThree(e, protocol.Mesh)
		for i := range 20 {
			// The clock moves only once the server has handled the
			// previous send, which the members' receipt proves.
			clock.advance(protocol.RoomDataInterval)
			want, _ := json.Marshal(i)
			if i%2 == 0 {
				a.sendRaw(roomDataFrame("r", string(want)))
			} else {
				a.sendFrame(websocket.MessageBinary, binaryRoomDataFrame("r", want))
			}
			for _, m := range []*client{b, c} {
				var got []byte
				if i%2 == 0 {
					got = expectRoomData(m, "r", "a")
				} else {
					got = expectBinaryRoomData(m, "r", "a")
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: message %d is %s", m.id, i, got)
				}
			}
		}
		barrier(a, a)
	})

	t.Run("per room", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		e := newEnv(t, func(c *signaling.Config) { c.Now = clock.Now })
		a, b := e.dial(dialOpts{peerID: "a"}), e.dial(dialOpts{peerID: "b"})
		for _, r := range []string{"r1", "r2"} {
			joinRoom(a, r, protocol.Mesh)
			joinRoom(b, r, protocol.Mesh)
			expectJoin(a, r, "b", protocol.Mesh)
		}
		a.sendRaw(roomDataFrame("r1", `1`))
		a.sendRaw(roomDataFrame("r2", `2`))
		if got := expectRoomData(b, "r1", "a"); string(got) != `1` {
			t.Fatalf("got %s", got)
		}
		if got := expectRoomData(b, "r2", "a"); string(got) != `2` {
			t.Fatalf("got %s", got)
		}
		barrier(a, a)
	})
}

func TestRoomNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		label string
		name  string // the room's name
		json  string // how the first joiner spells it in JSON
	}{
		{"latin", "café", `"caf\u00e9"`},
		{"japanese", "日本語の部屋", `"\u65e5\u672c\u8a9e\u306e\u90e8\u5c4b"`},
		{"emoji", "emoji 😀", `"emoji \ud83d\ude00"`},
		{"json escapes", `quote " and \ backslash / slash`, `"quote \" and \\ backslash \/ slash"`},
		{"html", "<b>&amp;</b>", `"\u003cb\u003e\u0026amp;\u003c/b\u003e"`},
		{"spaces", " spaces  inside ", `" spaces  inside "`},
		{"longest 2-byte", strings.Repeat("é", protocol.MaxRoomNameLength), quote(strings.Repeat("é", protocol.MaxRoomNameLength))},
		{"longest 4-byte", strings.Repeat("😀", protocol.MaxRoomNameLength), quote(strings.Repeat("😀", protocol.MaxRoomNameLength))},
		{"longest escaped", strings.Repeat("😀", protocol.MaxRoomNameLength), `"` + strings.Repeat(`\ud83d\ude00`, protocol.MaxRoomNameLength) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, roomDataAnyRate)
			a, b := e.dial(dialOpts{peerID: "a"}), e.dial(dialOpts{peerID: "b"})
			a.sendRaw([]byte(`{"type":"ROOM_JOIN","payload":{"roomName":` + tt.json + `,"roomType":"mesh"}}`))
			expectJoin(a, tt.name, "a", protocol.Mesh)
			joinRoom(b, tt.name, protocol.Mesh) // spelt plainly: the same room
			expectJoin(a, tt.name, "b", protocol.Mesh)
			expectUsers(a, tt.name, "a", "b")

			// Text and binary data, sent with the escaped spelling.
			a.sendRaw([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":` + tt.json + `,"data":"hi"}}`))
			expectRoomData(b, tt.name, "a")
			a.sendFrame(websocket.MessageBinary, protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":`+tt.json+`}}`), []byte{1}))
			expectBinaryRoomData(b, tt.name, "a")
			a.send(protocol.RoomGetLogs, protocol.RoomPayload{RoomName: tt.name})
			var logs protocol.RoomLogsPayload
			a.expect(protocol.RoomLogs, &logs)
			if logs.RoomName != tt.name || len(logs.Log) != 4 {
				t.Fatalf("ROOM_LOGS %+v", logs)
			}
			b.sendRaw([]byte(`{"type":"ROOM_LEAVE","payload":{"roomName":` + tt.json + `}}`))
			expectLeave(b, tt.name, "b")
			expectLeave(a, tt.name, "b")
			if m, _ := e.router.RoomMembers(context.Background(), keyA, tt.name); !slices.Equal(m, []string{"a"}) {
				t.Fatalf("router has %q in the room", m)
			}
		})
	}

	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		a := e.dial(dialOpts{peerID: "a"})
		for _, name := range []string{
			`""`,
			quote(strings.Repeat("x", protocol.MaxRoomNameLength+1)),
			quote(strings.Repeat("é", protocol.MaxRoomNameLength+1)),
			`"tab\there"`,
			`"nul\u0000"`,
			`"lone \ud800 surrogate"`,
			`"c1 \u0085 control"`,
			`42`,
		} {
			a.sendRaw([]byte(`{"type":"ROOM_JOIN","payload":{"roomName":` + name + `,"roomType":"mesh"}}`))
			if e := a.expectError(protocol.ErrInvalidMessage); e.Request != protocol.RoomJoin {
				t.Fatalf("ERROR %+v for room name %s", e, name)
			}
		}
		joinRoom(a, "fine", protocol.Mesh)
	})
}

func TestRoomsOfKeysAreSeparate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, roomDataAnyRate)
	a1 := e.dial(dialOpts{key: keyA, peerID: "one"})
	a2 := e.dial(dialOpts{key: keyA, peerID: "two"})
	b1 := e.dial(dialOpts{key: keyB, peerID: "one"})
	b2 := e.dial(dialOpts{key: keyB, peerID: "three"})
	joinRoom(a1, "same", protocol.Mesh)
	joinRoom(b1, "same", protocol.SFU) // another key, another room: its own type
	joinRoom(a2, "same", protocol.Mesh)
	expectJoin(a1, "same", "two", protocol.Mesh)
	j := joinRoom(b2, "same", protocol.SFU)
	if !slices.Equal(j.RoomMembers, []string{"one", "three"}) {
		t.Fatalf("key B's room has %q", j.RoomMembers)
	}
	expectJoin(b1, "same", "three", protocol.SFU)

	a1.sendRaw(roomDataFrame("same", `"for A"`))
	if got := expectRoomData(a2, "same", "one"); string(got) != `"for A"` {
		t.Fatalf("got %s", got)
	}
	b1.sendFrame(websocket.MessageBinary, binaryRoomDataFrame("same", []byte("for B")))
	if got := expectBinaryRoomData(b2, "same", "one"); string(got) != "for B" {
		t.Fatalf("got %q", got)
	}
	expectUsers(a1, "same", "one", "two")
	expectUsers(b2, "same", "one", "three")
	a1.close()
	expectLeave(a2, "same", "one")
	expectNothingAll(b1, b2)
	expectUsers(b2, "same", "one", "three")
}
