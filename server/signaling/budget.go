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

// LargeFrame is the size over which a frame is large: it is read into a
// frame buffer, and counts against Config.LargeFrameBudget until its last
// write. A frame over maxPooledBuffer counts a mid buffer of this size
// while it is read.
const LargeFrame = 1 << 20

// budget bounds the memory the server holds for frames over
// maxPooledBuffer (64 KiB), from the read of a frame to the last write of
// the message made from it: what is over budget is dropped with an ERROR,
// never waited for.
//
// A reader takes a mid buffer (LargeFrame) from the budget for the head of
// a frame over maxPooledBuffer, and if the frame is LargeFrame or more, a
// frame buffer beside it, which takes the rest once the head is copied in;
// the mid buffer then goes back. Both count while they are held, so the
// budget bounds every buffer that readers hold, however many sockets send
// at once: uncounted, 50 sockets each reading the first MiB of a 20 MiB
// frame held 50 MiB over a 512 MiB budget. A frame the budget cannot pay a
// mid buffer for is dropped like one it cannot pay a frame buffer for: it
// is under LargeFrame, perhaps, but read into anything else it would be
// memory that no bound holds. So a frame under LargeFrame is refused only
// while what is in use fills the whole budget: with a budget of more than a
// few large frames, only in a flood of them. Frames up to maxPooledBuffer,
// nearly every signaling message, never touch the budget.
//
// A room message over LargeFrame lives in one buffer from first to last:
// read into a frame buffer, turned into ROOM_DATA in place
// (protocol.RoomDataInPlace) and shared by every recipient's queue, and
// given back with its last routing.Message reference. A large message the
// server did not read (one a cluster node received from another) is
// counted once, at the first recipient that queues it, until its last
// release.
//
// Mid and frame buffers live outside the Go heap (newBuffer) and are
// reused rather than left to the collector, so that the budget bounds the
// memory they take, not just the memory in use: as garbage they would wait
// for a collection that a heap goal of twice the live heap, live buffers
// included, puts off; in a sync.Pool, uncounted, for two collections. The
// free ones count until they are unmapped: to make room for another
// buffer or a message (reserve), or once the server has had no frame over
// maxPooledBuffer for trimAfter.
type budget struct {
	limit int64
	used  atomic.Int64 // buffers made, in use or free, and counted messages
	held  atomic.Int64 // of used, what is in use

	mu      sync.Mutex
	free    [2][][]byte // buffers not in use, by shelf
	trim    *time.Timer
	stopped bool
}

// midBufferSize is the size of a mid buffer: the head of a frame over
// maxPooledBuffer, up to LargeFrame.
const midBufferSize = LargeFrame

// frameBufferSize is the size of a frame buffer: the largest frame with
// the room protocol.RoomDataInPlace may need before it.
const frameBufferSize = protocol.RoomDataHeadroom + protocol.MaxFrameSize

// shelf is the index in budget.free of the buffers of size: mid buffers
// first, so that dropFree drops the smallest.
func shelf(size int64) int {
	if size == midBufferSize {
		return 0
	}
	return 1
}

// trimAfter is how long free buffers are kept after the last one came
// back.
const trimAfter = 5 * time.Second

// acquire takes n bytes if they fit. used never passes limit, not even
// between a failed acquire's add and its undo, in which a concurrent
// acquire that fits would see no room.
func (b *budget) acquire(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			b.held.Add(n)
			return true
		}
	}
}

func (b *budget) release(n int64) {
	b.held.Add(-n)
	b.used.Add(-n)
}

// reserve takes n bytes, dropping free buffers to make room if it must; it
// reports false if they do not fit even so, and then drops none if what is
// in use leaves no room.
func (b *budget) reserve(n int64) bool {
	for !b.acquire(n) {
		if b.held.Load()+n > b.limit || !b.dropFree() {
			return false
		}
	}
	return true
}

// get lends a buffer of size, midBufferSize or frameBufferSize: a free one,
// else a new one if it fits in the budget.
func (b *budget) get(size int64) ([]byte, bool) {
	b.mu.Lock()
	free := &b.free[shelf(size)]
	if n := len(*free); n > 0 {
		buf := (*free)[n-1]
		(*free)[n-1] = nil
		*free = (*free)[:n-1]
		b.mu.Unlock()
		b.held.Add(size)
		return buf, true
	}
	b.mu.Unlock()
	if !b.reserve(size) {
		return nil, false
	}
	return newBuffer(size), true
}

// put takes back a buffer get lent.
func (b *budget) put(buf []byte) {
	buf = buf[:cap(buf)]
	size := int64(len(buf))
	b.held.Add(-size)
	b.mu.Lock()
	defer b.mu.Unlock()
	free := &b.free[shelf(size)]
	*free = append(*free, buf)
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

// trimFree hands the free buffers' memory back to the system.
func (b *budget) trimFree() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trimLocked()
}

func (b *budget) trimLocked() {
	for i := range b.free {
		free := b.free[i]
		for j, buf := range free {
			freeBuffer(buf)
			b.used.Add(-int64(len(buf)))
			free[j] = nil
		}
		b.free[i] = free[:0]
	}
}

// dropFree drops one free buffer, the smallest, to make room in the
// budget; it reports false if none was free.
func (b *budget) dropFree() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, free := range b.free {
		n := len(free)
		if n == 0 {
			continue
		}
		freeBuffer(free[n-1])
		b.used.Add(-int64(len(free[n-1])))
		free[n-1] = nil
		b.free[i] = free[:n-1]
		return true
	}
	return false
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
	if !b.reserve(n) {
		return false
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
