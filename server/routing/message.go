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
	// lent is set once by Lend: whose memory Data is, or who counted it.
	lent atomic.Pointer[loan]
}

// A Lender owns the memory of large messages, or counts it against a
// budget: Return is called once for each Lend, when the message's last
// reference is released, and after it the message no longer touches buf.
type Lender interface {
	Return(buf []byte, n int64)
}

type loan struct {
	by  Lender
	buf []byte
	n   int64
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

// Lend makes l the owner of the message's memory: buf (Data is a part of
// it) and n bytes of l's budget go back to l with the last Release. Only
// the first Lend of a message takes; it reports whether this one did.
func (m *Message) Lend(l Lender, buf []byte, n int64) bool {
	return m.lent.CompareAndSwap(nil, &loan{by: l, buf: buf, n: n})
}

// Lent reports whether a Lender owns or has counted the message's memory.
func (m *Message) Lent() bool { return m.lent.Load() != nil }

// Release drops a reference; the last one returns the message to the pool,
// and what it was lent to its Lender.
func (m *Message) Release() {
	switch n := m.refs.Add(-1); {
	case n == 0:
		if l := m.lent.Swap(nil); l != nil {
			if l.buf != nil {
				m.Data = nil // the lender's: never kept in the pool
			}
			l.by.Return(l.buf, l.n)
		}
		if cap(m.Data) <= maxPooled {
			pool.Put(m)
		}
	case n < 0:
		panic("routing: Message released more often than retained")
	}
}
