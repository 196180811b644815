//go:build js && wasm

// Package jsutil holds the SDK's helpers for JavaScript values: awaiting
// promises from Go. It is for skywasm's own packages.
package jsutil

import (
	"context"
	"errors"
	"syscall/js"
)

// Await waits for promise to settle and returns its value, or its reason as
// an error. It must be called from a goroutine, never from a js.Func
// callback, which would block the event loop the promise needs. Its two
// callbacks are released when the promise settles, not when ctx ends: a
// released js.Func that the promise still calls would crash the program.
func Await(ctx context.Context, promise js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var resolve, reject js.Func
	settle := func(r result) {
		resolve.Release()
		reject.Release()
		ch <- r
	}
	resolve = js.FuncOf(func(_ js.Value, args []js.Value) any {
		settle(result{v: arg(args)})
		return nil
	})
	reject = js.FuncOf(func(_ js.Value, args []js.Value) any {
		settle(result{err: Error(arg(args))})
		return nil
	})
	promise.Call("then", resolve, reject)
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

func arg(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// Error turns a JavaScript exception or rejection reason into an error.
func Error(v js.Value) error {
	if v.Type() == js.TypeObject {
		if msg := v.Get("message"); msg.Type() == js.TypeString {
			name := v.Get("name")
			if name.Type() == js.TypeString {
				return errors.New(name.String() + ": " + msg.String())
			}
			return errors.New(msg.String())
		}
	}
	return errors.New(js.Global().Call("String", v).String())
}

// Try runs f and returns a JavaScript exception it throws as an error,
// instead of the panic syscall/js makes of it.
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if jsErr, ok := r.(js.Error); ok {
				err = Error(jsErr.Value)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}
