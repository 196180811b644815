// Package wheel provides Wheel, a hashed timer wheel: many coarse timers
// served by one goroutine and one ticker, for deadlines that are checked by
// the thousand (a server's idle sockets) and need not be exact.
//
// Its rules, which every user relies on:
//   - A timer fires no earlier than its delay and less than a tick after,
//     plus however late the wheel's goroutine is woken.
//   - Callbacks run one at a time on the wheel's goroutine, without the
//     wheel's lock: they may Reset or Stop any timer, their own included,
//     but must not block, since every other timer waits for them.
//   - The goroutine exists only while a timer is scheduled: it ends as the
//     last one fires or is stopped, so a Wheel needs no Close.
//
// It must not know what its callbacks do: no I/O, no logging.
package wheel

import (
	"sync"
	"time"
)

// Wheel schedules Timers at a granularity of one tick. Create it with New.
//
// Time is counted in ticks since the wheel was made, from the monotonic
// clock, not in ticker fires: a goroutine woken late (a loaded machine, a
// ticker that dropped ticks) catches up on every tick it missed, so that
// no timer is late by more than the delay of its wake-up, nor ever early.
type Wheel struct {
	tick  time.Duration
	epoch time.Time

	mu      sync.Mutex
	slots   [][]*Timer
	done    int64 // the last tick whose timers have been fired
	count   int   // timers scheduled
	running bool
	firing  []*Timer      // the wheel goroutine's buffer of due timers
	idle    chan struct{} // wakes the goroutine to end when the last timer is stopped
}

// Timer is one callback scheduled on a Wheel.
type Timer struct {
	w    *Wheel
	f    func()
	at   int64 // the tick it fires at
	slot int   // -1 while not scheduled
	idx  int   // index in its slot
}

// New returns a wheel of slots slots of tick each; a delay longer than one
// turn (tick×slots) costs a look per turn while it waits.
func New(tick time.Duration, slots int) *Wheel {
	if tick <= 0 || slots <= 0 {
		panic("wheel: tick and slots must be positive")
	}
	return &Wheel{tick: tick, epoch: time.Now(), slots: make([][]*Timer, slots), idle: make(chan struct{}, 1)}
}

// Tick returns the wheel's granularity.
func (w *Wheel) Tick() time.Duration { return w.tick }

// AfterFunc schedules f to run on the wheel's goroutine after d.
func (w *Wheel) AfterFunc(d time.Duration, f func()) *Timer {
	t := &Timer{w: w, f: f, slot: -1}
	t.Reset(d)
	return t
}

// Reset reschedules t to fire after d, whether it had fired, was stopped or
// was pending, and reports whether it was pending.
func (t *Timer) Reset(d time.Duration) bool {
	w := t.w
	// The first tick that ends at or after now+d: never early, and less
	// than a tick late.
	at := int64((time.Since(w.epoch) + max(0, d) + w.tick - 1) / w.tick)
	w.mu.Lock()
	pending := w.removeLocked(t)
	t.at = max(at, w.done+1)
	slot := int(t.at % int64(len(w.slots)))
	t.slot, t.idx = slot, len(w.slots[slot])
	w.slots[slot] = append(w.slots[slot], t)
	w.count++
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run()
	}
	return pending
}

// Stop cancels t and reports whether it was pending. A callback already
// taken off the wheel to run is not stopped.
func (t *Timer) Stop() bool {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	return t.w.removeLocked(t)
}

func (w *Wheel) removeLocked(t *Timer) bool {
	if t.slot < 0 {
		return false
	}
	s := w.slots[t.slot]
	last := len(s) - 1
	s[t.idx] = s[last]
	s[t.idx].idx = t.idx
	s[last] = nil
	w.slots[t.slot] = s[:last]
	t.slot = -1
	if w.count--; w.count == 0 && w.running {
		select {
		case w.idle <- struct{}{}:
		default:
		}
	}
	return true
}

// run turns the wheel until no timer is left.
func (w *Wheel) run() {
	ticker := time.NewTicker(w.tick)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-w.idle:
			w.mu.Lock()
			if w.count == 0 {
				w.running = false
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			continue
		}
		now := int64(time.Since(w.epoch) / w.tick)
		w.mu.Lock()
		due := w.firing[:0]
		// Every tick since the last fired, but no slot twice: one turn
		// sees every timer.
		for k := max(w.done+1, now-int64(len(w.slots))+1); k <= now; k++ {
			slot := int(k % int64(len(w.slots)))
			for i := 0; i < len(w.slots[slot]); {
				t := w.slots[slot][i]
				if t.at > now {
					i++
					continue
				}
				w.removeLocked(t) // moves the slot's last timer into i
				due = append(due, t)
			}
		}
		w.done = max(w.done, now)
		w.mu.Unlock()
		for i, t := range due {
			t.f()
			due[i] = nil
		}
		w.mu.Lock()
		w.firing = due[:0]
		if w.count == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}
