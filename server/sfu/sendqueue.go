//go:build !js

package sfu

import (
	"sync"
	"sync/atomic"
)

// sendItem is one packet waiting in a subscriber's send queue: where the
// shared buffer of the track holds it, and the sequence number it goes
// out with.
type sendItem struct {
	d    *downTrack
	slot int32
	seq  uint16 // the publisher's
	out  uint16 // the subscriber's
	rtx  bool   // a retransmission asked for by a NACK
}

// sendQueue is the bounded queue of one subscriber's packets, from every
// track it receives. push never blocks: it refuses when the queue is
// full, and the down-track decides what to drop (whole frames).
//
// The queue has at most one drainer at a time, so that a subscriber's
// packets leave in the order they were queued. The push that finds the
// queue idle schedules it, and its caller then drains it: on its own
// goroutine (a track with few subscribers, a NACK) or by handing it to
// the worker that owns the subscriber. The drainer keeps it scheduled
// until a take finds it empty.
type sendQueue struct {
	w *sendWorker // drains it when the pusher does not

	// overflowed: a frame was dropped for want of room since the shedder
	// last looked; shed: the subscriber's video is shed (shed.go).
	overflowed, shed atomic.Bool

	mu        sync.Mutex
	ring      []sendItem
	head      int
	count     int
	scheduled bool // a drainer has it
	closed    bool
}

func newSendQueue(size int, w *sendWorker) *sendQueue {
	return &sendQueue{ring: make([]sendItem, size), w: w}
}

// push appends it. ok is false if the queue is full or closed; schedule
// is true if the queue was idle: the caller must then drain it or hand it
// to q.w.
func (q *sendQueue) push(it sendItem) (ok, schedule bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.count == len(q.ring) {
		return false, false
	}
	q.ring[(q.head+q.count)%len(q.ring)] = it
	q.count++
	schedule = !q.scheduled
	q.scheduled = true
	return true, schedule
}

// free returns how many more items push would take now.
func (q *sendQueue) free() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ring) - q.count
}

// depth returns how many items wait.
func (q *sendQueue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

// take moves up to cap(dst)-len(dst) items into dst. Only the drainer
// calls it; when it takes nothing (the queue is empty or closed), the
// queue is no longer scheduled and the caller must not touch it again.
func (q *sendQueue) take(dst []sendItem) []sendItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.scheduled = false
		return dst
	}
	n := len(dst)
	for q.count > 0 && len(dst) < cap(dst) {
		dst = append(dst, q.ring[q.head])
		q.ring[q.head] = sendItem{}
		q.head = (q.head + 1) % len(q.ring)
		q.count--
	}
	if len(dst) == n {
		q.scheduled = false
	}
	return dst
}

// close empties the queue and makes push refuse.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	clear(q.ring)
	q.count = 0
	q.mu.Unlock()
}
