//go:build !unix

package signaling

// newFrameBuffer makes a frame buffer on the Go heap: there is no mmap.
func newFrameBuffer() []byte { return make([]byte, frameBufferSize) }

// freeFrameBuffer leaves b to the collector.
func freeFrameBuffer([]byte) {}
