//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/skywasm/skywasm/sdk"
)

// sendQueue keeps a DataConnection's sends in the order the page made them.
// send() returns at once, as SkyWay's did; one goroutine, alive only while
// the queue holds something, hands the values to the SDK, which waits while
// the channel is full. That is what keeps a large transfer from freezing the
// page or filling memory beyond what the page itself queued.
type sendQueue struct {
	mu      sync.Mutex
	jobs    []sendJob
	running bool
}

// sendJob is one send: its value, converted when send() was called so that
// a later change by the page does not alter it, and the promise's resolve.
type sendJob struct {
	value   any
	blobs   bool
	resolve js.Value
}

// callSend is dataConnection.send(data); the shim passes the resolve of the
// promise it returns, which gets true once the value is handed to the
// channel and false if it was not sent, in which case an error event says
// why.
func callSend(b *bridge, o *object, self js.Value, args []js.Value) any {
	data, resolve := arg(args, 0), arg(args, 1)
	fail := func(err error) any {
		b.emitError(self, err)
		resolve.Invoke(false)
		return js.Undefined()
	}
	if o == nil || o.data == nil {
		return fail(sdk.ErrClosed)
	}
	if !o.data.Open() {
		return fail(sdk.ErrNotOpen)
	}
	job := sendJob{resolve: resolve}
	var err error
	switch o.data.Serialization() {
	case sdk.SerializationJSON:
		var text string
		if text, err = stringify(data); err == nil {
			job.value = json.RawMessage(text)
		}
	case sdk.SerializationNone:
		job.value, job.blobs, err = rawValue(data)
	default:
		var c converter
		job.value, err = c.fromJS(data, 0)
		job.blobs = c.blobs > 0
	}
	if err != nil {
		return fail(fmt.Errorf("skywasm: send: %w", err))
	}
	q := o.sends
	q.mu.Lock()
	q.jobs = append(q.jobs, job)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		b.goSafe(self, "send", func() { b.drain(o, self) }, func() {
			q.mu.Lock()
			q.running = false
			q.mu.Unlock()
		})
	}
	return js.Undefined()
}

// drain sends the queued values one by one until the queue is empty.
func (b *bridge) drain(o *object, self js.Value) {
	q := o.sends
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		job := q.jobs[0]
		q.jobs[0] = sendJob{}
		q.jobs = q.jobs[1:]
		q.mu.Unlock()

		ctx := context.Background()
		v, err := job.value, error(nil)
		if job.blobs {
			v, err = resolveBlobs(ctx, v, o.data.Serialization() == sdk.SerializationNone)
		}
		if err == nil {
			err = o.data.Send(ctx, v)
		}
		if err != nil {
			b.emitError(self, fmt.Errorf("skywasm: send: %w", err))
		}
		job.resolve.Invoke(err == nil)
	}
}

// rawValue takes a value for the `none` serialization: a string goes as
// text, binary data (a Blob once read) as bytes, as RTCDataChannel.send
// takes them.
func rawValue(v js.Value) (value any, blob bool, err error) {
	if t, ok := typeOf(v); ok && t == js.TypeString {
		return v.String(), false, nil
	}
	if t, ok := typeOf(v); ok && t == js.TypeObject {
		if b, ok := bytesOf(v); ok {
			return b, false, nil
		}
		if v.InstanceOf(jsBlob) {
			return blobRef{v: v}, true, nil
		}
	}
	return nil, false, errors.New("serialization none sends a string, an ArrayBuffer, a typed array or a Blob")
}
