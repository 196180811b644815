//go:build unix

package signaling

import "syscall"

// newBuffer maps a buffer of the budget (a mid or frame buffer) outside
// the Go heap: the collector's goal (twice the live heap) would otherwise
// grow with the budget's buffers, and let garbage as large as the budget
// wait beside them. Unmapped, its memory goes back to the system at once.
// Nothing but bytes may be kept in it.
func newBuffer(size int64) []byte {
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, size)
	}
	return b
}

// freeBuffer unmaps a buffer newBuffer made. Nothing may read or write b
// after.
func freeBuffer(b []byte) {
	_ = syscall.Munmap(b) // EINVAL for a buffer from make, which the collector frees
}
