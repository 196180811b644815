package wheel_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/internal/wheel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const tick = 10 * time.Millisecond

func TestFiresWithinATick(t *testing.T) {
	t.Parallel()
	w := wheel.New(tick, 8) // 80 ms a turn: the longer delays take turns
	tests := []struct {
		name string
		d    time.Duration
	}{
		{"zero", 0},
		{"under a tick", 3 * time.Millisecond},
		{"one tick", tick},
		{"several ticks", 55 * time.Millisecond},
		{"one turn", 80 * time.Millisecond},
		{"several turns", 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			fired := make(chan time.Duration, 1)
			w.AfterFunc(tt.d, func() { fired <- time.Since(start) })
			select {
			case got := <-fired:
				if got < tt.d {
					t.Fatalf("fired after %v, before its %v", got, tt.d)
				}
				// A tick, plus slack for a loaded machine.
				if got > tt.d+tick+100*time.Millisecond {
					t.Fatalf("fired after %v, want at most %v", got, tt.d+tick)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("never fired")
			}
		})
	}
}

func TestStopAndReset(t *testing.T) {
	t.Parallel()
	w := wheel.New(tick, 16)
	var fired atomic.Int32
	a := w.AfterFunc(30*time.Millisecond, func() { fired.Add(1) })
	if !a.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if a.Stop() {
		t.Fatal("second Stop reported true")
	}
	time.Sleep(80 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("stopped timer fired")
	}
	// Reset after Stop schedules it again, once.
	if a.Reset(20 * time.Millisecond) {
		t.Fatal("Reset of a stopped timer reported it pending")
	}
	deadline := time.Now().Add(5 * time.Second)
	for fired.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(tick)
	}
	time.Sleep(80 * time.Millisecond)
	if n := fired.Load(); n != 1 {
		t.Fatalf("fired %d times, want 1", n)
	}
}

// TestRescheduleFromCallback is how a periodic check uses the wheel: the
// callback resets its own timer.
func TestRescheduleFromCallback(t *testing.T) {
	t.Parallel()
	w := wheel.New(tick, 4)
	var (
		mu    sync.Mutex
		n     int
		timer *wheel.Timer
		done  = make(chan struct{})
	)
	mu.Lock()
	timer = w.AfterFunc(tick, func() {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 5 {
			close(done)
			return
		}
		timer.Reset(tick)
	})
	mu.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the periodic timer stopped")
	}
}

// TestManyTimers stops half of many timers, in every order of slots, and
// checks that exactly the others fire: removal swaps within a slot.
func TestManyTimers(t *testing.T) {
	t.Parallel()
	w := wheel.New(tick, 8)
	const n = 2000
	var fired [n]atomic.Int32
	timers := make([]*wheel.Timer, n)
	for i := range timers {
		timers[i] = w.AfterFunc(time.Duration(10+i%20)*tick, func() { fired[i].Add(1) })
		if i%2 == 0 && !timers[i].Stop() {
			t.Fatalf("timer %d not pending 100 ms before its time", i)
		}
	}
	time.Sleep(30*tick + 300*time.Millisecond)
	for i := range fired {
		want := int32(i % 2)
		if got := fired[i].Load(); got != want {
			t.Fatalf("timer %d fired %d times, want %d", i, got, want)
		}
	}
}

// TestIdleWheelHoldsNoGoroutine relies on goleak in TestMain too.
func TestIdleWheelHoldsNoGoroutine(t *testing.T) {
	w := wheel.New(tick, 4)
	done := make(chan struct{})
	w.AfterFunc(tick, func() { close(done) })
	<-done
	// The goroutine ends at the tick after its last timer.
	var err error
	for range 100 {
		if err = goleak.Find(); err == nil {
			return
		}
		time.Sleep(tick)
	}
	t.Fatal(err)
}

func BenchmarkReset(b *testing.B) {
	w := wheel.New(time.Second, 64)
	timer := w.AfterFunc(time.Minute, func() {})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		timer.Reset(time.Duration(i%60) * time.Second)
	}
	timer.Stop()
}
