package signaling

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// LargeFrame is the size over which a frame counts against
// Config.LargeFrameBudget, read or queued.
const LargeFrame = 1 << 20

// budget bounds the bytes of large frames in flight on a whole server: read
// from a sender, or queued for a recipient (a room message queued for ten
// members counts ten times, which overstates and so keeps the bound). It
// never blocks: a frame over budget is dropped with an ERROR.
type budget struct {
	limit int64
	used  atomic.Int64
}

// acquire takes n bytes if they fit.
func (b *budget) acquire(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) release(n int64) { b.used.Add(-n) }

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
