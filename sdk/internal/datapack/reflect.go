//go:build !js

package datapack

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"
)

// encodeFunc appends to b the encoding of v, a value of the type the func
// was made for, found inside depth arrays and maps. On error the bytes it
// returns are to be dropped.
type encodeFunc func(b []byte, v reflect.Value, depth int) ([]byte, error)

// encodeFuncs caches the encodeFunc of each type Encode has met, so that
// methods are looked up and struct tags read once per type, not per value.
var encodeFuncs sync.Map // reflect.Type → encodeFunc

var (
	timeType          = reflect.TypeFor[time.Time]()
	fileType          = reflect.TypeFor[File]()
	mapStringAnyType  = reflect.TypeFor[map[string]any]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// appendReflect appends v, a value the type switch of appendValue does not
// know, by reflection.
func appendReflect(b []byte, v any, depth int) ([]byte, error) {
	rv := reflect.ValueOf(v)
	return encodeFuncOf(rv.Type())(b, rv, depth)
}

// encodeFuncOf returns the encodeFunc of t, made once.
func encodeFuncOf(t reflect.Type) encodeFunc {
	if f, ok := encodeFuncs.Load(t); ok {
		return f.(encodeFunc)
	}
	// A recursive type (type node struct{ Next *node }) meets itself while
	// its func is being made: it gets a func that waits for the real one,
	// which making never calls.
	var (
		made sync.WaitGroup
		f    encodeFunc
	)
	made.Add(1)
	placeholder, loaded := encodeFuncs.LoadOrStore(t, encodeFunc(func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		made.Wait()
		return f(b, v, depth)
	}))
	if loaded {
		return placeholder.(encodeFunc)
	}
	f = newEncodeFunc(t)
	made.Done()
	encodeFuncs.Store(t, f)
	return f
}

func newEncodeFunc(t reflect.Type) encodeFunc {
	switch t {
	case timeType:
		return encodeTime
	case fileType:
		return encodeFile
	}
	// A pointer or an interface is what it holds: its methods are those of
	// its target, consulted there.
	if k := t.Kind(); k != reflect.Pointer && k != reflect.Interface {
		if t.Implements(textMarshalerType) {
			return encodeText
		}
		if reflect.PointerTo(t).Implements(textMarshalerType) {
			// As encoding/json: the method applies where the value
			// has an address, such as a field reached by a pointer.
			byKind := newKindEncodeFunc(t)
			return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
				if v.CanAddr() {
					return encodeText(b, v.Addr(), depth)
				}
				return byKind(b, v, depth)
			}
		}
	}
	return newKindEncodeFunc(t)
}

func newKindEncodeFunc(t reflect.Type) encodeFunc {
	switch t.Kind() {
	case reflect.Bool:
		return encodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return encodeInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return encodeUint
	case reflect.Float32:
		return encodeFloat32
	case reflect.Float64:
		return encodeFloat64
	case reflect.String:
		return encodeString
	case reflect.Slice, reflect.Array:
		if isBytes(t) {
			return encodeBytes
		}
		return newArrayEncodeFunc(t)
	case reflect.Map:
		return newMapEncodeFunc(t)
	case reflect.Struct:
		return newStructEncodeFunc(t)
	case reflect.Pointer:
		return newPointerEncodeFunc(t)
	case reflect.Interface:
		return encodeInterface
	}
	// A chan, a func, a complex number, an unsafe.Pointer, a uintptr: even
	// a nil one, as in encoding/json.
	err := fmt.Errorf("%w: %v", ErrUnsupported, t)
	return func(b []byte, _ reflect.Value, _ int) ([]byte, error) { return b, err }
}

func encodeBool(b []byte, v reflect.Value, _ int) ([]byte, error) {
	if v.Bool() {
		return append(b, codeTrue), nil
	}
	return append(b, codeFalse), nil
}

func encodeInt(b []byte, v reflect.Value, _ int) ([]byte, error) {
	return appendInt(b, v.Int()), nil
}

func encodeUint(b []byte, v reflect.Value, _ int) ([]byte, error) {
	return appendUint(b, v.Uint()), nil
}

func encodeFloat32(b []byte, v reflect.Value, _ int) ([]byte, error) {
	return appendFloat32(b, float32(v.Float())), nil
}

func encodeFloat64(b []byte, v reflect.Value, _ int) ([]byte, error) {
	return appendFloat64(b, v.Float()), nil
}

func encodeString(b []byte, v reflect.Value, _ int) ([]byte, error) {
	return appendStr(b, v.String())
}

// appendStr appends s as a str value.
func appendStr(b []byte, s string) ([]byte, error) {
	if !fitsLen(len(s)) {
		return b, fmt.Errorf("%w: string of %d bytes", ErrTooLarge, len(s))
	}
	return append(appendStrHeader(b, len(s)), s...), nil
}

// isBytes reports whether t, a slice or an array, is packed as bin. As in
// encoding/json, elements that are TextMarshalers make it an array.
func isBytes(t reflect.Type) bool {
	el := t.Elem()
	return el.Kind() == reflect.Uint8 && !reflect.PointerTo(el).Implements(textMarshalerType)
}

// encodeBytes appends a slice or an array of bytes as bin.
func encodeBytes(b []byte, v reflect.Value, _ int) ([]byte, error) {
	if v.Kind() == reflect.Slice && v.IsNil() {
		return append(b, codeNil), nil
	}
	n := v.Len()
	if !fitsLen(n) {
		return b, fmt.Errorf("%w: %v of %d bytes", ErrTooLarge, v.Type(), n)
	}
	b = appendBinHeader(b, n)
	if v.Kind() == reflect.Slice || v.CanAddr() {
		return append(b, v.Bytes()...), nil
	}
	// An array without an address has no []byte to give.
	for i := range n {
		b = append(b, byte(v.Index(i).Uint()))
	}
	return b, nil
}

func newArrayEncodeFunc(t reflect.Type) encodeFunc {
	elem := encodeFuncOf(t.Elem())
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(b, codeNil), nil
		}
		if depth >= MaxDepth {
			return b, errTooDeep()
		}
		n := v.Len()
		if !fitsLen(n) {
			return b, fmt.Errorf("%w: %v of %d elements", ErrTooLarge, v.Type(), n)
		}
		b = appendArrayHeader(b, n)
		for i := range n {
			var err error
			if b, err = elem(b, v.Index(i), depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
}

func newMapEncodeFunc(t reflect.Type) encodeFunc {
	if t == mapStringAnyType {
		// The type switch knows it, and iterates without reflection.
		return encodeInterface
	}
	key := keyFuncOf(t.Key())
	elem := encodeFuncOf(t.Elem())
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, codeNil), nil
		}
		if depth >= MaxDepth {
			return b, errTooDeep()
		}
		n := v.Len()
		if !fitsLen(n) {
			return b, fmt.Errorf("%w: %v of %d entries", ErrTooLarge, v.Type(), n)
		}
		b = appendMapHeader(b, n)
		// One key and one value, set in turn to each entry, rather than
		// a copy of each.
		k := reflect.New(t.Key()).Elem()
		x := reflect.New(t.Elem()).Elem()
		for it := v.MapRange(); it.Next(); {
			k.SetIterKey(it)
			x.SetIterValue(it)
			var err error
			if b, err = key(b, k); err != nil {
				return b, err
			}
			if b, err = elem(b, x, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
}

// keyFunc appends a map key as a str.
type keyFunc func(b []byte, k reflect.Value) ([]byte, error)

// keyFuncOf returns the keyFunc of keys of type t. The order of the cases
// is encoding/json's, so a key comes out as it would in JSON.
func keyFuncOf(t reflect.Type) keyFunc {
	switch t.Kind() {
	case reflect.String:
		return func(b []byte, k reflect.Value) ([]byte, error) { return appendStr(b, k.String()) }
	case reflect.Interface:
		// Whatever the key holds decides, as for map[any]any from a
		// YAML decoder, whose keys are mostly strings.
		return func(b []byte, k reflect.Value) ([]byte, error) {
			if k.IsNil() {
				return b, badKey(t)
			}
			k = k.Elem()
			return keyFuncOf(k.Type())(b, k)
		}
	}
	if t.Implements(textMarshalerType) {
		return func(b []byte, k reflect.Value) ([]byte, error) {
			if k.Kind() == reflect.Pointer && k.IsNil() {
				return appendStr(b, "")
			}
			return encodeText(b, k, 0)
		}
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b []byte, k reflect.Value) ([]byte, error) {
			var digits [20]byte
			return appendDecimal(b, strconv.AppendInt(digits[:0], k.Int(), 10)), nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(b []byte, k reflect.Value) ([]byte, error) {
			var digits [20]byte
			return appendDecimal(b, strconv.AppendUint(digits[:0], k.Uint(), 10)), nil
		}
	}
	return func(b []byte, _ reflect.Value) ([]byte, error) { return b, badKey(t) }
}

// appendDecimal appends the digits of an integer key as a str.
func appendDecimal(b, digits []byte) []byte {
	return append(appendStrHeader(b, len(digits)), digits...)
}

// badKey is the error for a map key of type t, which Decode would refuse.
// It is ErrInvalid as well, the error Encode has always given for such a
// map.
func badKey(t reflect.Type) error {
	return fmt.Errorf("%w: a map key of type %v, want a string or an integer (%w)", ErrUnsupported, t, ErrInvalid)
}

func newPointerEncodeFunc(t reflect.Type) encodeFunc {
	if k := t.Elem().Kind(); k == reflect.Pointer || k == reflect.Interface {
		return encodeIndirect
	}
	elem := encodeFuncOf(t.Elem())
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, codeNil), nil
		}
		return elem(b, v.Elem(), depth)
	}
}

// encodeIndirect follows a chain of pointers and interfaces, MaxDepth links
// at most: a pointer to itself (type P *P, or an any holding its own
// address) nests no array or map, so depth alone would not stop it.
func encodeIndirect(b []byte, v reflect.Value, depth int) ([]byte, error) {
	for range MaxDepth {
		if v.IsNil() {
			return append(b, codeNil), nil
		}
		v = v.Elem()
		if k := v.Kind(); k != reflect.Pointer && k != reflect.Interface {
			return encodeFuncOf(v.Type())(b, v, depth)
		}
	}
	return b, fmt.Errorf("%w: over %d pointers in a row", ErrTooDeep, MaxDepth)
}

// encodeInterface appends what an interface holds, or a map[string]any,
// through the type switch.
func encodeInterface(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(b, codeNil), nil
	}
	// Neither an interface nor a map is copied by Interface.
	return appendValue(b, v.Interface(), depth)
}

// encodeText appends v's MarshalText as a str.
func encodeText(b []byte, v reflect.Value, _ int) ([]byte, error) {
	text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return b, fmt.Errorf("%w: %v: %w", ErrUnsupported, v.Type(), err)
	}
	if !fitsLen(len(text)) {
		return b, fmt.Errorf("%w: %v of %d bytes of text", ErrTooLarge, v.Type(), len(text))
	}
	return append(appendStrHeader(b, len(text)), text...), nil
}

func encodeTime(b []byte, v reflect.Value, _ int) ([]byte, error) {
	// Through a pointer, Interface does not copy the time.
	var t time.Time
	if v.CanAddr() {
		t = *v.Addr().Interface().(*time.Time)
	} else {
		t = v.Interface().(time.Time)
	}
	return appendTime(b, t), nil
}

func encodeFile(b []byte, v reflect.Value, _ int) ([]byte, error) {
	if v.CanAddr() {
		return appendFile(b, v.Addr().Interface().(*File))
	}
	// Field by field, in File's order, as Interface would copy the File
	// onto the heap; Data is shared either way.
	f := File{Name: v.Field(0).String(), Type: v.Field(1).String(), Data: v.Field(2).Bytes()}
	return appendFile(b, &f)
}
