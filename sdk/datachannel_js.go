//go:build js && wasm

package sdk

import (
	"fmt"
	"math"
	"syscall/js"

	"github.com/hack-pad/safejs"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/sdk/internal/datapack"
)

// maxReusedFrame bounds the send buffer: a larger message (only `none` and
// `json` send those) goes in a buffer of its own.
const maxReusedFrame = 256 << 10

// browserIO is what a DataConnection keeps of its channel in the browser:
// its send buffer, and the OnRawData handler.
//
// The send buffer is one Uint8Array in the page's memory, reused for every
// binary message. pion's Send makes a new Uint8Array per message, and in
// Chromium a new ArrayBuffer costs far more than the copy into it: its
// memory is fresh, and it counts toward the garbage collector's external
// memory, which starts a collection every few megabytes. RTCDataChannel.send
// copies the bytes before it returns (the WebRTC spec's "a copy of the bytes
// held by the buffer source"), so the buffer is free again at once. The
// channel's send method, and the buffer's set, are looked up once, bound: a
// frame then costs two calls into JavaScript, a copy and the send, and makes
// no JavaScript value Go must track. The owner's sendMu guards the buffer.
type browserIO struct {
	u8    safejs.Value // a Uint8Array of size bytes, once size > 0
	set   safejs.Value // u8.set.bind(u8)
	size  int
	send  safejs.Value // dc.send.bind(dc), once bound
	bound bool

	raw handler[js.Value]
	// The binary values kept in the page's memory (placed_js.go), which
	// only the channel's message callback uses.
	placed placer
}

// write sends b as one binary message on dc, through the buffer.
func (s *browserIO) write(dc *webrtc.DataChannel, b []byte) error {
	if len(b) > maxReusedFrame {
		return dc.Send(b)
	}
	var j jsutil.Batch
	s.grow(&j, dc, len(b))
	if err := j.Err(); err != nil {
		return webrtcError("data channel send failed", err)
	}
	if _, err := safejs.CopyBytesToJS(s.u8, b); err != nil {
		j.Fail(err)
	}
	s.sendBuffered(&j, len(b))
	return webrtcError("data channel send failed", j.Err())
}

// writeBytes sends head and then body's bytes, n in all, as one binary
// message on dc, through the buffer: the body is copied from the page's
// memory into the buffer with no stop in Go's.
func (s *browserIO) writeBytes(dc *webrtc.DataChannel, head []byte, body Bytes) error {
	n := len(head) + body.n
	var j jsutil.Batch
	s.grow(&j, dc, n)
	if err := j.Err(); err != nil {
		return webrtcError("data channel send failed", err)
	}
	if _, err := safejs.CopyBytesToJS(s.u8, head); err != nil {
		j.Fail(err)
	}
	j.Invoke(s.set, body.u8, len(head))
	s.sendBuffered(&j, n)
	return webrtcError("data channel send failed", j.Err())
}

// sendFunc returns the channel's send method, bound to it.
func (s *browserIO) sendFunc(j *jsutil.Batch, dc *webrtc.DataChannel) safejs.Value {
	if !s.bound {
		target := safejs.Safe(dc.JSValue())
		s.send = j.Call(j.Get(target, "send"), "bind", target)
		s.bound = j.Err() == nil
	}
	return s.send
}

// grow readies the buffer for a message of n bytes, at most maxReusedFrame.
func (s *browserIO) grow(j *jsutil.Batch, dc *webrtc.DataChannel, n int) {
	s.sendFunc(j, dc)
	if s.size < n {
		// Chunk frames fill it exactly, and then need no view.
		size := max(n, datapack.ChunkSize)
		u8 := j.New(j.Global("Uint8Array"), size)
		set := j.Call(j.Get(u8, "set"), "bind", u8)
		if j.Err() == nil {
			s.u8, s.set, s.size = u8, set, size
		}
	}
}

// sendBuffered sends the buffer's first n bytes.
func (s *browserIO) sendBuffered(j *jsutil.Batch, n int) {
	view := s.u8
	if n < s.size {
		view = j.Call(s.u8, "subarray", 0, n)
	}
	j.Invoke(s.send, view)
}

// Bytes is binary data in the page's memory, which a DataConnection sends
// without copying it into Go's (TrySend): the bytes of an ArrayBuffer, or
// those a typed array or a DataView views.
type Bytes struct {
	u8 safejs.Value // a Uint8Array over the bytes
	n  int
	// shared: the bytes are a SharedArrayBuffer's, which
	// RTCDataChannel.send refuses; they go in a copy.
	shared bool
}

// BytesOf returns the binary data v holds; ok is false when v is not an
// ArrayBuffer, a typed array or a DataView.
func BytesOf(v js.Value) (b Bytes, ok bool, err error) {
	sv := safejs.Safe(v)
	if t, known := jsutil.TypeOf(sv); !known || t != safejs.TypeObject {
		return b, false, nil
	}
	var j jsutil.Batch
	switch {
	case j.InstanceOf(sv, jsArrayBuffer):
		b.u8 = j.New(jsUint8Array, sv)
	case j.Bool(j.Call(jsArrayBuffer, "isView", sv)):
		buf := j.Get(sv, "buffer")
		b.u8 = j.New(jsUint8Array, buf, j.Get(sv, "byteOffset"), j.Get(sv, "byteLength"))
		b.shared = !j.InstanceOf(buf, jsArrayBuffer)
	default:
		return b, false, j.Err()
	}
	b.n = j.Length(b.u8)
	return b, j.Err() == nil, j.Err()
}

// Len is the number of bytes.
func (b Bytes) Len() int { return b.n }

// Copy returns the bytes in a new slice of Go's memory.
func (b Bytes) Copy() ([]byte, error) {
	p := make([]byte, b.n)
	_, err := safejs.CopyBytesToGo(p, b.u8)
	return p, err
}

// TrySend sends b at once, as Send sends a []byte, when it can go as one
// message without waiting: on a none connection as it is, on a binary one
// as a bin value of up to the far side's largest message. It reports
// false, having sent nothing, when the value would need chunks, the channel
// is full, another Send is under way, or (none) the bytes are a
// SharedArrayBuffer's; the caller then copies the bytes and calls Send. The page's bytes are copied once, by the browser, into
// the channel, and never enter Go's memory.
func (d *DataConnection) TrySend(b Bytes) (bool, error) {
	dc := d.channel()
	if !d.Open() || dc == nil {
		return false, ErrNotOpen
	}
	if !d.sendMu.TryLock() {
		return false, nil
	}
	defer d.sendMu.Unlock()
	var err error
	n := b.n
	switch d.serialization {
	case SerializationNone:
		if b.shared || !d.roomFor(dc, n) {
			return false, nil
		}
		var j jsutil.Batch
		j.Invoke(d.io.sendFunc(&j, dc), b.u8)
		err = webrtcError("data channel send failed", j.Err())
	case SerializationBinary, SerializationBinaryUTF8:
		var hb [5]byte
		head, herr := datapack.AppendBinHeader(hb[:0], b.n)
		n += len(head)
		if herr != nil || n > d.wholeSize() || n > maxReusedFrame || !d.roomFor(dc, n) {
			return false, nil
		}
		err = d.io.writeBytes(dc, head, b)
	default:
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sdk: data channel send: %w", err)
	}
	d.buffered += n
	return true, nil
}

// maxMessageSize is the largest message the far side of pc's SCTP
// transport takes (RTCSctpTransport.maxMessageSize, which is Infinity for
// no limit), 0 before it is known.
func maxMessageSize(pc *webrtc.PeerConnection) int {
	var j jsutil.Batch
	sctp := j.Get(rtc(pc), "sctp")
	if t, ok := jsutil.TypeOf(sctp); !ok || t != safejs.TypeObject || j.Err() != nil {
		return 0
	}
	n := j.Float(j.Get(sctp, "maxMessageSize"))
	if j.Err() != nil || !(n > 0) {
		return 0
	}
	return int(min(n, math.MaxInt32))
}

// OnRawData sets, in the browser, the handler of a `none` connection's
// binary messages, which it then takes over from OnData: f gets the
// ArrayBuffer the channel delivered, which the page may keep, with no copy
// into Go and back. On a binary connection it takes the ArrayBuffers, Files
// and Blobs of up to 1 MiB that came in chunks (over 16 KiB): f gets the
// value as the page does (an ArrayBuffer, or a File, or a Blob without a
// name), put together in the page's memory without entering Go's. Strings,
// the other values, and the other serializations still go to OnData, in one
// order with these.
func (d *DataConnection) OnRawData(f func(js.Value)) { d.io.raw.set(f) }

// receiveRaw delivers a binary message of a `none` connection, or a binary
// value put together in the page's memory, to OnRawData, as receive does to
// OnData.
func (d *DataConnection) receiveRaw(v safejs.Value) {
	d.opened()
	d.mu.Lock()
	if !d.closed {
		emit(d.events, &d.io.raw, safejs.Unsafe(v))
	}
	d.mu.Unlock()
}

// receiveMessages hands the channel's messages to d.receive, on the event
// loop, as they come: pion's OnMessage starts a goroutine per message and
// copies each into a new slice. Binary messages arrive as ArrayBuffers
// (binaryType "arraybuffer", never a Blob, which takes a promise to read)
// and are copied into d's one receive buffer when the serialization's
// decoder keeps no slice of it (binary and json); `none` hands the bytes
// over as they are: as the ArrayBuffer itself to OnRawData, else in a slice
// of their own.
func (d *DataConnection) receiveMessages(dc *webrtc.DataChannel) {
	target := safejs.Safe(dc.JSValue())
	var setup jsutil.Batch
	uint8Array := setup.Global("Uint8Array")
	setup.Set(target, "binaryType", "arraybuffer")
	if err := setup.Err(); err != nil {
		d.fail(webrtcError("failed to read the data channel", err), true)
		return
	}
	reuse := d.serialization != SerializationNone
	chunked := d.serialization == SerializationBinary || d.serialization == SerializationBinaryUTF8
	d.reasm.OnDrop = d.dropPlaced
	var buf []byte
	stop := listen(target, "message", func(ev safejs.Value) error {
		var j jsutil.Batch
		data := j.Get(ev, "data")
		if err := j.Err(); err != nil {
			return err
		}
		if t, ok := jsutil.TypeOf(data); ok && t == safejs.TypeString {
			s := j.String(data)
			d.receive(webrtc.DataChannelMessage{IsString: true, Data: []byte(s)})
			return j.Err()
		}
		if !reuse && d.io.raw.get() != nil {
			d.receiveRaw(data)
			return nil
		}
		u8 := j.New(uint8Array, data)
		n := j.Length(u8)
		if err := j.Err(); err != nil {
			return err
		}
		if chunked {
			// A chunk's header says where it goes.
			head := d.io.placed.head[:min(n, headRead)]
			if _, err := safejs.CopyBytesToGo(head, u8); err != nil {
				return err
			}
			if datapack.IsChunk(head) {
				if d.receiveChunk(data, head, n) {
					return nil
				}
			} else if d.receiveWhole(data, head, n) {
				return nil
			}
		}
		var p []byte
		if reuse {
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			p = buf[:n]
		} else {
			p = make([]byte, n)
		}
		if _, err := safejs.CopyBytesToGo(p, u8); err != nil {
			return err
		}
		d.receive(webrtc.DataChannelMessage{Data: p})
		return nil
	}, func(err error) {
		emit(d.events, &d.onError, webrtcError("failed to read a data channel message", err))
	})
	d.addRelease(stop)
}
