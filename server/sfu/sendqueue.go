//go:build !js

package sfu

import "sync"

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

// sendQueue is the bounded queue between the forwarding loops of the
// tracks a subscriber receives and the subscriber's send loop. push never
// blocks: it refuses when the queue is full, and the down-track decides
// what to drop (whole frames). One goroutine takes, in batches.
type sendQueue struct {
	mu     sync.Mutex
	ring   []sendItem
	head   int
	count  int
	closed bool
	wake   chan struct{} // one token: the queue went from empty to not empty, or closed
}

func newSendQueue(size int) *sendQueue {
	return &sendQueue{ring: make([]sendItem, size), wake: make(chan struct{}, 1)}
}

// push appends it, reporting false if the queue is full or closed.
func (q *sendQueue) push(it sendItem) bool {
	q.mu.Lock()
	if q.closed || q.count == len(q.ring) {
		q.mu.Unlock()
		return false
	}
	q.ring[(q.head+q.count)%len(q.ring)] = it
	q.count++
	first := q.count == 1
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
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

// take moves up to cap(dst)-len(dst) items into dst, waiting while the
// queue is empty; it returns false once the queue is closed.
func (q *sendQueue) take(dst []sendItem) ([]sendItem, bool) {
	for {
		n := len(dst)
		var ok bool
		if dst, ok = q.tryTake(dst); !ok || len(dst) > n {
			return dst, ok
		}
		<-q.wake
	}
}

// tryTake is take without the wait.
func (q *sendQueue) tryTake(dst []sendItem) ([]sendItem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return dst, false
	}
	for q.count > 0 && len(dst) < cap(dst) {
		dst = append(dst, q.ring[q.head])
		q.ring[q.head] = sendItem{}
		q.head = (q.head + 1) % len(q.ring)
		q.count--
	}
	return dst, true
}

// close makes take return false and push refuse.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	clear(q.ring)
	q.count = 0
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
