package signaling

// HoldLargeBudget takes n bytes of the large-frame budget, as frames of
// other sockets would, until release is called.
func (s *Server) HoldLargeBudget(n int64) (release func()) {
	if !s.large.acquire(n) {
		panic("HoldLargeBudget: more than the budget")
	}
	return func() { s.large.release(n) }
}

// LargeInFlight is the large-frame budget in use: frames being read,
// messages queued or kept; not free frame buffers.
func (s *Server) LargeInFlight() int64 { return s.large.held.Load() }

// LargeUsed is the large-frame budget counted: what is in use, and free
// buffers.
func (s *Server) LargeUsed() int64 { return s.large.used.Load() }

// LargeFree is the memory of free frame buffers.
func (s *Server) LargeFree() int64 { return s.large.used.Load() - s.large.held.Load() }

// TrimLargeBuffers frees the free frame buffers now, as trimAfter does.
func (s *Server) TrimLargeBuffers() { s.large.trimFree() }

// FrameBufferSize is the size of a frame buffer, what a large frame read
// takes of the budget.
const FrameBufferSize = frameBufferSize

// RaceEnabled says whether the tests run under -race.
const RaceEnabled = raceEnabled

// Parked is the number of open sockets parked with the poller: no
// goroutine reads them.
func (s *Server) Parked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sess := range s.sessions {
		if sess.state.Load() == stateParked {
			n++
		}
	}
	return n
}

// States is the reader states of the open sockets, for a failure to tell.
func (s *Server) States() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int32
	for sess := range s.sessions {
		out = append(out, sess.state.Load())
	}
	return out
}
