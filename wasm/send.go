//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/internal/queue"
	"github.com/skywasm/skywasm/sdk"
)

// A DataConnection's sends wait in a queue, in the order the page made
// them. send() returns at once, as SkyWay's did; the queue's goroutine,
// alive only while the queue holds something, hands the values to the SDK,
// which waits while the channel is full. That is what keeps a large
// transfer from freezing the page or filling memory beyond what the page
// itself queued. The queue has no bound of its own: the page holds the
// values already, and awaits send() for back-pressure.

// sendJob is one send: its value, converted when send() was called so that
// a later change by the page does not alter it, and the promise's resolve.
type sendJob struct {
	value   any
	blobs   bool
	resolve safejs.Value
}

// newSendQueue returns the send queue of o, whose self is set. The sends
// still waiting when it is closed fail as sends on a closed connection do:
// an error event each, and their promises resolve false.
func (b *bridge) newSendQueue(o *dataObject) *queue.Queue[sendJob] {
	return queue.New(func(job sendJob) { b.send(o, job) }, queue.Config[sendJob]{
		Dropped: func(job sendJob) {
			b.emitError(o.self, fmt.Errorf("skywasm: send: %w", sdk.ErrNotOpen))
			settle(job.resolve, false)
		},
	})
}

// callSend is dataConnection.send(data); the shim passes the resolve of the
// promise it returns, which gets true once the value is handed to the
// channel and false if it was not sent, in which case an error event says
// why.
func callSend(b *bridge, o *dataObject, self safejs.Value, args []safejs.Value) any {
	data, resolve := arg(args, 0), arg(args, 1)
	fail := func(err error) any {
		b.emitError(self, err)
		settle(resolve, false)
		return safejs.Undefined()
	}
	if o == nil {
		return fail(sdk.ErrClosed)
	}
	if !o.data.Open() {
		return fail(sdk.ErrNotOpen)
	}
	job := sendJob{resolve: resolve}
	bytes, sent, err := sendBytes(o, data)
	switch {
	case err != nil:
		return fail(fmt.Errorf("skywasm: send: %w", err))
	case sent:
		settle(resolve, true)
		return safejs.Undefined()
	}
	switch serialization := o.data.Serialization(); {
	case bytes != nil:
		job.value = bytes
	case serialization == sdk.SerializationJSON:
		var text string
		if text, err = stringify(data); err == nil {
			job.value = json.RawMessage(text)
		}
	case serialization == sdk.SerializationNone:
		job.value, job.blobs, err = rawValue(data)
	default:
		var c converter
		job.value, err = c.fromJS(data, 0)
		job.blobs = c.blobs > 0
	}
	if err != nil {
		return fail(fmt.Errorf("skywasm: send: %w", err))
	}
	if !o.sends.Push(job) {
		// Closed since Open said otherwise.
		return fail(fmt.Errorf("skywasm: send: %w", sdk.ErrNotOpen))
	}
	return safejs.Undefined()
}

// sendBytes takes binary data (an ArrayBuffer, typed array or DataView) on
// a binary or none connection: it sends it at once from the page's memory
// when nothing is queued before it and the channel takes it without
// waiting (sdk.DataConnection.TrySend), with no copy into Go and no trip
// through the queue; else it returns a copy of its bytes, which a later
// change by the page does not alter, to queue. Other values and
// serializations get nil and false.
func sendBytes(o *dataObject, data safejs.Value) (copied []byte, sent bool, err error) {
	if o.data.Serialization() == sdk.SerializationJSON || !is(data, safejs.TypeObject) {
		return nil, false, nil
	}
	b, ok, err := sdk.BytesOf(safejs.Unsafe(data))
	if !ok || err != nil {
		return nil, false, err
	}
	if o.sends.Idle() {
		if sent, err := o.data.TrySend(b); sent || err != nil {
			return nil, sent, err
		}
	}
	copied, err = b.Copy()
	return copied, false, err
}

// send is the send queue's handler: it hands one value to the channel,
// reading its Blobs first, and resolves the value's promise. A panic
// becomes an error event and the promise resolves false; the queue goes on
// with the next value.
func (b *bridge) send(o *dataObject, job sendJob) {
	sent := false
	defer func() {
		if r := recover(); r != nil {
			b.emitError(o.self, internalError("send", r))
		}
		settle(job.resolve, sent)
	}()
	ctx := context.Background()
	v, err := job.value, error(nil)
	if job.blobs {
		v, err = resolveBlobs(ctx, v, o.data.Serialization() == sdk.SerializationNone)
	}
	if err == nil {
		err = o.data.Send(ctx, v)
	}
	if err != nil {
		b.emitError(o.self, fmt.Errorf("skywasm: send: %w", err))
	}
	sent = err == nil
}

// rawValue takes a value for the `none` serialization: a string goes as
// text, binary data (a Blob once read) as bytes, as RTCDataChannel.send
// takes them.
func rawValue(v safejs.Value) (value any, blob bool, err error) {
	if is(v, safejs.TypeString) {
		s, err := v.String()
		return s, false, err
	}
	if is(v, safejs.TypeObject) {
		if b, ok, err := bytesOf(v); ok || err != nil {
			return b, false, err
		}
		var b jsutil.Batch
		if ok := b.InstanceOf(v, jsBlob); ok || b.Err() != nil {
			return blobRef{v: v}, b.Err() == nil, b.Err()
		}
	}
	return nil, false, errors.New("serialization none sends a string, an ArrayBuffer, a typed array or a Blob")
}
