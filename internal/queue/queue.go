// Package queue provides Queue, the one ordered hand-off of skywasm: values
// pushed from any goroutine are handled one at a time, in order, by a
// goroutine that the queue starts when it has work and that ends when it is
// empty, so an idle owner holds no goroutine. An idle queue keeps at most a
// small array (keptSlots values) for its next burst, so that steady traffic
// allocates nothing.
//
// Its rules, which every user relies on:
//   - The handler is never called with the queue's lock held, so it may push
//     to the same queue, block, or sleep (pacing) without deadlock.
//   - A bound is optional; when the queue is full, Push either refuses the
//     value or drops the oldest, as Config.Full says, and Config.Dropped sees
//     every value that will never be handled.
//   - The owner stops it with Close: pending values go to Dropped, later
//     pushes are refused, and Done is closed once no handler runs any more.
//   - Hold and Release pause and resume handling without losing values (a
//     signaling outbox held until the socket is open); Pop lets an owner
//     take values itself while the queue is held.
//
// It must not know what it carries: no I/O, no logging, no timers of its own.
package queue

import "sync"

// Full says what Push does when the queue holds Config.Limit values.
type Full int

const (
	// Refuse makes Push return false and keep what the queue holds.
	Refuse Full = iota
	// DropOldest makes Push drop the oldest pending value to make room.
	DropOldest
)

// Config shapes a Queue. The zero Config is an unbounded queue.
type Config[T any] struct {
	// Limit is the most values pending at once; 0 means no bound.
	Limit int
	// Full is what a push to a full queue does.
	Full Full
	// Dropped, if set, is called with each value that will never be
	// handled: dropped to make room, or pending at Close. It is called
	// without the queue's lock, on the goroutine that caused the drop.
	Dropped func(T)
}

// Queue is an ordered queue drained by its own goroutine. Create it with New.
type Queue[T any] struct {
	handle func(T)
	cfg    Config[T]
	// drain is q.drainLoop, bound once: a go statement on a bound method
	// value allocates nothing, one on q.drainLoop() a closure each time.
	drain func()

	mu       sync.Mutex
	items    []T // pending values; items[head:] are live
	head     int
	running  bool // a drain goroutine exists
	held     bool
	closed   bool
	finished bool          // closed && !running
	done     chan struct{} // made by Done; closed once finished
}

// keptSlots is the most values an idle queue keeps room for: a queue that
// grew past it during a burst gives its array back once empty.
const keptSlots = 8

// New returns an empty queue whose values are passed to handle.
func New[T any](handle func(T), cfg Config[T]) *Queue[T] {
	q := &Queue[T]{handle: handle, cfg: cfg}
	q.drain = q.drainLoop
	return q
}

// Push adds v. It reports false, and v is not handled, when the queue is
// closed or full under Refuse; Dropped is not called for a refused value.
func (q *Queue[T]) Push(v T) bool {
	var dropped T
	drop := false
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.cfg.Limit > 0 && q.lenLocked() >= q.cfg.Limit {
		if q.cfg.Full == Refuse {
			q.mu.Unlock()
			return false
		}
		dropped, drop = q.popLocked(), true
	}
	q.items = append(q.items, v)
	start := q.startLocked()
	q.mu.Unlock()
	if drop && q.cfg.Dropped != nil {
		q.cfg.Dropped(dropped)
	}
	if start {
		go q.drain()
	}
	return true
}

// Hold stops handling after the value in hand; pushes are kept.
func (q *Queue[T]) Hold() {
	q.mu.Lock()
	q.held = true
	q.mu.Unlock()
}

// Release resumes handling after Hold.
func (q *Queue[T]) Release() {
	q.mu.Lock()
	q.held = false
	start := q.startLocked()
	q.mu.Unlock()
	if start {
		go q.drain()
	}
}

// Pop removes and returns the oldest pending value, for an owner that
// handles values itself while the queue is held; ok is false when none is
// pending.
func (q *Queue[T]) Pop() (v T, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.lenLocked() == 0 {
		return v, false
	}
	v = q.popLocked()
	q.shrinkLocked()
	return v, true
}

// Len returns how many values are pending, not counting one being handled.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lenLocked()
}

// Idle reports whether no value is pending or being handled, so that a
// value the owner handles itself instead of pushing it keeps its order.
func (q *Queue[T]) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.running && q.lenLocked() == 0
}

// Close refuses further pushes and drops what is pending (to Dropped). The
// value being handled, if any, is finished; Done tells when. Close may be
// called more than once and from the handler itself.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	pending := q.items[q.head:]
	q.items, q.head = nil, 0
	if !q.running {
		q.finishLocked()
	}
	q.mu.Unlock()
	if q.cfg.Dropped != nil {
		for _, v := range pending {
			q.cfg.Dropped(v)
		}
	}
}

// Done is closed once the queue is closed and no handler is running. The
// channel is made on the first call, so a queue nobody waits for has none.
func (q *Queue[T]) Done() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done == nil {
		q.done = make(chan struct{})
		if q.finished {
			close(q.done)
		}
	}
	return q.done
}

func (q *Queue[T]) finishLocked() {
	q.finished = true
	if q.done != nil {
		close(q.done)
	}
}

// shrinkLocked lets an empty queue's array go if it is over keptSlots.
func (q *Queue[T]) shrinkLocked() {
	if q.lenLocked() == 0 && cap(q.items) > keptSlots {
		q.items, q.head = nil, 0
	}
}

func (q *Queue[T]) lenLocked() int { return len(q.items) - q.head }

// startLocked claims the drain goroutine if there is work and none runs.
func (q *Queue[T]) startLocked() bool {
	if q.running || q.held || q.closed || q.lenLocked() == 0 {
		return false
	}
	q.running = true
	return true
}

// popLocked removes and returns the oldest value; the queue is not empty.
func (q *Queue[T]) popLocked() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero // let the value go
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head > 32 && q.head*2 > len(q.items):
		// Slide the live part down so a long-lived busy queue does not
		// grow its backing array for ever.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}

func (q *Queue[T]) drainLoop() {
	for {
		q.mu.Lock()
		if q.held || q.closed || q.lenLocked() == 0 {
			q.running = false
			q.shrinkLocked()
			if q.closed {
				q.finishLocked()
			}
			q.mu.Unlock()
			return
		}
		v := q.popLocked()
		q.mu.Unlock()
		q.handle(v)
	}
}
