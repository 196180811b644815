//go:build js && wasm

package jsutil

import (
	"sync/atomic"

	"github.com/hack-pad/safejs"
)

// FuncOf is safejs.FuncOf, but fn runs on one worker goroutine shared by
// every function made here, whose stack stays grown.
//
// Go's wasm runtime runs each call from JavaScript on a goroutine it starts
// with the smallest stack. The first deep frames of a call grow that stack,
// which copies every frame and reads each one's stack map
// (runtime.pcvalue), on every call: in Chromium about 17 ms of a warm new
// Peer()'s first 40, and a share of every data-channel message. Handing the
// call to the worker costs two goroutine switches and no call into
// JavaScript, since the runtime returns to JavaScript only once every
// goroutine waits.
//
// A call that comes while the worker runs one, which only a call from
// inside it into JavaScript can cause (a listener that calls back), runs
// where it came, on the runtime's goroutine, as every call did before: the
// worker is busy further up the same JavaScript stack. So does a call that
// comes while the worker waits in a call that blocks, which fn must not do.
func FuncOf(fn func(this safejs.Value, args []safejs.Value) any) (safejs.Func, error) {
	return safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		if working.Load() {
			return fn(this, args)
		}
		jobs <- job{fn: fn, this: this, args: args}
		return (<-results).result
	})
}

type job struct {
	fn     func(safejs.Value, []safejs.Value) any
	this   safejs.Value
	args   []safejs.Value
	result any
}

var (
	jobs, results = make(chan job), make(chan job)
	working       atomic.Bool // the worker runs a call
)

func init() { go work() }

// work is the worker's loop, for the life of the program.
func work() {
	for j := range jobs {
		working.Store(true)
		j.result = j.fn(j.this, j.args)
		working.Store(false)
		j.fn, j.this, j.args = nil, safejs.Value{}, nil
		results <- j
	}
}
