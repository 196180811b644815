//go:build !js

package sfu

import (
	"sync"

	"github.com/pion/rtp"

	"github.com/skywasm/skywasm/server/metrics"
)

// Fan-out: who writes a packet to its subscribers.
//
// A track with few subscribers writes to them on its own forwarding
// goroutine, as soon as each packet is read: no goroutine is woken, which
// on a loaded machine is what costs latency (every wake-up waits for a
// core). A track with more subscribers than Config.InlineFanOut queues the
// packet for each and hands the queues to the SFU's send workers, one per
// core, each owning a fixed share of the subscribers: a packet wakes at
// most one goroutine per core, and a worker sends what each of its
// subscribers has queued in one batch.
//
// Either way a subscriber's packets pass through its bounded send queue,
// and the queue has one drainer at a time: a track's goroutine that finds
// a subscriber's queue already being drained (by a worker, or by another
// track) only queues, and never waits; when the queue is full the
// down-track drops whole frames. Writing to a subscriber is a UDP send,
// which does not wait for the subscriber; a queue that keeps its inline
// drainer busy beyond inlineBatches is handed to its worker.

const (
	// sendBatch is how many packets a drainer takes from a queue at once.
	sendBatch = 64
	// inlineBatches bounds what a track's goroutine sends from one
	// subscriber's queue (other tracks' packets included) before it
	// hands the rest to the worker.
	inlineBatches = 2
)

// sender is the scratch of one goroutine that drains send queues: the RTP
// header each packet is rewritten in, the batch, and counts not yet
// added to the metrics.
type sender struct {
	h     rtp.Header
	batch []sendItem
	sent  int
	rtx   int
}

func newSender() *sender { return &sender{batch: make([]sendItem, 0, sendBatch)} }

// drain sends up to batches batches from q, which the caller drains. It
// reports whether q is now empty and no longer scheduled; if not, the
// caller still holds q and must drain it again or hand it to q.w.
func (s *sender) drain(q *sendQueue, batches int) bool {
	for range batches {
		s.batch = q.take(s.batch[:0])
		if len(s.batch) == 0 {
			return true
		}
		for i := range s.batch {
			it := &s.batch[i]
			switch {
			case !it.d.send(&s.h, it):
			case it.rtx:
				s.rtx++
			default:
				s.sent++
			}
			s.batch[i] = sendItem{}
		}
	}
	return false
}

// flush adds the counts to m.
func (s *sender) flush(m *metrics.SFU) {
	if s.sent > 0 {
		m.PacketsSent.Add(float64(s.sent))
	}
	if s.rtx > 0 {
		m.Retransmissions.Add(float64(s.rtx))
	}
	s.sent, s.rtx = 0, 0
}

// sendWorker drains the send queues handed to it, on one goroutine. Each
// subscriber's queue belongs to one worker for the subscriber's life.
type sendWorker struct {
	i     int // its index in SFU.workers
	mu    sync.Mutex
	ready []*sendQueue  // scheduled queues handed to it
	wake  chan struct{} // one token: ready is not empty
}

func newSendWorker(i int) *sendWorker {
	return &sendWorker{i: i, wake: make(chan struct{}, 1)}
}

// add hands scheduled queues to w. It never blocks.
func (w *sendWorker) add(qs ...*sendQueue) {
	w.mu.Lock()
	w.ready = append(w.ready, qs...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run drains the queues handed to w until stop is closed. Each pass over
// them holds out, so that what the pass sends leaves in batches.
func (w *sendWorker) run(stop <-chan struct{}, out *batchConn, m *metrics.SFU) {
	s := newSender()
	var work []*sendQueue
	for {
		select {
		case <-stop:
			return
		case <-w.wake:
		}
		for {
			out.hold()
			work = w.drainReady(s, work)
			out.release()
			if len(work) == 0 {
				break
			}
			s.flush(m)
		}
	}
}

// drainReady sends one batch from every queue handed to w so far, and
// hands back to w those that hold more, so that no subscriber waits for
// another's backlog. work is scratch; drainReady returns it, empty if
// there was nothing to do.
func (w *sendWorker) drainReady(s *sender, work []*sendQueue) []*sendQueue {
	w.mu.Lock()
	work, w.ready = w.ready, work[:0]
	w.mu.Unlock()
	for i, q := range work {
		if !s.drain(q, 1) {
			w.mu.Lock()
			w.ready = append(w.ready, q)
			w.mu.Unlock()
		}
		work[i] = nil
	}
	return work
}
