package server_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/skywasm/skywasm/sdk"
	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/config"
)

// TestClusterLeaseLapse: a node whose lease lapsed gives up its peers' IDs
// with close 4011 (protocol.CloseFenced), and an SDK peer takes its ID back
// on another node with its token, as after a drop: no close event, its
// DataConnection running on. With 4008 (replaced), which the SDK takes as
// final, the peer stayed disconnected.
func TestClusterLeaseLapse(t *testing.T) {
	cfg := &config.Config{Apps: []config.App{{
		Key: key, Secret: secret,
		Permissions: config.Permissions{ListPeers: true},
		Limits:      config.DefaultLimits(),
	}}}
	c := startTestCluster(t, 3, cfg, func(cc *cluster.Config) {
		cc.Lease, cc.ReclaimWindow = failoverLease, failoverReclaim
	})
	mover := clusterPeer(t, sdk.PeerOptions{URL: c.nodes[0].url})
	v := c.index(t, mover.ServerURL())
	k := (v + 1) % 3
	contact := clusterPeer(t, sdk.PeerOptions{URL: c.nodes[k].url, NoDispatch: true})
	contact.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) { _ = dc.Send(context.Background(), v) }) // an echo
	})
	dc, err := mover.Connect(contact.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	echo := make(chan any, 16)
	dc.OnData(func(v any) { echo <- v })
	roundTrip(t, dc, echo, "before the lapse")

	closed := make(chan struct{})
	mover.OnClose(func() { close(closed) })
	reconnected := make(chan string, 1)
	mover.OnReconnected(func(id string) { reconnected <- id })

	// The lease lapses as it does for a node too busy to refresh it: its
	// entry expires (here: is deleted) and the next refresh finds it gone.
	ctx, cancel := context.WithTimeout(context.Background(), failoverWait)
	defer cancel()
	js, err := jetstream.New(c.nodes[k].nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, "skywasm_nodes")
	if err != nil {
		t.Fatal(err)
	}
	lapsed := time.Now()
	if err := kv.Delete(ctx, "k"+base64.RawURLEncoding.EncodeToString([]byte(c.nodes[v].name))); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-reconnected:
		t.Logf("the mover reclaimed its ID on %s %v after the lapse", mover.ServerURL(), time.Since(lapsed).Round(time.Millisecond))
		if id != mover.ID() {
			t.Fatalf("reconnected as %s, want %s", id, mover.ID())
		}
	case <-closed:
		t.Fatal("the mover closed: its node's eviction was taken as final")
	case <-time.After(failoverWait):
		t.Fatalf("the mover did not reconnect within %v of the lapse", failoverWait)
	}
	if u := mover.ServerURL(); u == c.nodes[v].url {
		t.Errorf("the mover went back to the fenced node %s", u)
	}
	roundTrip(t, dc, echo, "after the move")
	select {
	case <-closed:
		t.Fatal("the mover closed")
	default:
	}
	if !mover.Open() || !dc.Open() {
		t.Fatal("the mover or its data connection closed")
	}
}
