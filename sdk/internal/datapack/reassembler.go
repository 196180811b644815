package datapack

import (
	"fmt"
	"math"
	"slices"
)

// Default limits of a Reassembler.
const (
	// DefaultMaxMessageSize bounds one message: 256 MiB.
	DefaultMaxMessageSize = 256 << 20
	// DefaultMaxPending bounds the messages in progress at once.
	DefaultMaxPending = 16
)

// Reassembler puts chunk frames back together into messages. Chunks of
// several messages may interleave and arrive in any order, as on an unordered
// channel; on an unreliable one a message may never complete, so the oldest
// message in progress is dropped when too many are. Memory grows with the
// chunks that arrived, never with what a chunk header claims.
//
// The zero Reassembler is ready to use, with the default limits. A
// Reassembler is not safe for concurrent use: it belongs to the one reader of
// a data channel.
type Reassembler struct {
	// MaxMessageSize is the largest message accepted, in bytes. A chunk
	// of a message that must be larger is refused with ErrTooLarge and the
	// message dropped. Zero or less means DefaultMaxMessageSize.
	MaxMessageSize int
	// MaxPending is how many messages may be in progress at once; a new
	// message past it drops the one that started first. Zero or less means
	// DefaultMaxPending.
	MaxPending int
	// MaxBuffered is how many bytes the messages in progress may hold
	// together; a chunk past it drops the oldest other messages, or its own
	// with ErrTooLarge when they are not enough. Zero or less means twice
	// MaxMessageSize. The count is of message bytes: a growing buffer may
	// briefly reserve up to twice its length.
	MaxBuffered int
	// OnDrop, if set, is called with the id of a message in progress
	// through Place that is dropped before it completes (by a limit, or
	// for a chunk that contradicts it), so that the caller frees its
	// bytes. It must not call the Reassembler.
	OnDrop func(id uint32)

	pending   []*partial // oldest first
	buffered  int        // message bytes held by pending
	frameSize int        // ChunkSize when 0; smaller in tests
}

// partial is a message in progress.
type partial struct {
	id    uint32
	count uint32
	next  uint32            // chunks [0, next) are in buf, in order
	buf   []byte            // the message so far
	ahead map[uint32][]byte // chunks past next that came early, copied
	held  int               // bytes in buf and ahead, or placed
	// placed: the message's bytes are the caller's (Place); ahead then
	// marks the early chunks without their bytes, and size is the
	// message's length once its last chunk came.
	placed bool
	size   int
}

func (r *Reassembler) limits() (maxSize, maxPending, maxBuffered int) {
	maxSize, maxPending, maxBuffered = r.MaxMessageSize, r.MaxPending, r.MaxBuffered
	if maxSize <= 0 {
		maxSize = DefaultMaxMessageSize
	}
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	if maxBuffered <= 0 {
		maxBuffered = math.MaxInt
		if maxSize <= math.MaxInt/2 {
			maxBuffered = 2 * maxSize
		}
	}
	return maxSize, maxPending, maxBuffered
}

// Add takes one data-channel message. For a chunk it returns done once the
// chunk completes its message, with msg the whole encoded message, which
// belongs to the caller. A frame that is not a chunk is a whole message by
// itself: Add returns it as msg, done, without copying it.
//
// An error concerns this frame only, and the message in progress it
// contradicts, if any, which is dropped; the Reassembler stays usable for the
// others. A message dropped to keep within MaxPending or MaxBuffered is
// dropped silently: its later chunks start it over, and it never completes.
func (r *Reassembler) Add(frame []byte) (msg []byte, done bool, err error) {
	if !IsChunk(frame) {
		return frame, true, nil
	}
	c, err := parseChunk(frame, r.frameSizeOrDefault())
	if err != nil {
		return nil, false, err
	}
	if p := r.find(c.id); p != nil && p.placed {
		r.drop(p)
		return nil, false, fmt.Errorf("%w: chunk of message %d added, its others placed", ErrBadChunk, c.id)
	}
	p, err := r.accept(c, false)
	if err != nil {
		return nil, false, err
	}
	if c.index != p.next {
		if p.ahead == nil {
			p.ahead = make(map[uint32][]byte)
		}
		p.ahead[c.index] = append([]byte(nil), c.data...)
		return nil, false, nil
	}
	dataSize := uint64(r.frameSizeOrDefault() - MaxChunkHeader)
	p.push(c.data, dataSize)
	for {
		data, ok := p.ahead[p.next]
		if !ok {
			break
		}
		delete(p.ahead, p.next)
		p.push(data, dataSize)
	}
	if p.next < p.count {
		return nil, false, nil
	}
	r.forget(p)
	return p.buf, true, nil
}

// Placement says where the data of a chunk read by Place belongs.
type Placement struct {
	ID           uint32 // the message's
	Index, Count uint32 // the chunk's index, and the message's chunks
	// Offset is where the data goes in the message: Index × ChunkDataSize.
	Offset int
	// From is where the data starts in the frame, and N its length.
	From, N int
	// Done: this chunk was the message's last missing one, and Size is
	// the message's length in bytes.
	Done bool
	Size int
}

// Place is Add for a frame whose bytes stay where they are, outside Go's
// memory (a browser's ArrayBuffer), in a message whose bytes the caller
// holds: head is the frame's first bytes, at least MaxChunkHeader of them or
// the whole frame, and size its length. Place checks the chunk against its
// message and the limits as Add does, and counts its bytes as held, but
// keeps none: it says where the chunk's data goes, and the caller copies it
// there. The chunks of a message may be placed in any order, each at its
// own offset.
//
// A chunk of a message in progress through Add is refused with ErrBadChunk;
// any other chunk starts a message held by the caller (Holds then reports
// it). A message dropped before it completes is reported to OnDrop, so that
// the caller frees what it held.
func (r *Reassembler) Place(head []byte, size int) (Placement, error) {
	if !IsChunk(head) {
		return Placement{}, fmt.Errorf("%w: a whole value given as a chunk frame", ErrInvalid)
	}
	c, err := parseChunkHeader(head, size, r.frameSizeOrDefault())
	if err != nil {
		return Placement{}, err
	}
	if p := r.find(c.id); p != nil && !p.placed {
		r.drop(p)
		return Placement{}, fmt.Errorf("%w: chunk of message %d placed, its others added", ErrBadChunk, c.id)
	}
	p, err := r.accept(c, true)
	if err != nil {
		return Placement{}, err
	}
	dataSize := r.frameSizeOrDefault() - MaxChunkHeader
	pl := Placement{ID: c.id, Index: c.index, Count: c.count, Offset: int(c.index) * dataSize, From: c.from, N: c.n}
	if c.index == c.count-1 {
		p.size = pl.Offset + c.n
	}
	if c.index != p.next {
		if p.ahead == nil {
			p.ahead = make(map[uint32][]byte)
		}
		p.ahead[c.index] = nil
		return pl, nil
	}
	p.next++
	for {
		if _, ok := p.ahead[p.next]; !ok {
			break
		}
		delete(p.ahead, p.next)
		p.next++
	}
	if p.next == p.count {
		r.forget(p)
		pl.Done, pl.Size = true, p.size
	}
	return pl, nil
}

// Holds reports whether message id is in progress through Place.
func (r *Reassembler) Holds(id uint32) bool {
	p := r.find(id)
	return p != nil && p.placed
}

// InProgress reports whether message id is in progress, through Add or
// Place: a chunk of it then goes where its others went.
func (r *Reassembler) InProgress(id uint32) bool { return r.find(id) != nil }

func (r *Reassembler) frameSizeOrDefault() int {
	if r.frameSize == 0 {
		return ChunkSize
	}
	return r.frameSize
}

// accept checks chunk c against what its header says of the message and
// against the message in progress, and makes room for its bytes within the
// limits; it returns the message, new if it was not in progress, with the
// chunk's bytes counted as held. An error drops the message c contradicts.
func (r *Reassembler) accept(c chunk, placed bool) (*partial, error) {
	maxSize, maxPending, maxBuffered := r.limits()
	dataSize := uint64(r.frameSizeOrDefault() - MaxChunkHeader)

	// Check the chunk against what its header says of the message before
	// anything is kept.
	var err error
	last := c.index == c.count-1
	switch {
	case c.index >= c.count:
		err = fmt.Errorf("%w: chunk %d of message %d of %d chunks", ErrBadChunk, c.index, c.id, c.count)
	case uint64(c.count-1)*dataSize+1 > uint64(maxSize):
		err = fmt.Errorf("%w: message %d of %d chunks, over %d bytes", ErrTooLarge, c.id, c.count, maxSize)
	case !last && uint64(c.n) != dataSize,
		last && (c.n == 0 || uint64(c.n) > dataSize):
		err = fmt.Errorf("%w: chunk %d of %d of message %d carries %d bytes", ErrBadChunk, c.index, c.count, c.id, c.n)
	case last && uint64(c.count-1)*dataSize+uint64(c.n) > uint64(maxSize):
		err = fmt.Errorf("%w: message %d over %d bytes", ErrTooLarge, c.id, maxSize)
	}
	p := r.find(c.id)
	if err == nil && p != nil {
		if p.count != c.count {
			err = fmt.Errorf("%w: chunk of message %d says %d chunks, an earlier one %d", ErrBadChunk, c.id, c.count, p.count)
		} else if _, early := p.ahead[c.index]; early || c.index < p.next {
			err = fmt.Errorf("%w: chunk %d of message %d again", ErrBadChunk, c.index, c.id)
		}
	}
	if err != nil {
		if p != nil {
			r.drop(p)
		}
		return nil, err
	}

	if p == nil {
		if len(r.pending) >= maxPending {
			r.drop(r.pending[0])
		}
		p = &partial{id: c.id, count: c.count, placed: placed}
		r.pending = append(r.pending, p)
	}
	for r.buffered+c.n > maxBuffered && r.pending[0] != p {
		r.drop(r.pending[0])
	}
	if r.buffered+c.n > maxBuffered {
		r.drop(p)
		return nil, fmt.Errorf("%w: message %d over the %d bytes in progress allowed", ErrTooLarge, c.id, maxBuffered)
	}
	r.buffered += c.n
	p.held += c.n
	return p, nil
}

// push adds the next chunk to buf. The buffer doubles as it fills, up to
// the largest size the message can have, rather than being reserved at that
// size at once: a header's claim costs nothing until the chunks arrive.
func (p *partial) push(data []byte, dataSize uint64) {
	if need := len(p.buf) + len(data); need > cap(p.buf) {
		limit := int(uint64(p.count) * dataSize)
		b := make([]byte, len(p.buf), max(need, min(2*cap(p.buf), limit)))
		copy(b, p.buf)
		p.buf = b
	}
	p.buf = append(p.buf, data...)
	p.next++
}

func (r *Reassembler) find(id uint32) *partial {
	for _, p := range r.pending {
		if p.id == id {
			return p
		}
	}
	return nil
}

// drop forgets a message in progress that did not complete.
func (r *Reassembler) drop(p *partial) {
	r.forget(p)
	if p.placed && r.OnDrop != nil {
		r.OnDrop(p.id)
	}
}

// forget takes a message out of those in progress.
func (r *Reassembler) forget(p *partial) {
	if i := slices.Index(r.pending, p); i >= 0 {
		r.pending = slices.Delete(r.pending, i, i+1)
	}
	r.buffered -= p.held
}

// Unpack takes one data-channel message and returns the value it completes:
// a whole value is decoded at once, a chunk once its message is complete.
// done is false while a chunked message is still in progress, and on error.
// Byte slices in a value from a chunked message share one buffer, which is
// the caller's; those from a whole value are copies, so frame may be reused.
func (r *Reassembler) Unpack(frame []byte) (v any, done bool, err error) {
	if !IsChunk(frame) {
		v, err = Decode(frame)
		return v, err == nil, err
	}
	msg, done, err := r.Add(frame)
	if !done || err != nil {
		return nil, false, err
	}
	d := decoder{b: msg, alias: true}
	if v, err = d.decode(); err != nil {
		return nil, false, err
	}
	return v, true, nil
}
