package datapack

import (
	"encoding/binary"
	"fmt"
	"math"
)

// ChunkSize is the largest data-channel message the wire format ever sends,
// chunk header included. 16 KiB crosses every browser's SCTP stack whole;
// larger messages are not portable between browsers.
const ChunkSize = 16 * 1024

// MaxChunkHeader is the longest chunk header: the 6 bytes of an ext32 header
// and three uvarints of at most 5 bytes (a uint32 each).
const MaxChunkHeader = 6 + 3*binary.MaxVarintLen32

// ChunkDataSize is how many message bytes every chunk but the last carries.
// Fixing it lets a receiver place a chunk by its index alone and know from
// any chunk how large its message is at least.
const ChunkDataSize = ChunkSize - MaxChunkHeader

// IsChunk reports whether frame, a data-channel message, is a chunk frame
// rather than a whole value. It looks at the first byte and the ext type
// only: a whole value never starts that way, since Encode refuses a value
// holding a chunk.
func IsChunk(frame []byte) bool {
	return len(frame) >= 6 && frame[0] == codeExt32 && int8(frame[5]) == ChunkExt
}

// Splitter cuts an encoded message into frames of at most ChunkSize bytes.
// It keeps no copy of the message: each frame is built, on demand, in a
// buffer the caller supplies, so a 100 MB message goes out through one
// 16 KiB scratch buffer. A Splitter only reads the parts it was given; they
// must not change until the last frame is built.
type Splitter struct {
	id        uint32
	parts     [][]byte
	size      int // of the message: the parts' lengths added up
	frames    int
	frameSize int // ChunkSize; smaller in tests, to get many chunks cheaply
}

// NewSplitter returns a Splitter for message id, whose encoding is the
// concatenation of parts: usually one part, or a header from AppendBinHeader
// or AppendFileHeader and the caller's own bytes, which saves encoding a
// large payload into a copy first. A sender numbers its messages; the ids of
// messages in flight at the same time must differ.
func NewSplitter(id uint32, parts ...[]byte) *Splitter {
	return newSplitter(id, ChunkSize, ChunkSize, parts)
}

// NewWholeSplitter is NewSplitter for a channel whose far side takes
// messages of up to whole bytes: a message that fits travels whole, as one
// frame of its own size, and a larger one in chunk frames of ChunkSize. A
// receiver needs nothing new for that, since a frame that is not a chunk is
// a whole value of whatever size the channel delivered; fewer, larger
// messages cost the browsers' SCTP stacks and the page less per byte.
func NewWholeSplitter(id uint32, whole int, parts ...[]byte) *Splitter {
	return newSplitter(id, ChunkSize, max(whole, ChunkSize), parts)
}

func newSplitter(id uint32, frameSize, whole int, parts [][]byte) *Splitter {
	s := &Splitter{id: id, parts: append([][]byte(nil), parts...), frameSize: frameSize}
	for _, p := range parts {
		s.size += len(p)
	}
	if s.size <= whole {
		s.frames = 1
	} else {
		data := frameSize - MaxChunkHeader
		s.frames = (s.size-1)/data + 1
	}
	return s
}

// Frames is the number of frames of the message: 1 when it fits in one
// frame unchunked, and then that frame is the message itself, so a caller
// that holds it in one slice may send that slice and skip AppendFrame.
func (s *Splitter) Frames() int { return s.frames }

// AppendFrame appends frame i, for i from 0 to Frames()-1, to dst and
// returns the extended buffer; with dst a reused buffer of ChunkSize
// capacity it allocates nothing. For an i out of range it returns dst
// unchanged.
func (s *Splitter) AppendFrame(dst []byte, i int) []byte {
	if i < 0 || i >= s.frames {
		return dst
	}
	if s.frames == 1 {
		for _, p := range s.parts {
			dst = append(dst, p...)
		}
		return dst
	}
	data := s.frameSize - MaxChunkHeader
	off := i * data
	n := min(data, s.size-off)

	start := len(dst)
	dst = append(dst, codeExt32, 0, 0, 0, 0, byte(ChunkExt))
	dst = binary.AppendUvarint(dst, uint64(s.id))
	dst = binary.AppendUvarint(dst, uint64(i))
	dst = binary.AppendUvarint(dst, uint64(s.frames))
	for _, p := range s.parts {
		if off >= len(p) {
			off -= len(p)
			continue
		}
		k := min(n, len(p)-off)
		dst = append(dst, p[off:off+k]...)
		n -= k
		off = 0
		if n == 0 {
			break
		}
	}
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-6))
	return dst
}

// chunk is a parsed chunk frame. data aliases the frame; from is where it
// starts in the frame and n its length (data is nil for a frame read by its
// header alone, see Reassembler.Place).
type chunk struct {
	id, index, count uint32
	data             []byte
	from, n          int
}

// parseChunk reads the header of a frame IsChunk accepted. It checks the
// frame alone; whether the chunk fits its message is the Reassembler's
// business.
func parseChunk(frame []byte, frameSize int) (chunk, error) {
	c, err := parseChunkHeader(frame, len(frame), frameSize)
	if err == nil {
		c.data = frame[c.from:]
	}
	return c, err
}

// parseChunkHeader is parseChunk for a frame of size bytes of which only
// the first are in head: at least MaxChunkHeader, or the whole frame.
func parseChunkHeader(head []byte, size, frameSize int) (chunk, error) {
	var c chunk
	if len(head) < min(size, MaxChunkHeader) || len(head) > size || size < 6 {
		return c, fmt.Errorf("%w: %d bytes of a chunk frame of %d", ErrInvalid, len(head), size)
	}
	if size > frameSize {
		return c, fmt.Errorf("%w: chunk frame of %d bytes, over %d", ErrInvalid, size, frameSize)
	}
	if n := binary.BigEndian.Uint32(head[1:5]); uint64(n) != uint64(size-6) {
		return c, fmt.Errorf("%w: chunk frame of %d bytes declares %d", ErrInvalid, size-6, n)
	}
	fields, from, err := chunkFields(head)
	if err != nil {
		return c, err
	}
	c = chunk{id: fields[0], index: fields[1], count: fields[2], from: from, n: size - from}
	if c.count == 0 {
		return c, fmt.Errorf("%w: chunk frame of a message of 0 chunks", ErrInvalid)
	}
	return c, nil
}

// chunkFields reads the id, index and count of a chunk frame, and where its
// data starts.
func chunkFields(head []byte) (fields [3]uint32, from int, err error) {
	p := head[6:]
	for i, name := range [...]string{"id", "index", "count"} {
		v, n := binary.Uvarint(p)
		// Overlong forms are refused too, so that every header fits in
		// MaxChunkHeader bytes.
		if n <= 0 || n > binary.MaxVarintLen32 || v > math.MaxUint32 {
			return fields, 0, fmt.Errorf("%w: chunk frame with a bad %s", ErrInvalid, name)
		}
		fields[i] = uint32(v)
		p = p[n:]
	}
	return fields, len(head) - len(p), nil
}

// ChunkHeader is what the header of a chunk frame says: the message's id,
// the chunk's index, the message's chunks, and where the chunk's data
// starts in the frame.
type ChunkHeader struct {
	ID, Index, Count uint32
	From             int
}

// PeekChunk reads the header of a chunk frame from its first bytes, at
// least MaxChunkHeader of them or the whole frame; ok is false when they are
// not those of a chunk frame. It checks nothing else: Reassembler.Place
// does.
func PeekChunk(head []byte) (h ChunkHeader, ok bool) {
	if !IsChunk(head) {
		return h, false
	}
	fields, from, err := chunkFields(head)
	return ChunkHeader{ID: fields[0], Index: fields[1], Count: fields[2], From: from}, err == nil
}
