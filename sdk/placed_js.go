//go:build js && wasm

package sdk

import (
	"fmt"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/sdk/internal/datapack"
)

// A binary connection whose values go to OnRawData keeps a large ArrayBuffer,
// File or Blob it receives in the page's memory: each chunk's bytes are
// copied from the ArrayBuffer the channel delivered straight into one
// ArrayBuffer of the value's size, which the page then gets as it is. The
// bytes never enter Go's memory: Go reads each chunk's header only (its first
// headRead bytes), and the Reassembler (Place) checks the chunks and limits as
// it does for the messages it holds itself. The other values, and all of them
// without OnRawData, come into Go whole and are decoded there.

// headRead is how much of a chunk frame Go reads: its header and, in a
// message's first chunk, the head of a bin or File (a File's name and type
// included, when they are short enough to fit).
const headRead = datapack.MaxChunkHeader + 256

// maxPlacedValue bounds the values kept in the page's memory: their buffer
// is allocated at the size their first chunk announces, so a peer could
// otherwise make the page reserve a value's bytes (up to the Reassembler's
// 256 MiB, for each of 16 messages in progress) without sending them. Larger
// values come into Go, whose buffer grows with the chunks that arrived.
const maxPlacedValue = 1 << 20

// The page's Uint8Array and ArrayBuffer, looked up once.
var (
	jsUint8Array  = jsGlobal("Uint8Array")
	jsArrayBuffer = jsGlobal("ArrayBuffer")
)

func jsGlobal(name string) safejs.Value {
	v, _ := safejs.Global().Get(name)
	return v
}

// placedValue is a bin or File in progress in the page's memory.
type placedValue struct {
	head datapack.Payload
	u8   safejs.Value // a Uint8Array over the value's ArrayBuffer
	// set is u8.set bound to u8: a chunk then costs two calls into
	// JavaScript, a view of its data and the copy, and one value for Go
	// to track, where u8.set(frame.subarray(…)) costs four and two.
	set safejs.Value
	err error // a chunk past the value's bytes: it will not be delivered
}

// placer is the browser's half of a binary connection's receiving: the
// values in progress in the page's memory, by message id.
type placer struct {
	head   [headRead]byte
	values map[uint32]*placedValue
}

// receiveChunk takes a chunk frame of a binary connection, data the
// ArrayBuffer of size bytes the channel delivered and head its first bytes,
// when its
// value is, or starts, one kept in the page's memory; it reports false for
// one that must come into Go instead.
func (d *DataConnection) receiveChunk(data safejs.Value, head []byte, size int) bool {
	h, ok := datapack.PeekChunk(head)
	if !ok {
		return false
	}
	pv := d.io.placed.values[h.ID]
	if !d.reasm.Holds(h.ID) {
		if h.Index != 0 || d.reasm.InProgress(h.ID) || d.io.raw.get() == nil {
			return false
		}
		if pv = d.startPlaced(h, head); pv == nil {
			return false
		}
	}
	pl, err := d.reasm.Place(head, size)
	if err != nil {
		if !d.reasm.Holds(h.ID) {
			delete(d.io.placed.values, h.ID)
		}
		d.undecodable(err)
		return true
	}
	if pv == nil { // a message of an id it held before, dropped since
		return true
	}
	// The part of the message the chunk carries, less the head, is where
	// it goes in the value.
	from, at, n := pl.From, pl.Offset-pv.head.Len, pl.N
	if at < 0 {
		from, n, at = from-at, n+at, 0
	}
	var j jsutil.Batch
	switch {
	case pv.err != nil:
	case at+n > pv.head.Size-pv.head.Len:
		pv.err = fmt.Errorf("%w: message %d longer than the %d bytes its value declares", datapack.ErrInvalid, pl.ID, pv.head.Size)
	case n > 0:
		j.Invoke(pv.set, j.New(jsUint8Array, data, from, n), at)
	}
	if err := j.Err(); err != nil {
		pv.err = err
	}
	if !pl.Done {
		return true
	}
	delete(d.io.placed.values, pl.ID)
	if pv.err == nil && pl.Size != pv.head.Size {
		pv.err = fmt.Errorf("%w: message %d of %d bytes, its value declares %d", datapack.ErrInvalid, pl.ID, pl.Size, pv.head.Size)
	}
	if pv.err != nil {
		d.undecodable(pv.err)
		return true
	}
	d.receivePlaced(j.Get(pv.u8, "buffer"), pv.head, &j)
	return true
}

// receiveWhole takes a frame of a binary connection that is a whole value,
// data the ArrayBuffer of size bytes the channel delivered and head its
// first bytes, when the value is a bin or a File and OnRawData is set: the
// value's bytes are cut from data in the page's memory, one copy that Go
// never holds. It reports false for a frame Go must decode, which also
// reports a malformed one.
func (d *DataConnection) receiveWhole(data safejs.Value, head []byte, size int) bool {
	if d.io.raw.get() == nil {
		return false
	}
	p, ok := datapack.ParsePayload(head)
	if !ok || p.Size != size {
		return false
	}
	var j jsutil.Batch
	d.receivePlaced(j.Call(data, "slice", p.Len), p, &j)
	return true
}

// receivePlaced delivers v, the ArrayBuffer of a value put together in the
// page's memory, whose head is p, as the page sees the value: as it is, or
// as a File.
func (d *DataConnection) receivePlaced(v safejs.Value, p datapack.Payload, j *jsutil.Batch) {
	if p.File {
		v = j.File(v, p.Name, p.Type)
	}
	if err := j.Err(); err != nil {
		d.undecodable(err)
		return
	}
	d.receiveRaw(v)
}

// startPlaced allocates the buffer of a message whose first chunk came
// first, when it is a bin or a File small enough; nil otherwise.
func (d *DataConnection) startPlaced(h datapack.ChunkHeader, head []byte) *placedValue {
	p, ok := datapack.ParsePayload(head[h.From:])
	dataSize := datapack.ChunkDataSize
	if !ok || p.Size-p.Len > maxPlacedValue ||
		p.Size <= int(h.Count-1)*dataSize || p.Size > int(h.Count)*dataSize {
		return nil // refused, if it must be, where it is decoded
	}
	var j jsutil.Batch
	u8 := j.New(jsUint8Array, p.Size-p.Len)
	set := j.Call(j.Get(u8, "set"), "bind", u8)
	if j.Err() != nil {
		return nil
	}
	pv := &placedValue{head: p, u8: u8, set: set}
	if d.io.placed.values == nil {
		d.io.placed.values = make(map[uint32]*placedValue)
	}
	d.io.placed.values[h.ID] = pv
	return pv
}

// dropPlaced is the Reassembler's OnDrop: a value that will not complete.
func (d *DataConnection) dropPlaced(id uint32) { delete(d.io.placed.values, id) }
