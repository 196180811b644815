package routing

import (
	"sync"
	"sync/atomic"
)

// Message is one frame on its way to one or more peers. It is reference
// counted so that room fan-out shares one buffer between every recipient, and
// pooled so that relaying allocates nothing per message.
type Message struct {
	// Data is the frame, appended to by whoever builds the message.
	Data []byte
	// Binary says whether Data goes out as a binary WebSocket frame.
	Binary bool
	// Src is the sending peer's ID on a relayed message, so that the
	// recipient remembers whom it talked to; empty on what the server
	// composes.
	Src  string
	refs atomic.Int32
}

// maxPooled is the largest buffer kept for reuse: room data can reach 20 MB,
// and the pool must not pin such buffers.
const maxPooled = 64 << 10

var pool = sync.Pool{New: func() any { return &Message{Data: make([]byte, 0, 2048)} }}

// NewMessage returns an empty message holding one reference.
func NewMessage(binary bool) *Message {
	m := pool.Get().(*Message)
	m.Data, m.Binary, m.Src = m.Data[:0], binary, ""
	m.refs.Store(1)
	return m
}

// Retain adds a reference, for a message handed to one more recipient.
func (m *Message) Retain() { m.refs.Add(1) }

// Release drops a reference; the last one returns the message to the pool.
func (m *Message) Release() {
	switch n := m.refs.Add(-1); {
	case n == 0:
		if cap(m.Data) <= maxPooled {
			pool.Put(m)
		}
	case n < 0:
		panic("routing: Message released more often than retained")
	}
}
