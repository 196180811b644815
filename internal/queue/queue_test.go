package queue

import (
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collector gathers handled values for a test.
type collector struct {
	mu  sync.Mutex
	got []int
	ch  chan int
}

func newCollector() *collector { return &collector{ch: make(chan int, 1024)} }

func (c *collector) handle(v int) {
	c.mu.Lock()
	c.got = append(c.got, v)
	c.mu.Unlock()
	c.ch <- v
}

func (c *collector) wait(t *testing.T, n int) []int {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("handled %d of %d values", i, n)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func waitDone[T any](t *testing.T, q *Queue[T]) {
	t.Helper()
	select {
	case <-q.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("queue not done after Close")
	}
}

func TestOrder(t *testing.T) {
	t.Parallel()
	c := newCollector()
	q := New(c.handle, Config[int]{})
	for i := range 1000 {
		if !q.Push(i) {
			t.Fatalf("push %d refused", i)
		}
	}
	got := c.wait(t, 1000)
	for i, v := range got {
		if v != i {
			t.Fatalf("value %d handled at position %d", v, i)
		}
	}
	q.Close()
	waitDone(t, q)
}

func TestPushersFromManyGoroutinesKeepEachOnesOrder(t *testing.T) {
	t.Parallel()
	c := newCollector()
	q := New(c.handle, Config[int]{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				q.Push(g*1000 + i)
			}
		}()
	}
	wg.Wait()
	got := c.wait(t, 800)
	last := map[int]int{0: -1, 1: -1, 2: -1, 3: -1}
	for _, v := range got {
		g, i := v/1000, v%1000
		if i <= last[g] {
			t.Fatalf("goroutine %d: %d handled after %d", g, i, last[g])
		}
		last[g] = i
	}
	q.Close()
	waitDone(t, q)
}

func TestBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		full    Full
		want    []int
		dropped []int
		refused []int
	}{
		{"refuse keeps the oldest", Refuse, []int{0, 1, 2}, nil, []int{3, 4}},
		{"drop oldest keeps the newest", DropOldest, []int{2, 3, 4}, []int{0, 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var dropped []int
			c := newCollector()
			q := New(c.handle, Config[int]{Limit: 3, Full: tc.full, Dropped: func(v int) { dropped = append(dropped, v) }})
			q.Hold()
			var refused []int
			for i := range 5 {
				if !q.Push(i) {
					refused = append(refused, i)
				}
			}
			if q.Len() != 3 {
				t.Fatalf("Len = %d, want 3", q.Len())
			}
			q.Release()
			if got := c.wait(t, 3); !slices.Equal(got, tc.want) {
				t.Errorf("handled %v, want %v", got, tc.want)
			}
			if !slices.Equal(dropped, tc.dropped) || !slices.Equal(refused, tc.refused) {
				t.Errorf("dropped %v refused %v, want %v and %v", dropped, refused, tc.dropped, tc.refused)
			}
			q.Close()
			waitDone(t, q)
		})
	}
}

func TestHoldKeepsValuesUntilRelease(t *testing.T) {
	t.Parallel()
	c := newCollector()
	q := New(c.handle, Config[int]{})
	q.Hold()
	q.Push(1)
	q.Push(2)
	select {
	case v := <-c.ch:
		t.Fatalf("handled %d while held", v)
	case <-time.After(50 * time.Millisecond):
	}
	q.Release()
	if got := c.wait(t, 2); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("handled %v", got)
	}
	q.Close()
	waitDone(t, q)
}

func TestCloseDropsPendingAndWaitsForTheHandler(t *testing.T) {
	t.Parallel()
	entered, leave := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var dropped []int
	q := New(func(v int) {
		if v == 0 {
			close(entered)
			<-leave
		}
	}, Config[int]{Dropped: func(v int) { mu.Lock(); dropped = append(dropped, v); mu.Unlock() }})
	q.Push(0)
	<-entered
	q.Push(1)
	q.Push(2)
	q.Close()
	if q.Push(3) {
		t.Error("push after Close accepted")
	}
	select {
	case <-q.Done():
		t.Fatal("Done before the running handler returned")
	case <-time.After(20 * time.Millisecond):
	}
	close(leave)
	waitDone(t, q)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(dropped, []int{1, 2}) {
		t.Errorf("dropped %v, want [1 2]", dropped)
	}
}

func TestHandlerMayPushAndClose(t *testing.T) {
	t.Parallel()
	c := newCollector()
	var q *Queue[int]
	q = New(func(v int) {
		c.handle(v)
		switch {
		case v < 3:
			q.Push(v + 1) // never under the lock, so no deadlock
		default:
			q.Close()
		}
	}, Config[int]{})
	q.Push(0)
	if got := c.wait(t, 4); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("handled %v", got)
	}
	waitDone(t, q)
}

func TestIdleQueueHoldsNoGoroutine(t *testing.T) {
	// goleak's check at the end of the run is the assertion: a queue that
	// is never closed leaves nothing behind once it is empty.
	c := newCollector()
	q := New(c.handle, Config[int]{})
	q.Push(1)
	c.wait(t, 1)
	deadline := time.Now().Add(time.Second)
	for {
		q.mu.Lock()
		running := q.running
		q.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("drain goroutine still running on an empty queue")
		}
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkPush(b *testing.B) {
	done := make(chan struct{})
	n := 0
	q := New(func(int) {
		n++
		if n == b.N {
			close(done)
		}
	}, Config[int]{})
	b.ReportAllocs()
	for i := range b.N {
		q.Push(i)
	}
	<-done
	q.Close()
}

func TestPopTakesValuesWhileHeld(t *testing.T) {
	c := newCollector()
	q := New(c.handle, Config[int]{})
	q.Hold()
	for i := range 3 {
		q.Push(i)
	}
	for want := range 3 {
		if v, ok := q.Pop(); !ok || v != want {
			t.Fatalf("Pop = %d, %v; want %d, true", v, ok, want)
		}
	}
	if v, ok := q.Pop(); ok {
		t.Fatalf("Pop on an empty queue = %d, true", v)
	}
	q.Close()
	<-q.Done()
}

// TestPushAllocatesNothing: a queue that empties between values, as a
// signaling socket's does, reuses its array and its drain function.
func TestPushAllocatesNothing(t *testing.T) {
	handled := make(chan int)
	q := New(func(v int) { handled <- v }, Config[int]{})
	defer func() { q.Close(); <-q.Done() }()
	q.Push(0)
	<-handled
	allocs := testing.AllocsPerRun(1000, func() {
		q.Push(1)
		<-handled
	})
	if allocs != 0 {
		t.Fatalf("a push to an idle queue allocated %v times, want 0", allocs)
	}
}

// TestIdle checks that Idle is false while a value is pending or in the
// handler, so that an owner bypassing the queue cannot overtake it.
func TestIdle(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	q := New(func(int) {
		entered <- struct{}{}
		<-release
	}, Config[int]{})
	if !q.Idle() {
		t.Fatal("a new queue is not idle")
	}
	q.Hold()
	q.Push(1)
	if q.Idle() {
		t.Fatal("idle with a value pending")
	}
	q.Release()
	<-entered
	if q.Idle() {
		t.Fatal("idle with a value in the handler")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for !q.Idle() {
		if time.Now().After(deadline) {
			t.Fatal("not idle after the handler returned")
		}
		time.Sleep(time.Millisecond)
	}
	q.Close()
	waitDone(t, q)
}
