//go:build !js

package sfu

import "sync"

// packetBuffer keeps the last packets of one published track, by sequence
// number, for every subscriber of the track: its down-tracks send from it
// and answer NACKs from it, keeping only their own sequence mappings.
// There is one writer, the track's forwarding loop; readers are the
// subscribers' send loops. A slot is locked for reading while its packet
// is written to a subscriber, so that the writer never overwrites a packet
// in flight (it waits; with far more slots than a send queue holds, it
// only does when a sender has stalled mid-write).
type packetBuffer struct {
	slots []bufSlot
	mask  uint16
}

type bufSlot struct {
	mu   sync.RWMutex
	seq  uint16
	n    int // 0: empty
	data [slotSize]byte
}

// newPacketBuffer returns a buffer of size slots, a power of two.
func newPacketBuffer(size int) *packetBuffer {
	if size&(size-1) != 0 || size <= 0 || size > 1<<15 {
		panic("sfu: packet buffer size must be a power of two up to 32768")
	}
	return &packetBuffer{slots: make([]bufSlot, size), mask: uint16(size - 1)}
}

// put stores pkt, which has sequence number seq, and returns its slot. A
// packet larger than a slot is not stored and put returns -1.
func (b *packetBuffer) put(seq uint16, pkt []byte) int {
	if len(pkt) > slotSize {
		return -1
	}
	i := int(seq & b.mask)
	s := &b.slots[i]
	s.mu.Lock()
	s.seq = seq
	s.n = copy(s.data[:], pkt)
	s.mu.Unlock()
	return i
}

// slot returns the slot that holds or held seq.
func (b *packetBuffer) slot(seq uint16) int { return int(seq & b.mask) }

// acquire returns the packet seq held in slot i, read-locked until
// release(i), and reports whether the slot still holds it (if not, it is
// not locked).
func (b *packetBuffer) acquire(i int, seq uint16) ([]byte, bool) {
	s := &b.slots[i]
	s.mu.RLock()
	if s.n == 0 || s.seq != seq {
		s.mu.RUnlock()
		return nil, false
	}
	return s.data[:s.n], true
}

// release ends an acquire that returned true.
func (b *packetBuffer) release(i int) { b.slots[i].mu.RUnlock() }
