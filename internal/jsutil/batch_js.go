//go:build js && wasm

package jsutil

import (
	"github.com/hack-pad/safejs"
)

// Batch runs JavaScript operations through safejs and keeps the first
// error: once one has failed, the rest do nothing and return zero values
// (undefined for a Value), so a sequence of property reads and calls is
// written as one and checked once, with Err, the way bufio.Writer keeps
// its errors. A Batch's zero value is ready; it is not safe for concurrent
// use.
type Batch struct {
	err error
}

// Err is the first error, an *Exception for a JavaScript exception.
func (b *Batch) Err() error { return b.err }

// Fail records err as the batch's error, unless it has one already.
func (b *Batch) Fail(err error) {
	if b.err == nil && err != nil {
		b.err = fromGo(err)
	}
}

func value(b *Batch, v safejs.Value, err error) safejs.Value {
	if err != nil {
		b.Fail(err)
		return safejs.Undefined()
	}
	return v
}

// Get is v[p].
func (b *Batch) Get(v safejs.Value, p string) safejs.Value {
	if b.err != nil {
		return safejs.Undefined()
	}
	r, err := Get(v, p)
	return value(b, r, err)
}

// Index is v[i].
func (b *Batch) Index(v safejs.Value, i int) safejs.Value {
	if b.err != nil {
		return safejs.Undefined()
	}
	r, err := invoke(reflectGet, v, i)
	return value(b, r, err)
}

// Set is v[p] = x.
func (b *Batch) Set(v safejs.Value, p string, x any) {
	if b.err == nil {
		_, err := invoke(reflectSet, v, p, x)
		b.Fail(err)
	}
}

// SetIndex is v[i] = x.
func (b *Batch) SetIndex(v safejs.Value, i int, x any) {
	if b.err == nil {
		_, err := invoke(reflectSet, v, i, x)
		b.Fail(err)
	}
}

// Call is v.m(args...).
func (b *Batch) Call(v safejs.Value, m string, args ...any) safejs.Value {
	if b.err != nil {
		return safejs.Undefined()
	}
	r, err := CallMethod(v, m, args...)
	return value(b, r, err)
}

// Invoke is v(args...).
func (b *Batch) Invoke(v safejs.Value, args ...any) safejs.Value {
	if b.err != nil {
		return safejs.Undefined()
	}
	r, err := v.Invoke(args...)
	return value(b, r, err)
}

// New is new v(args...).
func (b *Batch) New(v safejs.Value, args ...any) safejs.Value {
	if b.err != nil {
		return safejs.Undefined()
	}
	r, err := v.New(args...)
	return value(b, r, err)
}

// ValueOf is safejs.ValueOf(x).
func (b *Batch) ValueOf(x any) safejs.Value {
	if b.err != nil {
		return safejs.Undefined()
	}
	r, err := safejs.ValueOf(x)
	return value(b, r, err)
}

// String is v as a string (see safejs.Value.String for non-strings).
func (b *Batch) String(v safejs.Value) string {
	if b.err != nil {
		return ""
	}
	s, err := v.String()
	b.Fail(err)
	return s
}

// Int is v, a number, truncated to an int.
func (b *Batch) Int(v safejs.Value) int {
	if b.err != nil {
		return 0
	}
	n, err := v.Int()
	b.Fail(err)
	return n
}

// Float is v, a number.
func (b *Batch) Float(v safejs.Value) float64 {
	if b.err != nil {
		return 0
	}
	f, err := v.Float()
	b.Fail(err)
	return f
}

// Bool is v, a boolean.
func (b *Batch) Bool(v safejs.Value) bool {
	if b.err != nil {
		return false
	}
	x, err := v.Bool()
	b.Fail(err)
	return x
}

// Truthy is v's truthiness.
func (b *Batch) Truthy(v safejs.Value) bool {
	if b.err != nil {
		return false
	}
	x, err := v.Truthy()
	b.Fail(err)
	return x
}

// Length is v.length.
func (b *Batch) Length(v safejs.Value) int {
	return b.Int(b.Get(v, "length"))
}

// InstanceOf is v instanceof t, for a constructor t: whether t.prototype
// is in v's prototype chain (Object.prototype.isPrototypeOf, which a
// revoked Proxy makes throw, as instanceof would).
func (b *Batch) InstanceOf(v, t safejs.Value) bool {
	if b.err != nil {
		return false
	}
	if tv, ok := TypeOf(v); !ok || tv != safejs.TypeObject && tv != safejs.TypeFunction {
		return false
	}
	proto := b.Get(t, "prototype")
	if b.err != nil {
		return false
	}
	r, err := invoke(callFn, isPrototypeOf, proto, v)
	return b.Bool(value(b, r, err))
}

// CopyBytesToGo copies the bytes of the Uint8Array src into a new slice.
func (b *Batch) CopyBytesToGo(src safejs.Value) []byte {
	n := b.Length(src)
	if b.err != nil {
		return nil
	}
	out := make([]byte, n)
	_, err := safejs.CopyBytesToGo(out, src)
	b.Fail(err)
	return out
}

// Uint8Array is a new Uint8Array holding a copy of p.
func (b *Batch) Uint8Array(p []byte) safejs.Value {
	u8 := b.New(b.Get(safejs.Global(), "Uint8Array"), len(p))
	if b.err == nil {
		_, err := safejs.CopyBytesToJS(u8, p)
		b.Fail(err)
	}
	return u8
}

// Global is globalThis[name].
func (b *Batch) Global(name string) safejs.Value {
	return b.Get(safejs.Global(), name)
}

// The constructors File uses, looked up once at start, before a page's
// script can have replaced them; undefined where the host lacks one.
var (
	jsArray      = globalOrUndefined("Array")
	jsUint8Array = globalOrUndefined("Uint8Array")
	jsObject     = globalOrUndefined("Object")
	jsBlob       = globalOrUndefined("Blob")
	jsFile       = globalOrUndefined("File")
)

func globalOrUndefined(name string) safejs.Value {
	v, err := Get(safejs.Global(), name)
	if err != nil {
		return safejs.Undefined()
	}
	return v
}

// File is what a received File becomes in the page: a File of the bytes of
// the ArrayBuffer buf, named name, of MIME type typ; a Blob when name is ""
// (a Blob is sent as a File without a name).
func (b *Batch) File(buf safejs.Value, name, typ string) safejs.Value {
	parts := b.New(jsArray, b.New(jsUint8Array, buf))
	opts := b.New(jsObject)
	b.Set(opts, "type", typ)
	if name == "" {
		return b.New(jsBlob, parts, opts)
	}
	return b.New(jsFile, parts, name, opts)
}
