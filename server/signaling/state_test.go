package signaling

import "testing"

// TestWakeTransitions holds wake to the reader's state machine (see
// stateRunning): it starts a reader only for a parked socket, and tells a
// parking one, whose owner then reads on rather than end.
func TestWakeTransitions(t *testing.T) {
	tests := []struct {
		from, to int32
		started  bool
	}{
		{stateParked, stateRunning, true},
		{stateParking, stateWoken, false},
		{stateRunning, stateRunning, false},
		{stateWoken, stateWoken, false},
		{stateEnded, stateEnded, false},
	}
	names := map[int32]string{stateRunning: "running", stateParking: "parking", stateWoken: "woken", stateParked: "parked", stateEnded: "ended"}
	for _, tt := range tests {
		t.Run(names[tt.from], func(t *testing.T) {
			started := make(chan struct{}, 2)
			s := &session{}
			s.resumeFn = func() { started <- struct{}{} }
			s.state.Store(tt.from)
			s.wake()
			s.wake() // a second wake changes nothing more
			if got := s.state.Load(); got != tt.to {
				t.Fatalf("state %s after wake, want %s", names[got], names[tt.to])
			}
			if tt.started {
				<-started
			}
			select {
			case <-started:
				t.Fatalf("a reader started %s", map[bool]string{true: "twice", false: "for a socket not parked"}[tt.started])
			default:
			}
		})
	}
}
