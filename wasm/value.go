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
	"time"

	"github.com/hack-pad/safejs"

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
	jsGlobal = safejs.Global()
	jsObject = global("Object")
	jsArray  = global("Array")
	jsBlob   = global("Blob")
	jsFile   = global("File")
	jsDate   = global("Date")
	jsJSON   = global("JSON")
)

// global is globalThis[name], looked up once at start, before a page's
// script can have replaced it; undefined if it throws.
func global(name string) safejs.Value {
	v, err := jsutil.Get(jsGlobal, name)
	if err != nil {
		return safejs.Undefined()
	}
	return v
}

// blobRef is a Blob or File met while converting a value to send: its bytes
// are read later, off the event loop (see resolveBlobs).
type blobRef struct {
	v    safejs.Value
	file bool
	size int
}

// converter turns JavaScript values into the Go values the SDK sends.
type converter struct {
	// blobs counts the blobRefs placed, so that a value without any needs
	// no second walk.
	blobs int
}

// fromJS converts a value for the binary serialization: the dynamic forms
// of datapack (nil, bool, int64, float64, string, []byte, []any,
// map[string]any, time.Time) and blobRefs for Blobs and Files. A getter of
// the page's that throws makes it fail with that exception.
func (c *converter) fromJS(v safejs.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("value nested too deeply (or containing itself)")
	}
	t, ok := jsutil.TypeOf(v)
	if !ok { // a BigInt, the one type syscall/js cannot name
		return bigIntFromJS(v)
	}
	var b jsutil.Batch
	switch t {
	case safejs.TypeUndefined, safejs.TypeNull:
		return nil, nil
	case safejs.TypeBoolean:
		return b.Bool(v), b.Err()
	case safejs.TypeNumber:
		return number(b.Float(v)), b.Err()
	case safejs.TypeString:
		return b.String(v), b.Err()
	case safejs.TypeObject:
	default:
		return nil, fmt.Errorf("cannot send a %s", t)
	}
	if by, ok, err := bytesOf(v); ok || err != nil {
		return by, err
	}
	switch {
	case b.InstanceOf(v, jsBlob):
		c.blobs++
		ref := blobRef{v: v, file: b.InstanceOf(v, jsFile), size: b.Int(b.Get(v, "size"))}
		return ref, b.Err()
	case b.InstanceOf(v, jsDate):
		ms := b.Float(b.Call(v, "getTime"))
		if b.Err() == nil && math.IsNaN(ms) {
			return nil, errors.New("cannot send an invalid Date")
		}
		return time.UnixMilli(int64(ms)).UTC(), b.Err()
	case b.Bool(b.Call(jsArray, "isArray", v)):
		out := make([]any, b.Length(v))
		for i := range out {
			if b.Err() != nil {
				break
			}
			var err error
			if out[i], err = c.fromJS(b.Index(v, i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, b.Err()
	}
	keys := b.Call(jsObject, "keys", v)
	out := make(map[string]any, b.Length(keys))
	for i := range b.Length(keys) {
		k := b.String(b.Index(keys, i))
		e := b.Get(v, k)
		if b.Err() != nil {
			break
		}
		var err error
		if out[k], err = c.fromJS(e, depth+1); err != nil {
			return nil, err
		}
	}
	return out, b.Err()
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

func bigIntFromJS(v safejs.Value) (any, error) {
	var b jsutil.Batch
	s := b.String(b.Call(jsGlobal, "String", v))
	if err := b.Err(); err != nil {
		return nil, err
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	return nil, fmt.Errorf("cannot send %sn: a BigInt must fit in 64 bits", s)
}

// bytesOf copies the bytes of an ArrayBuffer, a typed array or a DataView;
// ok is false for any other value.
func bytesOf(v safejs.Value) (p []byte, ok bool, err error) {
	b, ok, err := sdk.BytesOf(safejs.Unsafe(v))
	if !ok || err != nil {
		return nil, ok, err
	}
	p, err = b.Copy()
	return p, true, err
}

// resolveBlobs replaces every blobRef in v by its bytes: a File for the
// binary serialization (a Blob is a File without a name), or the bare bytes
// when asBytes. It waits on the browser and must not run on the event loop.
func resolveBlobs(ctx context.Context, v any, asBytes bool) (any, error) {
	switch x := v.(type) {
	case blobRef:
		buf, err := jsutil.Call(ctx, x.v, "arrayBuffer")
		if err != nil {
			return nil, fmt.Errorf("reading a Blob: %w", err)
		}
		data, _, err := bytesOf(buf)
		if err != nil {
			return nil, fmt.Errorf("reading a Blob: %w", err)
		}
		if asBytes {
			return data, nil
		}
		var b jsutil.Batch
		f := sdk.File{Type: b.String(b.Get(x.v, "type")), Data: data}
		if x.file {
			f.Name = b.String(b.Get(x.v, "name"))
		}
		if err := b.Err(); err != nil {
			return nil, fmt.Errorf("reading a Blob: %w", err)
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
// integers beyond 2^53 as BigInt. Only the page's own replacements of
// these constructors can make it fail; then the value is undefined.
func toJS(v any) any {
	var b jsutil.Batch
	out := toJSWith(&b, v)
	if b.Err() != nil {
		return safejs.Undefined()
	}
	return out
}

func toJSWith(b *jsutil.Batch, v any) any {
	switch x := v.(type) {
	case nil:
		return safejs.Null()
	case bool, string, float64, float32:
		return x
	case int64:
		if x > maxSafeInteger || x < -maxSafeInteger {
			return b.Invoke(b.Get(jsGlobal, "BigInt"), strconv.FormatInt(x, 10))
		}
		return float64(x)
	case uint64:
		if x > maxSafeInteger {
			return b.Invoke(b.Get(jsGlobal, "BigInt"), strconv.FormatUint(x, 10))
		}
		return float64(x)
	case int:
		return toJSWith(b, int64(x))
	case []byte:
		return arrayBuffer(b, x)
	case sdk.File:
		return b.File(arrayBuffer(b, x.Data), x.Name, x.Type)
	case time.Time:
		return b.New(jsDate, float64(x.UnixMilli()))
	case []any:
		out := b.New(jsArray, len(x))
		for i, e := range x {
			b.SetIndex(out, i, toJSWith(b, e))
		}
		return out
	case map[string]any:
		out := b.New(jsObject)
		// Go forgets the order of keys; sorted, at least it is stable.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			b.Set(out, k, toJSWith(b, x[k]))
		}
		return out
	}
	return safejs.Undefined()
}

// arrayBuffer copies p into a new ArrayBuffer.
func arrayBuffer(b *jsutil.Batch, p []byte) safejs.Value {
	return b.Get(b.Uint8Array(p), "buffer")
}

// stringify is JSON.stringify(v); a value JSON cannot hold (undefined, a
// function) is an error, and so is an exception of the value's toJSON or
// getters.
func stringify(v safejs.Value) (string, error) {
	out, err := jsJSON.Call("stringify", v)
	if err != nil {
		return "", jsutil.FromSafe(err)
	}
	if out.Type() != safejs.TypeString {
		return "", errors.New("the value has no JSON form")
	}
	return out.String()
}

// field is v[name], or undefined when v is not an object or its getter
// throws (an option that cannot be read is an option not given).
func field(v safejs.Value, name string) safejs.Value {
	if t, ok := jsutil.TypeOf(v); !ok || t != safejs.TypeObject && t != safejs.TypeFunction {
		return safejs.Undefined()
	}
	f, err := jsutil.Get(v, name)
	if err != nil {
		return safejs.Undefined()
	}
	return f
}

func stringOr(v safejs.Value, def string) string {
	if t, ok := jsutil.TypeOf(v); ok && t == safejs.TypeString {
		if s, err := v.String(); err == nil {
			return s
		}
	}
	return def
}

func numberOr(v safejs.Value, def float64) float64 {
	if t, ok := jsutil.TypeOf(v); ok && t == safejs.TypeNumber {
		if f, err := v.Float(); err == nil {
			return f
		}
	}
	return def
}

// isFalse reports whether v is the boolean false (SkyWay's options turn
// things off only with an explicit false).
func isFalse(v safejs.Value) bool {
	if t, ok := jsutil.TypeOf(v); ok && t == safejs.TypeBoolean {
		x, err := v.Bool()
		return err == nil && !x
	}
	return false
}

// is reports whether v is of type t; a BigInt is of none of them.
func is(v safejs.Value, t safejs.Type) bool {
	got, ok := jsutil.TypeOf(v)
	return ok && got == t
}

// str is v as a string, "" if it cannot be read.
func str(v safejs.Value) string {
	s, _ := v.String()
	return s
}

// jsString is String(v), for messages about a value.
func jsString(v safejs.Value) string {
	s, err := jsGlobal.Call("String", v)
	if err != nil {
		return "(a value that cannot be shown)"
	}
	return str(s)
}
