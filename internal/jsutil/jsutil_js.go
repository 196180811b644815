//go:build js && wasm

// Package jsutil holds skywasm's helpers for JavaScript values, on
// github.com/hack-pad/safejs: a JavaScript exception is a Go error here,
// never a panic. It awaits promises from Go, and its Batch runs a sequence
// of operations that fails as a whole. It is for skywasm's own packages.
package jsutil

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/hack-pad/safejs"
)

// Exception is a JavaScript exception or promise rejection as a Go error.
type Exception struct {
	// Name is the exception's name ("TypeError", "InvalidStateError", …),
	// "" when what was thrown was not an Error.
	Name string
	// Message is its message, or what was thrown, as a string.
	Message string
}

func (e *Exception) Error() string {
	if e.Name == "" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

// Error turns a JavaScript exception or rejection reason into an
// *Exception. Reading a thrown value can throw again (a getter on it); then
// the message says so.
func Error(v safejs.Value) error {
	if t, ok := TypeOf(v); ok && t == safejs.TypeObject {
		var b Batch
		name, msg := b.Get(v, "name"), b.Get(v, "message")
		if b.Err() == nil && msg.Type() == safejs.TypeString {
			e := &Exception{Message: b.String(msg)}
			if name.Type() == safejs.TypeString {
				e.Name = b.String(name)
			}
			if b.Err() == nil {
				return e
			}
		}
	}
	s, err := safejs.Global().Call("String", v)
	if err != nil {
		return &Exception{Message: "an exception that cannot be turned into a string"}
	}
	str, _ := s.String()
	return &Exception{Message: str}
}

// FromSafe turns an error of safejs into an *Exception; other errors (a
// value syscall/js cannot convert) pass unchanged.
func FromSafe(err error) error { return fromGo(err) }

func fromGo(err error) error {
	if err == nil {
		return nil
	}
	var je js.Error
	if errors.As(err, &je) {
		return Error(safejs.Safe(je.Value))
	}
	return err
}

// Property access goes through Reflect, called: Go's wasm_exec.js catches
// an exception only in a call (valueCall, valueInvoke, valueNew); one
// thrown by a getter or a Proxy trap during a plain get, set or instanceof
// (valueGet, valueSet, valueInstanceOf) escapes into the wasm program and
// ends it, safejs or not. Reflect's functions and isPrototypeOf are looked
// up once, before a page's script can replace them, and invoked as
// functions: Value.Call would send the method's name, a string JavaScript
// decodes anew each time, and an argument list becomes a JavaScript array
// built an element at a time, where Invoke passes its arguments as they
// are. That is most of the cost of a property read, which the data path
// makes per message.
var (
	jsReflect     = mustGlobal("Reflect")
	reflectGet    = mustGet(jsReflect, "get")
	reflectSet    = mustGet(jsReflect, "set")
	isPrototypeOf = mustGet(mustGet(mustGlobal("Object"), "prototype"), "isPrototypeOf")
	// callFn(f, this, ...args) is f.call(this, ...args):
	// Function.prototype.call bound to itself.
	callFn = mustBind(mustGet(mustGet(mustGlobal("Function"), "prototype"), "call"))
)

func mustGlobal(name string) safejs.Value { return mustGet(safejs.Global(), name) }

func mustGet(v safejs.Value, p string) safejs.Value {
	r, err := v.Get(p)
	if err != nil {
		panic("jsutil: the page has no " + p + ": " + err.Error())
	}
	return r
}

// mustBind is f.bind(f).
func mustBind(f safejs.Value) safejs.Value {
	r, err := f.Call("bind", f)
	if err != nil {
		panic("jsutil: cannot bind Function.prototype.call: " + err.Error())
	}
	return r
}

func invoke(f safejs.Value, args ...any) (safejs.Value, error) {
	r, err := f.Invoke(args...)
	return r, fromGo(err)
}

// Get is v[p], with an exception of a getter or Proxy as an error; for a
// v that is not an object, an error.
func Get(v safejs.Value, p string) (safejs.Value, error) {
	if t, ok := TypeOf(v); !ok || t != safejs.TypeObject && t != safejs.TypeFunction {
		return safejs.Undefined(), fmt.Errorf("jsutil: reading %s of a %s", p, typeName(v))
	}
	return invoke(reflectGet, v, p)
}

// CallMethod is v.m(args...), as Reflect.get(v, m).call(v, ...args):
// Value.Call of syscall/js, after catching an exception, reads v[m] again
// to word its panic, and that second read is not caught — a getter or a
// revoked Proxy that threw once throws again, uncaught.
func CallMethod(v safejs.Value, m string, args ...any) (safejs.Value, error) {
	f, err := Get(v, m)
	if err != nil {
		return safejs.Undefined(), err
	}
	if f.Type() != safejs.TypeFunction {
		return safejs.Undefined(), fmt.Errorf("jsutil: %s is a %s, not a method", m, typeName(f))
	}
	return invoke(callFn, append([]any{f, v}, args...)...)
}

// Await waits for promise to settle and returns its value, or its reason as
// an error. It must be called from a goroutine, never from a js.Func
// callback, which would block the event loop the promise needs. Its two
// callbacks are released when the promise settles, not when ctx ends: a
// released js.Func that the promise still calls would crash the program.
func Await(ctx context.Context, promise safejs.Value) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	var resolve, reject safejs.Func
	settle := func(r result) {
		resolve.Release()
		reject.Release()
		ch <- r
	}
	var err error
	resolve, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		settle(result{v: arg(args)})
		return nil
	})
	if err != nil {
		return safejs.Undefined(), fromGo(err)
	}
	reject, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		settle(result{err: Error(arg(args))})
		return nil
	})
	if err != nil {
		resolve.Release()
		return safejs.Undefined(), fromGo(err)
	}
	if _, err := CallMethod(promise, "then", resolve, reject); err != nil {
		// then itself threw: neither callback will run.
		resolve.Release()
		reject.Release()
		return safejs.Undefined(), fromGo(err)
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return safejs.Undefined(), ctx.Err()
	}
}

// Call calls the method m of v and awaits the promise it returns.
func Call(ctx context.Context, v safejs.Value, m string, args ...any) (safejs.Value, error) {
	p, err := CallMethod(v, m, args...)
	if err != nil {
		return safejs.Undefined(), err
	}
	return Await(ctx, p)
}

func arg(args []safejs.Value) safejs.Value {
	if len(args) == 0 {
		return safejs.Undefined()
	}
	return args[0]
}

// TypeOf is v.Type(), with ok false for a BigInt, which neither syscall/js
// nor safejs can name (they panic).
func TypeOf(v safejs.Value) (t safejs.Type, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return v.Type(), true
}

func typeName(v safejs.Value) string {
	if t, ok := TypeOf(v); ok {
		return t.String()
	}
	return "bigint"
}
