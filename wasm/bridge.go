//go:build js && wasm

package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/sdk"
)

// bridge owns the Go side of every JavaScript Peer, connection and room
// object.
type bridge struct {
	emitFn, makeFn safejs.Value

	mu      sync.Mutex
	next    int
	objects map[int]object
	rooms   map[sdk.Room]*roomObject
}

func newBridge(emitFn, makeFn safejs.Value) *bridge {
	return &bridge{
		emitFn: emitFn, makeFn: makeFn,
		objects: map[int]object{}, rooms: map[sdk.Room]*roomObject{},
	}
}

// add enters o in the table and gives it a handle.
func (b *bridge) add(o object) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	o.base().handle = b.next
	b.objects[b.next] = o
	if r, ok := o.(*roomObject); ok {
		b.rooms[r.room] = r
	}
}

// remove takes o out of the table; its JavaScript object lives on as long
// as the page holds it.
func (b *bridge) remove(o object) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, o.base().handle)
	if r, ok := o.(*roomObject); ok {
		delete(b.rooms, r.room)
	}
}

func (b *bridge) lookup(handle int) object {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.objects[handle]
}

// objectOfRoom returns the object of an SDK room, nil if it has none.
func (b *bridge) objectOfRoom(r sdk.Room) *roomObject {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rooms[r]
}

// emit emits the event name on the JavaScript object self. A listener's
// exception is the shim's to report; one that escapes it anyway is logged
// rather than allowed to panic the SDK goroutine that delivers the event.
func (b *bridge) emit(self safejs.Value, name string, args ...any) {
	all := append([]any{self, name}, args...)
	if _, err := b.emitFn.Invoke(all...); err != nil {
		consoleLog("error", "skywasm: emitting "+name+": "+jsutil.FromSafe(err).Error())
	}
}

// settle calls a callback of the page's: a promise's resolve or reject, or
// a callback argument. Its exception is the page's own, logged as an
// uncaught one would be, and keeps no Go code from going on.
func settle(f safejs.Value, args ...any) {
	if _, err := f.Invoke(args...); err != nil {
		consoleLog("error", "skywasm: a callback threw: "+jsutil.FromSafe(err).Error())
	}
}

// emitError emits an error event of err on self.
func (b *bridge) emitError(self safejs.Value, err error) {
	b.emit(self, "error", jsError(err))
}

// internalError is the error a recovered panic becomes.
func internalError(where string, r any) error {
	return &sdk.Error{Type: errInternal, Message: fmt.Sprintf("panic in %s: %v\n%s", where, r, debug.Stack())}
}

// goSafe runs f in a goroutine of its own: for every SDK call that can
// block, which must never run on the JavaScript event loop. A panic in f
// becomes an error event on self, and onPanic, if set, runs after it.
func (b *bridge) goSafe(self safejs.Value, where string, f func(), onPanic func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				b.emitError(self, internalError(where, r))
				if onPanic != nil {
					onPanic()
				}
			}
		}()
		f()
	}()
}

// call is the one function the shim calls: call(method, handle, self,
// ...args). It returns the method's result; a JavaScript Error it returns
// is for the shim to throw, which happens only where SkyWay threw too.
func (b *bridge) call(_ safejs.Value, args []safejs.Value) (result any) {
	if t, ok := jsutil.TypeOf(arg(args, 0)); len(args) < 3 || !ok || t != safejs.TypeString {
		return jsError(fmt.Errorf("skywasm: bad bridge call"))
	}
	name, _ := args[0].String()
	self := args[2]
	defer func() {
		if r := recover(); r != nil {
			b.emitError(self, internalError(name, r))
			result = safejs.Undefined()
		}
	}()
	m, ok := methods[name]
	if !ok {
		return jsError(fmt.Errorf("skywasm: no bridge method %q", name))
	}
	var o object
	if t, ok := jsutil.TypeOf(args[1]); ok && t == safejs.TypeNumber {
		h, _ := args[1].Int()
		o = b.lookup(h)
	}
	return m.call(b, o, self, args[3:])
}

// bridgeMethods are the methods of kind bridge: they act on no object.
var bridgeMethods = map[string]func(b *bridge, self safejs.Value, args []safejs.Value) any{
	"stats":   callStats,
	"newPeer": callNewPeer, // peer.go
}

// callStats returns the Go runtime's figures, for leak tests.
func callStats(b *bridge, _ safejs.Value, _ []safejs.Value) any {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.mu.Lock()
	handles := len(b.objects)
	b.mu.Unlock()
	return map[string]any{
		"goroutines": runtime.NumGoroutine(),
		"heapBytes":  ms.HeapAlloc,
		"handles":    handles,
	}
}

// arg returns args[i], or undefined past the end.
func arg(args []safejs.Value, i int) safejs.Value {
	if i < len(args) {
		return args[i]
	}
	return safejs.Undefined()
}
