//go:build !js

package sfu

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/deadline"
	"github.com/pion/transport/v5/packetio"
)

// Sizes of the buffers between the SRTP session and its readers.
const (
	// ingressSlots is how many RTP packets of one incoming stream wait
	// for the track's forwarding loop: about 2 s of 1 Mbit/s video. A
	// loop that falls further behind loses the oldest packets, so that
	// what it forwards is never older than that.
	ingressSlots = 256
	// slotSize is the largest RTP packet kept; larger ones are dropped.
	slotSize = 1500
	// rtcpBufferBytes bounds the RTCP waiting for a reader of one stream.
	rtcpBufferBytes = 64 << 10
)

// bufferFactory is the SettingEngine's BufferFactory: a drop-oldest ring
// for RTP, a small bounded buffer for RTCP. pion's default is a 1 MB
// buffer per stream that drops the newest packets when full, which holds
// seconds of video once the reader falls behind.
func bufferFactory(dropped *atomic.Uint64) func(packetio.BufferPacketType, uint32) io.ReadWriteCloser {
	return func(typ packetio.BufferPacketType, _ uint32) io.ReadWriteCloser {
		if typ == packetio.RTPBufferPacket {
			return newIngressRing(ingressSlots, dropped)
		}
		b := packetio.NewBuffer()
		b.SetLimitSize(rtcpBufferBytes)
		return rtcpBuffer{b}
	}
}

// rtcpBuffer is a packetio.Buffer as an io.ReadWriteCloser.
type rtcpBuffer struct{ *packetio.Buffer }

func (b rtcpBuffer) Read(p []byte) (int, error) {
	n, _, err := b.Buffer.Read(p, nil)
	return n, err
}

func (b rtcpBuffer) Write(p []byte) (int, error) { return b.Buffer.Write(p, nil) }

// ingressRing is a fixed ring of packet slots for one incoming RTP
// stream: Write never blocks and, when the ring is full, overwrites the
// oldest packet; Read blocks until a packet, Close or the deadline.
type ingressRing struct {
	mu     sync.Mutex
	slab   []byte // len(sizes) slots of slotSize bytes
	sizes  []int
	head   int // the oldest packet's slot
	count  int
	closed bool

	notify   chan struct{} // one token: a packet was written or the ring closed
	deadline *deadline.Deadline
	dropped  *atomic.Uint64
}

func newIngressRing(slots int, dropped *atomic.Uint64) *ingressRing {
	return &ingressRing{
		slab: make([]byte, slots*slotSize), sizes: make([]int, slots),
		notify: make(chan struct{}, 1), deadline: deadline.New(), dropped: dropped,
	}
}

// Write implements io.Writer.
func (r *ingressRing) Write(p []byte) (int, error) {
	if len(p) > slotSize {
		r.dropped.Add(1)
		return len(p), nil
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	n := len(r.sizes)
	if r.count == n {
		r.head = (r.head + 1) % n
		r.count--
		r.dropped.Add(1)
	}
	i := (r.head + r.count) % n
	r.sizes[i] = copy(r.slab[i*slotSize:(i+1)*slotSize], p)
	r.count++
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Read implements io.Reader.
func (r *ingressRing) Read(p []byte) (int, error) {
	for {
		r.mu.Lock()
		if r.count > 0 {
			i := r.head
			if len(p) < r.sizes[i] {
				r.mu.Unlock()
				return 0, io.ErrShortBuffer
			}
			n := copy(p, r.slab[i*slotSize:i*slotSize+r.sizes[i]])
			r.head = (r.head + 1) % len(r.sizes)
			r.count--
			r.mu.Unlock()
			return n, nil
		}
		if r.closed {
			r.mu.Unlock()
			return 0, io.EOF
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-r.deadline.Done():
			return 0, errTimeout
		}
	}
}

// Close implements io.Closer; a blocked Read returns io.EOF.
func (r *ingressRing) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

// SetReadDeadline is what srtp calls when its stream's deadline is set.
func (r *ingressRing) SetReadDeadline(t time.Time) error {
	r.deadline.Set(t)
	return nil
}

// errTimeout is a Read past the deadline, a net.Error as pion's buffers
// return.
var errTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "sfu: read deadline exceeded" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
