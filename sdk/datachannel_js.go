//go:build js && wasm

package sdk

import (
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
// channel's send method is looked up once, bound to it: a frame then costs
// two calls into JavaScript, a copy and the send, and makes no JavaScript
// value Go must track. The owner's sendMu guards the buffer.
type browserIO struct {
	u8   safejs.Value // a Uint8Array, undefined until the first send
	size int
	send safejs.Value // dc.send.bind(dc), undefined until the first send

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
	if s.size == 0 {
		target := safejs.Safe(dc.JSValue())
		s.send = j.Call(j.Get(target, "send"), "bind", target)
	}
	if s.size < len(b) {
		// Chunk frames fill it exactly, and then need no view.
		size := max(len(b), datapack.ChunkSize)
		u8 := j.New(j.Global("Uint8Array"), size)
		if err := j.Err(); err != nil {
			return webrtcError("data channel send failed", err)
		}
		s.u8, s.size = u8, size
	}
	if _, err := safejs.CopyBytesToJS(s.u8, b); err != nil {
		j.Fail(err)
	}
	view := s.u8
	if len(b) < s.size {
		view = j.Call(s.u8, "subarray", 0, len(b))
	}
	j.Invoke(s.send, view)
	return webrtcError("data channel send failed", j.Err())
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
