//go:build !js

package sfu

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/server/metrics"
)

// fakeWriter is a subscriber's TrackLocalWriter that keeps the last
// packet written to it.
type fakeWriter struct {
	mu      sync.Mutex
	n       int
	seqs    []uint16
	keep    bool
	last    rtp.Header
	payload []byte
}

func (w *fakeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if w.keep {
		w.seqs = append(w.seqs, h.SequenceNumber)
		w.last = *h
		w.payload = append(w.payload[:0], payload...)
	}
	return len(payload), nil
}

func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }

// testTrack is a published VP8 track with n bound down-tracks writing to
// fake writers, each with a send queue of its own. The track sends to up
// to inline subscribers itself; beyond, it hands them to two workers
// whose goroutines do not run: the test drains them (drainWorkers), or
// the queues (drainAll). Its keyframe requests are counted, not sent.
func testTrack(tb testing.TB, n, queueSize, inline int) (*track, []*downTrack, []*fakeWriter) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.InlineFanOut = inline
	s := &SFU{cfg: cfg, metrics: metrics.NewSFU(nil), workers: []*sendWorker{newSendWorker(0), newSendWorker(1)}}
	s.out = testSocket(tb, "127.0.0.1", s.metrics) // the fake writers bypass it
	p := &participant{s: s}
	t := &track{id: "t", streamID: "s", kind: webrtc.RTPCodecTypeVideo, pub: p,
		codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, buf: newPacketBuffer(videoBufferSlots)}
	t.ended = true // keyframe requests go nowhere
	var downs []*downTrack
	var ws []*fakeWriter
	for i := range n {
		d := newDownTrack(t, newSendQueue(queueSize, s.workers[i%len(s.workers)]))
		w := &fakeWriter{}
		d.ssrc, d.pt, d.writer = uint32(1000+i), 100, w
		d.bound.Store(true)
		t.addDown(d)
		downs, ws = append(downs, d), append(ws, w)
	}
	return t, downs, ws
}

// vp8 returns an RTP packet of a VP8 frame's first packet, a keyframe or
// not, with a header extension the SFU must strip.
func vp8(tb testing.TB, seq uint16, ts uint32, key bool) []byte {
	tb.Helper()
	payload := make([]byte, 1000)
	payload[0] = 0x10 // S=1, partition 0
	if !key {
		payload[1] = 0x01 // P=1: an inter frame
	}
	binary.BigEndian.PutUint16(payload[2:], seq) // to recognise it
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 42, Marker: true}
	if err := h.SetExtension(3, []byte{1, 2}); err != nil {
		tb.Fatal(err)
	}
	buf, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return buf
}

// drainAll sends what the down-tracks' queues hold, as if it were their
// drainer.
func drainAll(downs []*downTrack, s *sender) {
	for _, d := range downs {
		for !s.drain(d.q, 1) {
		}
	}
}

// drainWorkers does the work of the track's workers until none is left.
func drainWorkers(t *track, s *sender, work []*sendQueue) []*sendQueue {
	for _, w := range t.pub.s.workers {
		for {
			if work = w.drainReady(s, work); len(work) == 0 {
				break
			}
		}
	}
	return work
}

// TestForwardAllocatesNothing: one packet into the shared buffer, through
// every down-track's queue and out to the subscriber, with the SSRC,
// payload type and sequence number rewritten, allocates nothing: sent by
// the track's goroutine to 1 subscriber, by the workers to 50.
func TestForwardAllocatesNothing(t *testing.T) {
	for _, n := range []int{1, 50} {
		t.Run(fmt.Sprintf("subscribers=%d", n), func(t *testing.T) {
			tr, _, ws := testTrack(t, n, sendQueueSize, DefaultConfig().InlineFanOut)
			var f forwarder
			s := newSender()
			var work []*sendQueue
			seq := uint16(100)
			pkt := vp8(t, seq, 0, true)
			now := time.Now()
			step := func() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*3000)
				f.forward(tr, pkt, now)
				work = drainWorkers(tr, s, work)
			}
			for range 10 { // the scratch header's slices grow once
				step()
			}
			if allocs := testing.AllocsPerRun(1000, step); allocs != 0 {
				t.Errorf("%.1f allocations per packet forwarded to %d subscribers", allocs, n)
			}
			for i, w := range ws {
				if w.n != 1011 { // AllocsPerRun runs once more to warm up
					t.Fatalf("subscriber %d got %d packets, want 1011", i, w.n)
				}
			}
		})
	}
}

// TestDownTrackRewrites: the subscriber gets its own SSRC, payload type
// and no foreign header extension, the payload untouched.
func TestDownTrackRewrites(t *testing.T) {
	tr, _, ws := testTrack(t, 1, sendQueueSize, 1)
	ws[0].keep = true
	var f forwarder
	pkt := vp8(t, 7, 90, true)
	f.forward(tr, pkt, time.Now()) // sent on this goroutine
	w := ws[0]
	if w.n != 1 || w.last.SSRC != 1000 || w.last.PayloadType != 100 || w.last.SequenceNumber != 7 || w.last.Extension {
		t.Fatalf("got %d packets, last header %+v", w.n, w.last)
	}
	if binary.BigEndian.Uint16(w.payload[2:]) != 7 || len(w.payload) != 1000 {
		t.Fatalf("payload changed")
	}
}

// TestDownTrackDropsWholeFrames: a subscriber whose queue is full loses
// whole frames, never parts, then nothing until a keyframe; the sequence
// numbers it gets have no gap, and the other subscriber loses nothing.
func TestDownTrackDropsWholeFrames(t *testing.T) {
	tr, downs, ws := testTrack(t, 2, 64, 0)
	for _, w := range ws {
		w.keep = true
	}
	var f forwarder
	s := newSender()
	seq, ts := uint16(65500), uint32(0) // across the wrap
	frame := func(key bool, packets int, drainSlow bool) {
		ts += 3000
		for i := range packets {
			pkt := vp8(t, seq, ts, key && i == 0)
			if i > 0 {
				pkt[12+8] = 0x00 // not a partition start (after the 8-byte extension)
			}
			seq++
			f.forward(tr, pkt, time.Now())
		}
		drainAll(downs[:1], s)
		if drainSlow {
			drainAll(downs[1:], s)
		}
	}
	frame(true, 10, true)
	for range 10 { // the slow subscriber stalls: its queue fills
		frame(false, 10, false)
	}
	if got := tr.pub.s.metrics.DropsQueueFull; testutil.ToFloat64(got) == 0 {
		t.Fatal("no queue-full drops")
	}
	drainAll(downs[1:], s) // it reads again
	frame(false, 10, true) // dropped: no keyframe yet
	frame(true, 10, true)  // resumes here
	frame(false, 10, true)

	fast, slow := ws[0].seqs, ws[1].seqs
	if len(fast) != 140 {
		t.Fatalf("the other subscriber got %d packets, want 140", len(fast))
	}
	for i := 1; i < len(slow); i++ {
		if slow[i] != slow[i-1]+1 {
			t.Fatalf("gap in the slow subscriber's sequence numbers at %d: %d then %d", i, slow[i-1], slow[i])
		}
	}
	// What it got: the first keyframe, whole frames while its queue had
	// room, then the last keyframe and the frame after.
	if len(slow)%10 != 0 || len(slow) < 30 || len(slow) >= 140 {
		t.Fatalf("the slow subscriber got %d packets: not whole frames, or no drop", len(slow))
	}
}

// TestNACKFromSharedBuffer: a NACK is answered from the track's one
// buffer with the original payload under the subscriber's numbers.
func TestNACKFromSharedBuffer(t *testing.T) {
	tr, downs, ws := testTrack(t, 2, sendQueueSize, 0)
	var f forwarder
	s := newSender()
	var work []*sendQueue
	for i := range 20 {
		f.forward(tr, vp8(t, uint16(300+i), uint32(i)*3000, true), time.Now())
	}
	work = drainWorkers(tr, s, work)
	ws[1].keep = true
	if !downs[1].nack(305) {
		t.Fatal("NACK of a sent packet not queued")
	}
	if downs[1].nack(999) {
		t.Fatal("NACK of a packet never sent queued")
	}
	drainWorkers(tr, s, work) // a NACK goes to the subscriber's worker
	w := ws[1]
	if w.last.SequenceNumber != 305 || binary.BigEndian.Uint16(w.payload[2:]) != 305 {
		t.Fatalf("retransmitted seq %d payload %d", w.last.SequenceNumber, binary.BigEndian.Uint16(w.payload[2:]))
	}
	if ws[0].n != 20 {
		t.Fatalf("the other subscriber got %d packets", ws[0].n)
	}
}

// TestInlineNeverWaits: a track that sends to its subscribers itself only
// queues for one whose queue another drainer holds (a worker, another
// track), and that drainer sends it, in order.
func TestInlineNeverWaits(t *testing.T) {
	tr, downs, ws := testTrack(t, 2, sendQueueSize, 16)
	for _, w := range ws {
		w.keep = true
	}
	held := downs[1].q
	if _, schedule := held.push(sendItem{d: downs[1], seq: 0xffff}); !schedule { // a worker holds it
		t.Fatal("an idle queue was not scheduled")
	}
	var f forwarder
	for i := range 5 {
		f.forward(tr, vp8(t, uint16(10+i), uint32(i)*3000, true), time.Now())
	}
	if ws[0].n != 5 || ws[1].n != 0 {
		t.Fatalf("sent inline: %d and %d packets, want 5 and 0", ws[0].n, ws[1].n)
	}
	if held.depth() != 6 {
		t.Fatalf("the held queue has %d packets, want 6", held.depth())
	}
	s := newSender()
	for !s.drain(held, 1) {
	}
	if got := ws[1].seqs; len(got) != 5 || got[0] != 10 || got[4] != 14 {
		t.Fatalf("the held queue's drainer sent %v", got)
	}
	// Idle again: the track sends to it itself.
	f.forward(tr, vp8(t, 15, 5*3000, true), time.Now())
	if ws[1].n != 6 {
		t.Fatalf("after the drain, %d packets, want 6", ws[1].n)
	}
}
