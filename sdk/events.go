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

// latch holds the handler of an event that fires once per object, or once
// per explicit restart of it, such as open. In JavaScript a handler set right
// after the object is made is always in place before its first event; in Go
// the event can come first, so one that finds no handler is kept and
// delivered, on the same queue, when a handler is set, unless the caller saw
// it otherwise (seen: Peer.WaitOpen). Each firing has a number, counted by
// the object, so that seeing one says nothing of the next.
type latch[T any] struct {
	mu     sync.Mutex
	f      func(T)
	missed bool   // fired with no handler, and not yet delivered
	v      T      // what missed keeps
	gen    uint64 // of what missed keeps
	seenTo uint64 // the last firing the caller saw otherwise
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

// seen says the caller knows of firing gen and those before it: they are
// neither kept nor delivered.
func (l *latch[T]) seen(gen uint64) {
	l.mu.Lock()
	l.seenTo = max(l.seenTo, gen)
	if l.missed && l.gen <= l.seenTo {
		l.missed = false
	}
	l.mu.Unlock()
}

// fire queues the delivery of firing gen, v, on q, or keeps it for set.
func (l *latch[T]) fire(q *serial, gen uint64, v T) {
	q.Push(func() {
		l.mu.Lock()
		f := l.f
		switch {
		case gen <= l.seenTo:
			f = nil
		case f == nil:
			l.missed, l.v, l.gen = true, v, gen
		}
		l.mu.Unlock()
		if f != nil {
			f(v)
		}
	})
}
