//go:build !unix

package signaling

// newBuffer makes a buffer of the budget on the Go heap: there is no mmap.
func newBuffer(size int64) []byte { return make([]byte, size) }

// freeBuffer leaves b to the collector.
func freeBuffer([]byte) {}
