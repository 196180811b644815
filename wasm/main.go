//go:build js && wasm

// Command wasm is sdk.wasm: the bridge between the sdk package and the
// JavaScript shim (js/skywasm.js), and nothing else. The shim holds the
// EventEmitter classes a page sees; every call on them comes here, and every
// event they emit comes from here.
//
// The contract with the shim: before running this program the shim sets
// globalThis.__skywasm to {emit, make, ready}. main takes that object off the
// global and calls ready(call), where call(method, handle, self, ...args) is
// the one function through which the shim reaches Go (see methods). Go
// reaches the shim through emit(self, name, ...args), which emits an event on
// the JavaScript object self, and make(kind, handle, props), which creates the
// JavaScript object of a new connection.
//
// No Go panic reaches the page: a panic in a call or in a goroutine the
// bridge started becomes an `error` event (type internal-error) on the object
// concerned, or resolves its promise with a failure.
package main

import (
	"errors"
	"os"
	"runtime/debug"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
)

// hookName is the global through which the shim hands its hooks over.
const hookName = "__skywasm"

// gcPercent is the collector's GOGC unless the page sets one
// (Peer.init({env: {GOGC}})). Go's default, 100, collects each time the
// heap doubles, from 4 MB: a page that made calls paused 12–27 ms for a
// collection every 20 or so (docs/benchmarks.md, call p95). At 400 the heap
// may grow to five times what is live before a collection (the first at
// 16 MB), and collections come a quarter as often.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	hook, err := safejs.Global().Get(hookName)
	if err != nil || hook.Type() != safejs.TypeObject {
		println("skywasm: sdk.wasm must be loaded by skywasm.js, which sets globalThis." + hookName)
		return
	}
	_ = safejs.Global().Delete(hookName)
	emit, err1 := hook.Get("emit")
	makeFn, err2 := hook.Get("make")
	// The bridge's one js.Func lives as long as the program: the page keeps
	// calling it until it unloads.
	b := newBridge(emit, makeFn)
	call, err3 := jsutil.FuncOf(b.call)
	if err := errors.Join(err1, err2, err3); err != nil {
		println("skywasm: the loader's hooks are unusable: " + err.Error())
		return
	}
	defer call.Release()
	if _, err := hook.Call("ready", call); err != nil {
		println("skywasm: the loader's ready hook threw: " + err.Error())
		return
	}
	select {}
}
