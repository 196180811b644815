package sdk

import "sync"

// queue runs functions one at a time in the order they were posted, on a
// goroutine that exists only while the queue is not empty, so an idle object
// holds no goroutine. A held queue keeps what is posted until release.
type queue struct {
	mu      sync.Mutex
	funcs   []func()
	running bool
	held    bool
}

// post adds f to the queue.
func (q *queue) post(f func()) {
	q.mu.Lock()
	q.funcs = append(q.funcs, f)
	start := !q.running && !q.held
	q.running = q.running || start
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

// hold makes the queue keep what is posted until release.
func (q *queue) hold() {
	q.mu.Lock()
	q.held = true
	q.mu.Unlock()
}

// release lets a held queue run.
func (q *queue) release() {
	q.mu.Lock()
	q.held = false
	start := !q.running && len(q.funcs) > 0
	q.running = q.running || start
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

func (q *queue) run() {
	for {
		q.mu.Lock()
		if len(q.funcs) == 0 || q.held {
			q.running = false
			if len(q.funcs) == 0 {
				q.funcs = nil // let the backing array go
			}
			q.mu.Unlock()
			return
		}
		f := q.funcs[0]
		q.funcs[0] = nil
		q.funcs = q.funcs[1:]
		q.mu.Unlock()
		f()
	}
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

// emit posts the delivery of v to h's handler on q; the handler is looked up
// when the event is delivered, not when it is posted.
func emit[T any](q *queue, h *handler[T], v T) {
	q.post(func() {
		if f := h.get(); f != nil {
			f(v)
		}
	})
}
