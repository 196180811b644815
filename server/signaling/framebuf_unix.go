//go:build unix

package signaling

import "syscall"

// newFrameBuffer maps a frame buffer outside the Go heap: the collector's
// goal (twice the live heap) would otherwise grow with the budget's
// buffers, and let garbage as large as the budget wait beside them.
// Unmapped, its memory goes back to the system at once. Nothing but bytes
// may be kept in it.
func newFrameBuffer() []byte {
	b, err := syscall.Mmap(-1, 0, frameBufferSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, frameBufferSize)
	}
	return b
}

// freeFrameBuffer unmaps a buffer newFrameBuffer made. Nothing may read or
// write b after.
func freeFrameBuffer(b []byte) {
	_ = syscall.Munmap(b) // EINVAL for a buffer from make, which the collector frees
}
