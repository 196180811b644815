package sdk

import (
	"sync"

	"github.com/skywasm/skywasm/internal/queue"
)

// serial runs functions one at a time in the order they were pushed: an
// object's events, or a connection's negotiation steps. Being an
// internal/queue, it has a goroutine only while it is not empty, so an idle
// object holds none, and it never runs a function under its lock. A held
// one keeps what is pushed until Release. It is unbounded: an event is
// never dropped, and what fills it is bounded where it comes from (the
// Peer's connections, a connection's messages).
type serial = queue.Queue[func()]

func newSerial() *serial {
	return queue.New(func(f func()) { f() }, queue.Config[func()]{})
}

// handler holds an event handler that may be replaced at any time.
type handler[T any] struct {
	mu sync.Mutex
	f  func(T)
}

func (h *handler[T]) set(f func(T)) {
	h.mu.Lock()
	h.f = f
	h.mu.Unlock()
}

func (h *handler[T]) get() func(T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.f
}

// emit queues the delivery of v to h's handler on q; the handler is looked
// up when the event is delivered, not when it is queued.
func emit[T any](q *serial, h *handler[T], v T) {
	q.Push(func() {
		if f := h.get(); f != nil {
			f(v)
		}
	})
}

// latch holds the handler of an event that fires once per object, such as
// open. In JavaScript a handler set right after the object is made is always
// in place before its first event; in Go the event can come first, so one
// that finds no handler is kept and delivered, on the same queue, when a
// handler is set.
type latch[T any] struct {
	mu     sync.Mutex
	f      func(T)
	missed bool // fired with no handler, and not yet delivered
	v      T
}

// set sets the handler, and delivers a missed event to it.
func (l *latch[T]) set(q *serial, f func(T)) {
	l.mu.Lock()
	l.f = f
	l.mu.Unlock()
	q.Push(func() {
		l.mu.Lock()
		missed, v := l.missed, l.v
		l.missed = false
		l.mu.Unlock()
		if missed {
			f(v)
		}
	})
}

// fire queues the delivery of v on q, or keeps v for set.
func (l *latch[T]) fire(q *serial, v T) {
	q.Push(func() {
		l.mu.Lock()
		f := l.f
		if f == nil {
			l.missed, l.v = true, v
		}
		l.mu.Unlock()
		if f != nil {
			f(v)
		}
	})
}
