package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// TestRestartKeepsDataConnections: many pairs of SDK peers, each with a
// data connection, through several server restarts. A restart must close
// no connection: the server sends no LEAVE for the peers it lets go (the
// SDK closes its connections with the sender of a LEAVE), and each pair's
// data keeps flowing once both have reconnected.
func TestRestartKeepsDataConnections(t *testing.T) {
	t.Parallel()
	const (
		pairs  = 8
		cycles = 3
	)
	srv := sdktest.StartServer(t, nil)
	var closed atomic.Int32
	newPeer := func() *sdk.Peer {
		api, err := sdktest.LoopbackAPI()
		if err != nil {
			t.Fatal(err)
		}
		p, err := sdk.NewPeer(sdk.PeerOptions{Key: sdktest.Key, URL: srv.URL, API: api, ReconnectDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Destroy)
		waitPeerOpen(t, p)
		return p
	}
	type pair struct {
		a, b     *sdk.Peer
		near     *sdk.DataConnection
		received chan any
	}
	all := make([]pair, pairs)
	for i := range all {
		a, b := newPeer(), newPeer()
		received := make(chan any, 16)
		opened := make(chan struct{}, 2)
		b.OnConnection(func(dc *sdk.DataConnection) {
			dc.OnData(func(v any) { received <- v })
			dc.OnClose(func() { closed.Add(1) })
			dc.OnOpen(func() { opened <- struct{}{} })
		})
		near, err := a.Connect(b.ID(), nil)
		if err != nil {
			t.Fatal(err)
		}
		near.OnClose(func() { closed.Add(1) })
		near.OnOpen(func() { opened <- struct{}{} })
		for range 2 {
			select {
			case <-opened:
			case <-time.After(wait):
				t.Fatalf("pair %d: the data connection did not open", i)
			}
		}
		all[i] = pair{a, b, near, received}
	}
	for cycle := range cycles {
		srv.Restart(t)
		for i, p := range all {
			waitPeerOpen(t, p.a)
			waitPeerOpen(t, p.b)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			msg := fmt.Sprintf("cycle %d pair %d", cycle, i)
			if err := p.near.Send(ctx, msg); err != nil {
				cancel()
				t.Fatalf("%s: Send: %v", msg, err)
			}
			cancel()
			select {
			case v := <-p.received:
				if v != msg {
					t.Fatalf("%s: received %v", msg, v)
				}
			case <-time.After(wait):
				t.Fatalf("%s: no data", msg)
			}
		}
		if n := closed.Load(); n != 0 {
			t.Fatalf("cycle %d: %d data connections closed", cycle, n)
		}
	}
}

// waitPeerOpen waits until p is open (again).
func waitPeerOpen(t *testing.T, p *sdk.Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := p.WaitOpen(ctx); err != nil {
		t.Fatalf("peer did not open: %v", err)
	}
}
