package signaling

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// LargeFrame is the size over which a frame counts against
// Config.LargeFrameBudget, read or queued.
const LargeFrame = 1 << 20

// budget bounds the memory of large frames (over LargeFrame) on a whole
// server, from the read of a frame to the last write of the message made
// from it: what is over budget is dropped with an ERROR, never waited for.
//
// A room message over LargeFrame lives in one buffer from first to last:
// read into a frame buffer lent by the budget, turned into ROOM_DATA in
// place (protocol.RoomDataInPlace) and shared by every recipient's queue,
// and given back with its last routing.Message reference. A large message
// the server did not read (one a cluster node received from another) is
// counted once, at the first recipient that queues it, until its last
// release.
//
// Frame buffers live outside the Go heap (newFrameBuffer) and are reused
// rather than left to the collector, so that the budget bounds the memory
// they take, not just the memory in use: as garbage they would wait for a
// collection that a heap goal of twice the live heap, live buffers
// included, puts off. Free ones are unmapped once the server has had no
// large frame for trimAfter.
type budget struct {
	limit int64
	used  atomic.Int64 // frame buffers made, in use or free, and counted messages
	held  atomic.Int64 // of used, what is in use

	mu      sync.Mutex
	free    [][]byte // frame buffers not in use
	trim    *time.Timer
	stopped bool
}

// frameBufferSize is the size of a frame buffer: the largest frame with
// the room protocol.RoomDataInPlace may need before it.
const frameBufferSize = protocol.RoomDataHeadroom + protocol.MaxFrameSize

// trimAfter is how long free frame buffers are kept after the last one
// came back.
const trimAfter = 5 * time.Second

// acquire takes n bytes if they fit.
func (b *budget) acquire(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	b.held.Add(n)
	return true
}

func (b *budget) release(n int64) {
	b.held.Add(-n)
	b.used.Add(-n)
}

// get lends a frame buffer, if one is free or fits in the budget.
func (b *budget) get() ([]byte, bool) {
	b.mu.Lock()
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free[n-1] = nil
		b.free = b.free[:n-1]
		b.mu.Unlock()
		b.held.Add(frameBufferSize)
		return buf, true
	}
	b.mu.Unlock()
	if !b.acquire(frameBufferSize) {
		return nil, false
	}
	return newFrameBuffer(), true
}

// put takes back a frame buffer.
func (b *budget) put(buf []byte) {
	b.held.Add(-frameBufferSize)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free = append(b.free, buf[:cap(buf)])
	if b.stopped {
		b.trimLocked()
		return
	}
	if b.trim == nil {
		b.trim = time.AfterFunc(trimAfter, b.trimFree)
	} else {
		b.trim.Reset(trimAfter)
	}
}

// trimFree hands the free frame buffers' memory back to the system.
func (b *budget) trimFree() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trimLocked()
}

func (b *budget) trimLocked() {
	for i, buf := range b.free {
		freeFrameBuffer(buf)
		b.free[i] = nil
	}
	b.used.Add(-int64(len(b.free)) * frameBufferSize)
	b.free = b.free[:0]
}

// dropFree drops one free frame buffer, to make room in the budget for a
// message the server did not read; it reports false if none was free.
func (b *budget) dropFree() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.free)
	if n == 0 {
		return false
	}
	freeFrameBuffer(b.free[n-1])
	b.free[n-1] = nil
	b.free = b.free[:n-1]
	b.used.Add(-frameBufferSize)
	return true
}

// stop ends the trim timer and frees the free buffers, for a server that
// has shut down; a buffer that comes back later is freed at once.
func (b *budget) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	if b.trim != nil {
		b.trim.Stop()
	}
	b.trimLocked()
}

// count counts a large message against the budget until its last release,
// unless a lender (this budget, for a frame it read) counts it already. It
// reports false if the message does not fit.
func (b *budget) count(m *routing.Message) bool {
	if m.Lent() {
		return true
	}
	n := int64(len(m.Data))
	for !b.acquire(n) {
		if !b.dropFree() {
			return false
		}
	}
	if !m.Lend(b, nil, n) { // counted by another recipient meanwhile
		b.release(n)
	}
	return true
}

// Return implements routing.Lender.
func (b *budget) Return(buf []byte, n int64) {
	if buf != nil {
		b.put(buf)
		return
	}
	b.release(n)
}

// DefaultLargeFrameBudget is a quarter of the memory the process may use
// (its cgroup's limit, else the machine's), at least 64 MiB; 1 GiB where
// neither can be read.
var DefaultLargeFrameBudget = sync.OnceValue(func() int64 {
	mem := machineMemory()
	if mem <= 0 {
		return 1 << 30
	}
	return max(64<<20, mem/4)
})

// machineMemory is the cgroup v2 memory limit or MemTotal, in bytes; 0 if
// neither is known.
func machineMemory() int64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			n, _ := strconv.ParseInt(kb, 10, 64)
			return n << 10
		}
	}
	return 0
}
