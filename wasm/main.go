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

import "syscall/js"

// hookName is the global through which the shim hands its hooks over.
const hookName = "__skywasm"

func main() {
	hook := js.Global().Get(hookName)
	if hook.Type() != js.TypeObject {
		println("skywasm: sdk.wasm must be loaded by skywasm.js, which sets globalThis." + hookName)
		return
	}
	js.Global().Delete(hookName)
	b := newBridge(hook.Get("emit"), hook.Get("make"))
	// The bridge's one js.Func lives as long as the program: the page keeps
	// calling it until it unloads.
	call := js.FuncOf(b.call)
	defer call.Release()
	hook.Call("ready", call)
	select {}
}
