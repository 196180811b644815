//go:build js && wasm

package main

import (
	"fmt"

	"github.com/hack-pad/safejs"
)

// kind names a kind of JavaScript object that the bridge serves. The shim's
// bridgeMethods literal (js/skywasm.js) lists the methods of each kind under
// the same name; TestMethodsMatchShim holds the two lists together.
type kind string

const (
	// kindBridge is the kind of the methods that act on no object: the
	// handle they are given is ignored.
	kindBridge kind = "bridge"
	kindPeer   kind = "peer"
	// kindConnection is the kind of the methods that both a
	// MediaConnection and a DataConnection have.
	kindConnection kind = "connection"
	kindMedia      kind = "media"
	kindData       kind = "data"
	// kindRoom is a MeshRoom's or an SFURoom's: the methods of only one
	// of them answer as SkyWay did for the other (nothing, or empty).
	kindRoom kind = "room"
)

// object is one JavaScript object's Go side: a *peerObject,
// *mediaObject, *dataObject or *roomObject. An object leaves the bridge's
// table after its close event: later calls find nothing and act as on a
// closed object, emitting on the self they are given.
type object interface {
	base() *objectBase
	// kind is the kind of object it is, as error messages name it.
	kind() kind
}

// objectBase is what every object has: self is the JavaScript object itself;
// handle is how the shim names it in calls.
type objectBase struct {
	handle int
	self   safejs.Value
}

func (o *objectBase) base() *objectBase { return o }

// handler is the implementation of a bridge method of objects of type T. o
// is nil when the handle names no live object (it closed, or never
// existed): each method answers that as SkyWay did on a closed object.
type handler[T object] func(b *bridge, o T, self safejs.Value, args []safejs.Value) any

// method is one entry of the bridge. o is the object of the handle, nil if
// there is none.
type method struct {
	kind kind
	call func(b *bridge, o object, self safejs.Value, args []safejs.Value) any
}

// methods maps the names the shim calls to their implementations; one name
// belongs to one kind only.
var methods = map[string]method{}

func init() {
	for name, f := range bridgeMethods {
		add(name, method{kind: kindBridge, call: func(b *bridge, _ object, self safejs.Value, args []safejs.Value) any {
			return f(b, self, args)
		}})
	}
	addKind(kindPeer, peerMethods)
	addKind(kindConnection, connMethods)
	addKind(kindMedia, mediaMethods)
	addKind(kindData, dataMethods)
	addKind(kindRoom, roomMethods)
}

func add(name string, m method) {
	if prev, ok := methods[name]; ok {
		panic(fmt.Sprintf("skywasm: bridge method %q is both a %s and a %s method", name, prev.kind, m.kind))
	}
	methods[name] = m
}

// addKind enters the methods of objects of type T. A handle naming a live
// object of another type is the shim's bug: the call returns an Error for it
// to throw, and the handler never sees the object.
func addKind[T object](k kind, table map[string]handler[T]) {
	for name, h := range table {
		add(name, method{kind: k, call: func(b *bridge, o object, self safejs.Value, args []safejs.Value) any {
			var t T
			if o != nil {
				var ok bool
				if t, ok = o.(T); !ok {
					return jsError(fmt.Errorf("skywasm: bridge method %q is a %s method, called on a %s", name, k, o.kind()))
				}
			}
			return h(b, t, self, args)
		}})
	}
}

// methodNames returns the names of the methods of each kind, for the test
// that compares them with the shim's.
func methodNames() map[kind][]string {
	out := map[kind][]string{}
	for name, m := range methods {
		out[m.kind] = append(out[m.kind], name)
	}
	return out
}
