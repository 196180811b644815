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
