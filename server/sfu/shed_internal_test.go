//go:build !js

package sfu

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// TestShedNewestFirst: while the queues of several subscribers overflow
// tick after tick, the shedder sheds the newest joiners' video a step per
// tick up to a minority; one stalled subscriber sheds nobody, nor does
// one tick of overflows; after a calm spell the earliest joiners of the
// shed resume first.
func TestShedNewestFirst(t *testing.T) {
	s := &SFU{metrics: metrics.NewSFU(nil), rooms: map[roomKey]*room{}}
	r := &room{key: roomKey{"k", "r"}, participants: map[string]*participant{}}
	s.rooms[r.key] = r
	var ps []*participant
	for i := range 20 {
		p := &participant{s: s, room: r, peer: fmt.Sprint(i), recv: routing.Receive{Video: true}, joined: uint64(i + 1),
			q: newSendQueue(4, nil)}
		r.participants[p.peer] = p
		ps = append(ps, p)
	}
	shed := func() (n int, newest bool) {
		for _, p := range ps {
			if p.q.shed.Load() {
				n++
			}
		}
		newest = true
		for i, p := range ps {
			if p.q.shed.Load() && i < len(ps)-n {
				newest = false
			}
		}
		return n, newest
	}
	var sh shedder

	ps[3].q.overflowed.Store(true) // one stalled subscriber
	sh.step(s)
	if n, _ := shed(); n != 0 {
		t.Fatalf("one overflowing queue shed %d subscribers", n)
	}
	for _, p := range ps[:10] { // one tick's hiccup
		p.q.overflowed.Store(true)
	}
	sh.step(s)
	if n, _ := shed(); n != 0 {
		t.Fatalf("one tick of overflows shed %d subscribers", n)
	}
	for tick := range 8 {
		for _, p := range ps[:10] {
			p.q.overflowed.Store(true)
		}
		sh.step(s)
		n, newest := shed()
		if want := min(2*(tick+1), 8); n != want || !newest {
			t.Fatalf("tick %d of overload: %d shed (the newest: %v), want the newest %d", tick, n, newest, want)
		}
	}
	if g := testutil.ToFloat64(s.metrics.Shed); g != 8 {
		t.Errorf("shed gauge %v, want 8", g)
	}
	for range resumeCalm/shedTick - 1 {
		sh.step(s)
	}
	if n, _ := shed(); n != 8 {
		t.Fatalf("%d shed before the calm spell is over, want 8", n)
	}
	sh.step(s)
	if n, _ := shed(); n != 7 || ps[12].q.shed.Load() {
		t.Fatalf("after %v of calm: %d shed, the earliest shed resumed: %v", resumeCalm, n, !ps[12].q.shed.Load())
	}
	// An overflow restarts the calm spell.
	for _, p := range ps[:1] {
		p.q.overflowed.Store(true)
	}
	for range resumeCalm / shedTick {
		sh.step(s)
	}
	if n, _ := shed(); n != 7 {
		t.Fatalf("%d shed, want 7: the calm spell began again at the overflow", n)
	}
}

// TestShedNotSmallRooms: a node with fewer than shedMinSubscribers video
// subscribers sheds nobody, however many of their queues overflow: that is
// a stalled machine, not an SFU past capacity.
func TestShedNotSmallRooms(t *testing.T) {
	s := &SFU{metrics: metrics.NewSFU(nil), rooms: map[roomKey]*room{}}
	r := &room{key: roomKey{"k", "r"}, participants: map[string]*participant{}}
	s.rooms[r.key] = r
	var ps []*participant
	for i := range shedMinSubscribers - 1 {
		p := &participant{s: s, room: r, peer: fmt.Sprint(i), recv: routing.Receive{Video: true}, joined: uint64(i + 1),
			q: newSendQueue(4, nil)}
		r.participants[p.peer] = p
		ps = append(ps, p)
	}
	var sh shedder
	for range 8 {
		for _, p := range ps {
			p.q.overflowed.Store(true)
		}
		sh.step(s)
	}
	for _, p := range ps {
		if p.q.shed.Load() {
			t.Fatalf("%d video subscribers, every queue overflowing: %s shed", len(ps), p.peer)
		}
	}
}
