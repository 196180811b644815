package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// TestClusterRoomLogBoundedInBytes: as routing.Local's, a room's log keeps
// the newest events within RoomLogBytes of text, and an API key's logs
// stay within KeyLogBytes, oldest dropped first, however much is logged.
func TestClusterRoomLogBoundedInBytes(t *testing.T) {
	const (
		roomBytes = 16 << 10
		keyBytes  = 256 << 10
	)
	// A node of its own on the shared cluster, with small bounds, named
	// to sort after n0, the janitor of the tests that share it.
	sharedRouters(t)
	cfg := DefaultConfig()
	cfg.Node, cfg.PublicURL, cfg.KVConn, cfg.Replicas = "zz", "http://127.0.0.1:8100", shared.c.kvs[0], 3
	cfg.RoomLogBytes, cfg.KeyLogBytes = roomBytes, keyBytes
	ctx := context.Background()
	nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := New(nctx, shared.c.conns[0], cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		// The shared cluster's tests count its nodes: see this one gone.
		for _, n := range shared.c.routers {
			waitFor(t, 10*time.Second, "the node gone", func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, _ = n.sweep(ctx)
				return len(n.Nodes()) == len(shared.c.routers)
			})
		}
	}()
	key := newKey()
	text := func(i int) []byte {
		return fmt.Appendf(nil, `"%d%s"`, i, strings.Repeat("x", protocol.MaxLoggedData-8))
	}
	// Twice the key's bytes over rooms of twice the room's.
	rooms := 2 * keyBytes / (2 * roomBytes)
	for i := range rooms {
		name := fmt.Sprintf("r%d", i)
		if _, err := r.JoinRoom(ctx, routing.Join{Key: key, Room: name, Type: protocol.Mesh, Peer: "p"}); err != nil {
			t.Fatal(err)
		}
		for j := range 2 * roomBytes / protocol.MaxLoggedData {
			if err := r.LogRoomData(ctx, key, name, "p", text(i*100+j), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := 0
	for i := range rooms {
		log, err := r.RoomLog(ctx, key, fmt.Sprintf("r%d", i))
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, e := range log {
			kept += len(e.Data)
		}
		if kept > roomBytes {
			t.Errorf("room r%d keeps %d bytes of text, over %d", i, kept, roomBytes)
		}
		if i == rooms-1 && (len(log) == 0 || string(log[len(log)-1].Data) != string(text(i*100+2*roomBytes/protocol.MaxLoggedData-1))) {
			t.Errorf("the newest room lost its newest entry")
		}
		total += kept
	}
	if total > keyBytes {
		t.Errorf("the key's rooms keep %d bytes of text, over %d", total, keyBytes)
	}
	s, err := r.logStream(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Bytes > keyBytes {
		t.Errorf("the key's log stream holds %d bytes, over %d", info.State.Bytes, keyBytes)
	}
	t.Logf("%d rooms keep %d bytes of text; the stream %d bytes in %d events", rooms, total, info.State.Bytes, info.State.Msgs)
}

// TestClusterRoomLogJSONEncodesOnce: a room with a member on the node is
// encoded once per change of its log, and the encoding is the log's.
func TestClusterRoomLogJSONEncodesOnce(t *testing.T) {
	nodes := sharedRouters(t)
	ctx := context.Background()
	key := newKey()
	for i, p := range []string{"a", "b"} {
		if _, err := nodes[i].JoinRoom(ctx, routing.Join{Key: key, Room: "r", Type: protocol.Mesh, Peer: p}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		if err := nodes[1].LogRoomData(ctx, key, "r", "b", fmt.Appendf(nil, `{"n":%d}`, i), false); err != nil {
			t.Fatal(err)
		}
	}
	first, err := nodes[0].RoomLogJSON(ctx, key, "r")
	if err != nil {
		t.Fatal(err)
	}
	log, err := nodes[0].RoomLog(ctx, key, "r")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := json.Marshal(log); string(first) != string(want) {
		t.Fatalf("RoomLogJSON = %s\nwant %s", first, want)
	}
	again, err := nodes[0].RoomLogJSON(ctx, key, "r")
	if err != nil || &again[0] != &first[0] {
		t.Fatalf("an unchanged log was encoded again (%v)", err)
	}
	if err := nodes[1].LogRoomData(ctx, key, "r", "b", []byte(`"new"`), false); err != nil {
		t.Fatal(err)
	}
	next, err := nodes[0].RoomLogJSON(ctx, key, "r")
	if err != nil || !strings.Contains(string(next), `"new"`) {
		t.Fatalf("RoomLogJSON did not change with the log: %v", err)
	}
	// A node with no member of the room answers too.
	if enc, err := nodes[2].RoomLogJSON(ctx, key, "r"); err != nil || string(enc) != string(next) {
		t.Fatalf("another node's RoomLogJSON = %.80s, %v", enc, err)
	}
	for i, p := range []string{"a", "b"} {
		if _, err := nodes[i].LeaveRoom(ctx, key, "r", p); err != nil {
			t.Fatal(err)
		}
	}
}
