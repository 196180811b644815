//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"syscall/js"
	"time"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/sdk"
)

// maxSafeInteger is Number.MAX_SAFE_INTEGER: integers up to it are exact in
// a JavaScript number; larger ones travel as BigInt.
const maxSafeInteger = 1<<53 - 1

// maxDepth bounds the nesting of a value, as the wire format does: a value
// that contains itself stops here instead of recursing forever.
const maxDepth = 64

var (
	jsGlobal      = js.Global()
	jsObject      = jsGlobal.Get("Object")
	jsArray       = jsGlobal.Get("Array")
	jsArrayBuffer = jsGlobal.Get("ArrayBuffer")
	jsUint8Array  = jsGlobal.Get("Uint8Array")
	jsBlob        = jsGlobal.Get("Blob")
	jsFile        = jsGlobal.Get("File")
	jsDate        = jsGlobal.Get("Date")
	jsJSON        = jsGlobal.Get("JSON")
)

// blobRef is a Blob or File met while converting a value to send: its bytes
// are read later, off the event loop (see resolveBlobs).
type blobRef struct {
	v    js.Value
	file bool
}

// converter turns JavaScript values into the Go values the SDK sends.
type converter struct {
	// blobs counts the blobRefs placed, so that a value without any needs
	// no second walk.
	blobs int
}

// fromJS converts a value for the binary serialization: the dynamic forms
// of datapack (nil, bool, int64, float64, string, []byte, []any,
// map[string]any, time.Time) and blobRefs for Blobs and Files.
func (c *converter) fromJS(v js.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("value nested too deeply (or containing itself)")
	}
	t, ok := typeOf(v)
	if !ok { // a BigInt, the one type syscall/js cannot name
		return bigIntFromJS(v)
	}
	switch t {
	case js.TypeUndefined, js.TypeNull:
		return nil, nil
	case js.TypeBoolean:
		return v.Bool(), nil
	case js.TypeNumber:
		return number(v.Float()), nil
	case js.TypeString:
		return v.String(), nil
	case js.TypeObject:
	default:
		return nil, fmt.Errorf("cannot send a %s", t)
	}
	if b, ok := bytesOf(v); ok {
		return b, nil
	}
	switch {
	case v.InstanceOf(jsBlob):
		c.blobs++
		return blobRef{v: v, file: v.InstanceOf(jsFile)}, nil
	case v.InstanceOf(jsDate):
		ms := v.Call("getTime").Float()
		if math.IsNaN(ms) {
			return nil, errors.New("cannot send an invalid Date")
		}
		return time.UnixMilli(int64(ms)).UTC(), nil
	case jsArray.Call("isArray", v).Bool():
		out := make([]any, v.Length())
		for i := range out {
			var err error
			if out[i], err = c.fromJS(v.Index(i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	keys := jsObject.Call("keys", v)
	out := make(map[string]any, keys.Length())
	for i := range keys.Length() {
		k := keys.Index(i).String()
		e, err := c.fromJS(v.Get(k), depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = e
	}
	return out, nil
}

// typeOf is v.Type(), with ok false for a BigInt, for which syscall/js
// panics.
func typeOf(v js.Value) (t js.Type, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return v.Type(), true
}

// number gives an integral number that is exact in JavaScript as an
// integer, so that the far side (a Go peer too) sees one. (-0 never gets
// here: syscall/js passes every zero as +0.)
func number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) <= maxSafeInteger {
		return int64(f)
	}
	return f
}

func bigIntFromJS(v js.Value) (any, error) {
	s := jsGlobal.Call("String", v).String()
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	return nil, fmt.Errorf("cannot send %sn: a BigInt must fit in 64 bits", s)
}

// bytesOf copies the bytes of an ArrayBuffer, a typed array or a DataView.
func bytesOf(v js.Value) ([]byte, bool) {
	var u8 js.Value
	switch {
	case v.InstanceOf(jsArrayBuffer):
		u8 = jsUint8Array.New(v)
	case jsArrayBuffer.Call("isView", v).Bool():
		u8 = jsUint8Array.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
	default:
		return nil, false
	}
	b := make([]byte, u8.Length())
	js.CopyBytesToGo(b, u8)
	return b, true
}

// resolveBlobs replaces every blobRef in v by its bytes: a File for the
// binary serialization (a Blob is a File without a name), or the bare bytes
// when asBytes. It waits on the browser and must not run on the event loop.
func resolveBlobs(ctx context.Context, v any, asBytes bool) (any, error) {
	switch x := v.(type) {
	case blobRef:
		buf, err := jsutil.Await(ctx, x.v.Call("arrayBuffer"))
		if err != nil {
			return nil, fmt.Errorf("reading a Blob: %w", err)
		}
		b, _ := bytesOf(buf)
		if asBytes {
			return b, nil
		}
		f := sdk.File{Type: x.v.Get("type").String(), Data: b}
		if x.file {
			f.Name = x.v.Get("name").String()
		}
		return f, nil
	case []any:
		for i, e := range x {
			var err error
			if x[i], err = resolveBlobs(ctx, e, asBytes); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, e := range x {
			r, err := resolveBlobs(ctx, e, asBytes)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	}
	return v, nil
}

// toJS converts a received value into what a SkyWay page got: binary data
// as an ArrayBuffer, a File as a File (a Blob when it has no name),
// integers beyond 2^53 as BigInt.
func toJS(v any) any {
	switch x := v.(type) {
	case nil:
		return js.Null()
	case bool, string, float64, float32:
		return x
	case int64:
		if x > maxSafeInteger || x < -maxSafeInteger {
			return jsGlobal.Call("BigInt", strconv.FormatInt(x, 10))
		}
		return float64(x)
	case uint64:
		if x > maxSafeInteger {
			return jsGlobal.Call("BigInt", strconv.FormatUint(x, 10))
		}
		return float64(x)
	case int:
		return toJS(int64(x))
	case []byte:
		return arrayBuffer(x)
	case sdk.File:
		parts := jsArray.New(jsUint8Array.New(arrayBuffer(x.Data)))
		opts := map[string]any{"type": x.Type}
		if x.Name == "" {
			return jsBlob.New(parts, opts)
		}
		return jsFile.New(parts, x.Name, opts)
	case time.Time:
		return jsDate.New(float64(x.UnixMilli()))
	case []any:
		out := jsArray.New(len(x))
		for i, e := range x {
			out.SetIndex(i, toJS(e))
		}
		return out
	case map[string]any:
		out := jsObject.New()
		// Go forgets the order of keys; sorted, at least it is stable.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out.Set(k, toJS(x[k]))
		}
		return out
	}
	return js.Undefined()
}

// arrayBuffer copies b into a new ArrayBuffer.
func arrayBuffer(b []byte) js.Value {
	u8 := jsUint8Array.New(len(b))
	js.CopyBytesToJS(u8, b)
	return u8.Get("buffer")
}

// stringify is JSON.stringify(v); a value JSON cannot hold (undefined, a
// function) is an error.
func stringify(v js.Value) (string, error) {
	var out js.Value
	if err := jsutil.Try(func() { out = jsJSON.Call("stringify", v) }); err != nil {
		return "", err
	}
	if out.Type() != js.TypeString {
		return "", errors.New("the value has no JSON form")
	}
	return out.String(), nil
}

// field is v[name], or undefined when v is not an object.
func field(v js.Value, name string) js.Value {
	if t, ok := typeOf(v); !ok || t != js.TypeObject && t != js.TypeFunction {
		return js.Undefined()
	}
	return v.Get(name)
}

func stringOr(v js.Value, def string) string {
	if t, ok := typeOf(v); ok && t == js.TypeString {
		return v.String()
	}
	return def
}

func numberOr(v js.Value, def float64) float64 {
	if t, ok := typeOf(v); ok && t == js.TypeNumber {
		return v.Float()
	}
	return def
}
