package signaling_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/signaling"
)

// maxFuzzInput bounds what FuzzDispatch sends: far below
// protocol.MaxFrameSize, so that no input closes the socket for its size.
const maxFuzzInput = 64 << 10

// FuzzDispatch sends arbitrary frames through a real server from a client
// "fuzzer" that shares room "r" with a client "peer". Whatever the frame,
// the server must stay up and answer the next message, and every message
// either client gets must be well formed: a JSON envelope of a server
// message type, or a binary ROOM_DATA whose header parses; one src at most,
// and never one the sender chose (the peer hears only from the fuzzer).
//
// One server and its two clients serve every input; the rate limits are
// raised so that they never interfere.
func FuzzDispatch(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Add([]byte(`{"type":"PING"}`), false)
	f.Add([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r","data":{"x":[1,"2"]}}}`), false)
	f.Add(protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r"}}`), []byte{0, 1, 2, 0xff}), true)
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		if len(data) > maxFuzzInput {
			return
		}
		fe.dispatch(t, data, binary)
	})
}

// fuzzEnv is the server and clients FuzzDispatch shares between inputs.
type fuzzEnv struct {
	url    string
	tag    string // makes barrier names unguessable
	n      int    // barriers sent
	fuzzer *fuzzConn
	peer   *fuzzConn
}

// fuzzConn is a raw client socket with a read loop.
type fuzzConn struct {
	conn *websocket.Conn
	in   chan frame
	done chan struct{}
	err  error // why the socket ended, once done is closed
}

// newFuzzEnv starts a signaling server for tb and connects "peer" and
// "fuzzer", both in mesh room "r". tb's cleanup ends them all.
func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	e := newEnv(tb, func(c *signaling.Config) {
		c.MessageRate, c.MessageBurst, c.RoomDataInterval = 1e6, 1e6, 0
	})
	tag := make([]byte, 8)
	_, _ = rand.Read(tag)
	fe := &fuzzEnv{url: e.url, tag: hex.EncodeToString(tag)}
	tb.Cleanup(func() { // before newEnv's, which shuts the server down
		for _, c := range []*fuzzConn{fe.fuzzer, fe.peer} {
			if c != nil {
				c.close()
			}
		}
	})

	var err error
	if fe.peer, err = fe.dial("peer"); err != nil {
		tb.Fatal(err)
	}
	if err := fe.peer.write(websocket.MessageText, fuzzMarshal(tb, protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})); err != nil {
		tb.Fatal(err)
	}
	if err := fe.peer.await(func(env protocol.Envelope) bool { return env.Type == protocol.RoomUserJoin }); err != nil {
		tb.Fatalf("peer joining r: %v", err)
	}
	if err := fe.connectFuzzer(); err != nil {
		tb.Fatal(err)
	}
	return fe
}

// connectFuzzer (re)connects the fuzzer and puts it in room r.
func (fe *fuzzEnv) connectFuzzer() error {
	if fe.fuzzer != nil {
		fe.fuzzer.close()
		fe.fuzzer = nil
	}
	// The ID of a fuzzer that just left is released as its socket ends,
	// which may not have happened yet.
	var err error
	deadline := time.Now().Add(wait)
	for fe.fuzzer, err = fe.dial("fuzzer"); err != nil; fe.fuzzer, err = fe.dial("fuzzer") {
		if time.Now().After(deadline) {
			return fmt.Errorf("reconnecting the fuzzer: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	join, _ := protocol.Marshal(protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})
	if err := fe.fuzzer.write(websocket.MessageText, join); err != nil {
		return err
	}
	// Both hear of the join; the peer may also first hear that the last
	// fuzzer left.
	isJoin := func(env protocol.Envelope) bool { return env.Type == protocol.RoomUserJoin }
	if err := fe.fuzzer.await(isJoin); err != nil {
		return fmt.Errorf("fuzzer joining r: %w", err)
	}
	if err := fe.peer.await(isJoin); err != nil {
		return fmt.Errorf("peer hearing of the fuzzer: %w", err)
	}
	return nil
}

// dial connects as id and waits for OPEN.
func (fe *fuzzEnv) dial(id string) (*fuzzConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	q := url.Values{"key": {keyA}, "peerId": {id}}
	conn, _, err := websocket.Dial(ctx, fe.url+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", id, err)
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	c := &fuzzConn{conn: conn, in: make(chan frame, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			typ, data, err := conn.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			c.in <- frame{typ == websocket.MessageBinary, data}
		}
	}()
	f, err := c.next()
	if err == nil && !bytes.HasPrefix(f.data, []byte(`{"type":"OPEN"`)) {
		err = fmt.Errorf("got %s, want OPEN", f.data)
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("connecting %s: %w", id, err)
	}
	return c, nil
}

// close ends the socket and its read loop, which may be blocked on a full
// channel after a failed input.
func (c *fuzzConn) close() {
	c.conn.CloseNow()
	for {
		select {
		case <-c.in:
		case <-c.done:
			return
		}
	}
}

func (c *fuzzConn) write(typ websocket.MessageType, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return c.conn.Write(ctx, typ, data)
}

// next returns the next frame, or why there is none.
func (c *fuzzConn) next() (frame, error) {
	select {
	case f := <-c.in:
		return f, nil
	case <-c.done:
		select {
		case f := <-c.in:
			return f, nil
		default:
		}
		return frame{}, fmt.Errorf("socket ended: %w", c.err)
	case <-time.After(wait):
		return frame{}, fmt.Errorf("no message within %v", wait)
	}
}

// await reads text messages until one satisfies stop.
func (c *fuzzConn) await(stop func(protocol.Envelope) bool) error {
	for {
		f, err := c.next()
		if err != nil {
			return err
		}
		var env protocol.Envelope
		if !f.binary && json.Unmarshal(f.data, &env) == nil && stop(env) {
			return nil
		}
	}
}

// fuzzClosedLegitimately reports whether the server may close a socket for
// what a client sent, whatever its size and rate: none of these should
// happen with FuzzDispatch's inputs and limits, but they are not bugs if
// they do.
func fuzzClosedLegitimately(err error) bool {
	switch websocket.CloseStatus(err) {
	case websocket.StatusMessageTooBig, protocol.CloseFlooding, protocol.CloseSlowConsumer:
		return true
	}
	return false
}

// dispatch sends one input and checks what comes back.
func (fe *fuzzEnv) dispatch(t *testing.T, data []byte, binary bool) {
	select {
	case <-fe.fuzzer.done:
		// An earlier input ended the socket (and failed); start afresh.
		if err := fe.connectFuzzer(); err != nil {
			t.Fatal(err)
		}
	default:
	}
	// Each input starts with the fuzzer in r, whatever the last one did.
	if err := fe.fuzzer.write(websocket.MessageText, fuzzMarshal(t, protocol.RoomJoin, protocol.RoomPayload{RoomName: "r", RoomType: protocol.Mesh})); err != nil {
		t.Fatalf("rejoining r: %v", err)
	}
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	if err := fe.fuzzer.write(typ, data); err != nil {
		t.Fatalf("sending the input: %v", err)
	}
	// Messages are handled in order, and each client's are delivered in
	// order: once both answers to the barrier are in, everything the input
	// caused has arrived.
	fe.n++
	barrier := fmt.Sprintf("barrier-%d-%s", fe.n, fe.tag)
	for _, m := range [][]byte{
		fuzzMarshal(t, protocol.RoomGetUsers, protocol.RoomPayload{RoomName: barrier}),
		fuzzMarshal(t, protocol.SendForceClose, protocol.RelayPayload{Dst: "peer", ConnectionID: barrier}),
	} {
		if err := fe.fuzzer.write(websocket.MessageText, m); err != nil {
			t.Fatalf("sending the barrier after %q: %v", data, err)
		}
	}
	for {
		f, err := fe.fuzzer.next()
		if err != nil {
			if fuzzClosedLegitimately(fe.fuzzer.err) {
				t.Logf("the server closed the fuzzer's socket: %v", fe.fuzzer.err)
				if err := fe.connectFuzzer(); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Fatalf("fuzzer: waiting for the barrier after %q: %v", data, err)
		}
		env := fuzzCheckFrame(t, "fuzzer", f, "fuzzer", "peer")
		if env.Type == protocol.Error {
			var e protocol.ErrorPayload
			_ = json.Unmarshal(env.Payload, &e)
			if e.RoomName == barrier && e.Request == protocol.RoomGetUsers {
				if e.Type != protocol.ErrRoom {
					t.Fatalf("barrier answered with %+v", e)
				}
				break
			}
		}
	}
	for {
		f, err := fe.peer.next()
		if err != nil {
			t.Fatalf("peer: waiting for the barrier after %q: %v", data, err)
		}
		env := fuzzCheckFrame(t, "peer", f, "fuzzer")
		if env.Type == protocol.ForceClose {
			var r protocol.RelayPayload
			if json.Unmarshal(env.Payload, &r) == nil && r.ConnectionID == barrier {
				break
			}
		}
	}
}

// fuzzServerTypes are the messages a server may send.
var fuzzServerTypes = map[protocol.MessageType]bool{
	protocol.Open: true, protocol.Error: true, protocol.Offer: true, protocol.Answer: true,
	protocol.Candidate: true, protocol.ForceClose: true, protocol.Leave: true, protocol.AuthExpiresIn: true,
	protocol.RoomUserJoin: true, protocol.RoomUserLeave: true, protocol.RoomUsers: true,
	protocol.RoomLogs: true, protocol.RoomData: true,
}

// fuzzSourced are the messages whose src names the peer they come from.
var fuzzSourced = map[protocol.MessageType]bool{
	protocol.Offer: true, protocol.Answer: true, protocol.Candidate: true, protocol.ForceClose: true,
	protocol.Leave: true, protocol.RoomUserJoin: true, protocol.RoomUserLeave: true, protocol.RoomData: true,
}

// fuzzCheckFrame checks one frame that who received and returns its envelope
// (the header of a binary one). A sourced message must carry exactly one
// src, among srcs.
func fuzzCheckFrame(t *testing.T, who string, f frame, srcs ...string) protocol.Envelope {
	t.Helper()
	text := f.data
	if f.binary {
		header, _, err := protocol.SplitBinaryFrame(f.data)
		if err != nil {
			t.Fatalf("%s got a binary frame %q that does not split: %v", who, f.data, err)
		}
		text = header
	}
	var env protocol.Envelope
	if !json.Valid(text) || json.Unmarshal(text, &env) != nil {
		t.Fatalf("%s got a message that is not a JSON envelope: %q", who, text)
	}
	if !fuzzServerTypes[env.Type] {
		t.Fatalf("%s got a message of type %q: %s", who, env.Type, text)
	}
	if f.binary && env.Type != protocol.RoomData {
		t.Fatalf("%s got a binary %s: %s", who, env.Type, text)
	}
	if env.Type == protocol.Error {
		var e protocol.ErrorPayload
		if err := json.Unmarshal(env.Payload, &e); err != nil || e.Type == "" || e.Message == "" {
			t.Fatalf("%s got a malformed ERROR %s: %v", who, text, err)
		}
	}
	if !fuzzSourced[env.Type] {
		return env
	}
	// A Go or JavaScript client decodes the last of duplicate keys, and Go
	// folds their case: count every spelling of src.
	dec := json.NewDecoder(bytes.NewReader(env.Payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s got a %s whose payload is not an object: %s", who, env.Type, text)
	}
	var src []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: payload of %s: %v", who, text, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: payload of %s: %v", who, text, err)
		}
		if k, _ := tok.(string); strings.EqualFold(k, "src") {
			var s string
			_ = json.Unmarshal(v, &s)
			src = append(src, s)
		}
	}
	if len(src) != 1 || !slices.Contains(srcs, src[0]) {
		t.Fatalf("%s got a %s with src %q, want one of %q: %s", who, env.Type, src, srcs, text)
	}
	return env
}

func fuzzMarshal(tb testing.TB, t protocol.MessageType, payload any) []byte {
	tb.Helper()
	b, err := protocol.Marshal(t, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
