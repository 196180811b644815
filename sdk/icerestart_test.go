//go:build !js

package sdk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// cutFor is how long the tests cut the path between two peers.
const cutFor = 5 * time.Second

// recorder notes a connection's recovery and close events.
type recorder struct {
	name string

	mu           sync.Mutex
	reconnecting int
	reconnected  int
	closed       bool
	back         chan struct{} // a reconnected event, buffered
	closedCh     chan struct{}
}

func record(name string, c sdk.Connection) *recorder {
	r := &recorder{name: name, back: make(chan struct{}, 16), closedCh: make(chan struct{})}
	c.OnReconnecting(func() {
		r.mu.Lock()
		r.reconnecting++
		r.mu.Unlock()
	})
	c.OnReconnected(func() {
		r.mu.Lock()
		r.reconnected++
		r.mu.Unlock()
		r.back <- struct{}{}
	})
	switch c := c.(type) {
	case *sdk.MediaConnection:
		c.OnClose(func() { r.setClosed() })
	case *sdk.DataConnection:
		c.OnClose(func() { r.setClosed() })
	}
	return r
}

func (r *recorder) setClosed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.closedCh)
	}
}

func (r *recorder) counts() (reconnecting, reconnected int, closed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconnecting, r.reconnected, r.closed
}

// loopbackAPI is sdktest.LoopbackAPI for a test, which it fails on error.
func loopbackAPI(t testing.TB, adjust ...func(*webrtc.SettingEngine)) *webrtc.API {
	t.Helper()
	api, err := sdktest.LoopbackAPI(adjust...)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// blackholedAPI is a loopback API whose ICE UDP goes through a Blackhole,
// which the test freezes to cut the path.
func blackholedAPI(t testing.TB, adjust ...func(*webrtc.SettingEngine)) (*webrtc.API, *sdktest.Blackhole) {
	t.Helper()
	hole := sdktest.NewBlackhole(t)
	return loopbackAPI(t, append(adjust, sdktest.WithUDP(hole))...), hole
}

// TestICERestartSurvivesCut cuts the path between two native peers for 5 s
// (a UDP blackhole on the callee's side) with ICE timeouts short enough
// that ICE fails meanwhile, then restores it: the call and a data
// connection recover through ICE restarts, media and data flow again, and
// neither side sees close.
func TestICERestartSurvivesCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	api := loopbackAPI(t, sdktest.ShortICETimeouts)
	farAPI, hole := blackholedAPI(t, sdktest.ShortICETimeouts)
	a := e.peer(sdk.PeerOptions{API: api})
	b := e.peer(sdk.PeerOptions{API: farAPI})

	near, far, nearGot, farGot := call(t, a, b, source(t, "a"), source(t, "b"), nil)
	bv, ba := countRTP(recv(t, nearGot, "b's stream at a"))
	av, aa := countRTP(recv(t, farGot, "a's stream at b"))
	waitPackets(t, "a", bv, ba, 20)
	waitPackets(t, "b", av, aa, 20)
	dcA, dcB, got := connectPeers(t, a, b, nil)
	fromB := make(chan any, 16)
	dcA.OnData(func(v any) { fromB <- v })

	recs := []*recorder{record("call at a", near), record("call at b", far), record("data at a", dcA), record("data at b", dcB)}

	hole.Freeze()
	time.Sleep(cutFor)
	mid := make([]int, len(recs))
	for i, r := range recs {
		mid[i], _, _ = r.counts()
	}
	hole.Thaw()
	thawed := time.Now()

	for _, r := range recs {
		select {
		case <-r.back:
			t.Logf("%s: reconnected %v after the path came back", r.name, time.Since(thawed).Round(time.Millisecond))
		case <-r.closedCh:
			t.Fatalf("%s closed", r.name)
		case <-time.After(wait):
			t.Fatalf("%s did not reconnect", r.name)
		}
	}
	for i, r := range recs {
		if mid[i] == 0 {
			t.Errorf("%s: no reconnecting event during the cut", r.name)
		}
	}

	// Media flows again both ways.
	nbv, nba, nav, naa := bv.Load(), ba.Load(), av.Load(), aa.Load()
	waitPackets(t, "a after the cut", bv, ba, max(nbv, nba)+50)
	waitPackets(t, "b after the cut", av, aa, max(nav, naa)+50)

	// Data flows again both ways.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := dcA.Send(ctx, "after the cut"); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, got, "data at b"); v != "after the cut" {
		t.Errorf("b received %v", v)
	}
	if err := dcB.Send(ctx, "back"); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, fromB, "data at a"); v != "back" {
		t.Errorf("a received %v", v)
	}
	for _, r := range recs {
		if ing, ed, closed := r.counts(); closed || ing < 1 || ed < 1 {
			t.Errorf("%s: %d reconnecting, %d reconnected, closed %v", r.name, ing, ed, closed)
		}
	}
}

// TestICERestartGivesUp cuts the path for good: after ICERestartTimeout
// the connection closes on both sides, with no reconnected event.
func TestICERestartGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	api := loopbackAPI(t, sdktest.ShortICETimeouts)
	farAPI, hole := blackholedAPI(t, sdktest.ShortICETimeouts)
	const timeout = 2 * time.Second
	a := e.peer(sdk.PeerOptions{API: api, ICERestartTimeout: timeout})
	b := e.peer(sdk.PeerOptions{API: farAPI, ICERestartTimeout: timeout})
	dcA, dcB, _ := connectPeers(t, a, b, nil)
	ra, rb := record("a", dcA), record("b", dcB)
	hole.Freeze()
	start := time.Now()
	for _, r := range []*recorder{ra, rb} {
		select {
		case <-r.closedCh:
		case <-time.After(wait):
			t.Fatalf("%s did not close", r.name)
		}
		ing, ed, _ := r.counts()
		t.Logf("%s closed %v after the cut; %d reconnecting, %d reconnected", r.name, time.Since(start).Round(time.Millisecond), ing, ed)
		if ing != 1 || ed != 0 {
			t.Errorf("%s: %d reconnecting and %d reconnected events, want 1 and 0", r.name, ing, ed)
		}
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("closed %v after the cut, before the %v timeout", d, timeout)
	}
}
