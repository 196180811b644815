// Package minjson encodes and decodes the JSON of skywasm's wire messages
// with a fraction of encoding/json's code: in the browser build, where
// encoding/json's reflection machinery is about 50 KiB of sdk.wasm's brotli
// bytes, and nothing in pion's browser build reaches it.
//
// It handles what the protocol's payloads and a JavaScript value's JSON
// are made of: booleans, numbers (every int, uint and float kind), strings
// (and types whose kind is string), pointers, slices, arrays, maps with
// string keys, structs with `json:"name,omitempty"` tags (or their field
// names; "-" skips), json.RawMessage, and `any`, which decodes as
// encoding/json does (map[string]any, []any, float64, string, bool, nil).
// Where it decodes, it decodes as encoding/json: object keys match field
// names exactly first and then case-insensitively, unknown keys are
// skipped, a later key wins, null leaves a value alone or zeroes a pointer,
// slice, map or interface, and a json.RawMessage gets the value's bytes.
//
// What it does not do, on purpose: call MarshalJSON, UnmarshalJSON or the
// text marshalers (interface calls would keep other types' JSON methods,
// and with them encoding/json, in the module), promote embedded structs,
// the ",string" option, or []byte as base64; such a type is an
// *UnsupportedTypeError. It does not escape <, > and & for HTML. Unlike
// encoding/json it stops at the first error, and it refuses text that is
// not UTF-8 (jsonscan's rule) rather than replacing bytes.
package minjson

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/skywasm/skywasm/internal/jsonscan"
)

// ErrDepth is returned by Marshal for a value nested more deeply than
// jsonscan.MaxDepth, which Unmarshal would refuse (and which a cyclic
// value is).
var ErrDepth = errors.New("minjson: value nested too deeply")

// ErrNotPointer is returned by Unmarshal when v is not a non-nil pointer.
var ErrNotPointer = errors.New("minjson: Unmarshal needs a non-nil pointer")

// SyntaxError is text that is not one JSON value: Err is one of
// jsonscan's errors (ErrSyntax, ErrDepth, ErrTrailing, ErrNotUTF8).
type SyntaxError struct{ Err error }

func (e *SyntaxError) Error() string { return "minjson: " + e.Err.Error() }
func (e *SyntaxError) Unwrap() error { return e.Err }

// TypeError is a JSON value that cannot be stored in a Go type: a string
// for an int, a number out of its range, an object for a slice.
type TypeError struct {
	Value string // the JSON kind, or "number 300" for a number out of range
	Type  reflect.Type
}

func (e *TypeError) Error() string {
	return "minjson: cannot decode a JSON " + e.Value + " into Go type " + e.Type.String()
}

// UnsupportedTypeError is a Go type minjson does not encode or decode.
type UnsupportedTypeError struct{ Type reflect.Type }

func (e *UnsupportedTypeError) Error() string { return "minjson: unsupported type " + e.Type.String() }

// UnsupportedValueError is a float that JSON cannot hold (NaN, ±Inf).
type UnsupportedValueError struct{ Value string }

func (e *UnsupportedValueError) Error() string { return "minjson: unsupported value " + e.Value }

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// Unmarshal decodes the JSON value data into what v points to.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return ErrNotPointer
	}
	span, kind, err := jsonscan.Value(data)
	if err != nil {
		return &SyntaxError{err}
	}
	return decode(span, kind, rv.Elem())
}

func decode(span []byte, kind jsonscan.Kind, v reflect.Value) error {
	t := v.Type()
	if t == rawMessageType {
		v.SetBytes(slices.Clone(span))
		return nil
	}
	if kind == jsonscan.Null {
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			v.SetZero()
		}
		return nil
	}
	mismatch := func() error { return &TypeError{Value: kind.String(), Type: t} }
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return decode(span, kind, v.Elem())
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return &UnsupportedTypeError{t}
		}
		x, err := decodeAny(span, kind)
		if err != nil {
			return err
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	case reflect.String:
		if kind != jsonscan.String {
			return mismatch()
		}
		v.SetString(string(jsonscan.Unquote(nil, jsonscan.StringContent(span))))
		return nil
	case reflect.Bool:
		if kind != jsonscan.True && kind != jsonscan.False {
			return mismatch()
		}
		v.SetBool(kind == jsonscan.True)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if kind != jsonscan.Number {
			return mismatch()
		}
		n, err := strconv.ParseInt(string(span), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return &TypeError{Value: "number " + string(span), Type: t}
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if kind != jsonscan.Number {
			return mismatch()
		}
		n, err := strconv.ParseUint(string(span), 10, 64)
		if err != nil || v.OverflowUint(n) {
			return &TypeError{Value: "number " + string(span), Type: t}
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		if kind != jsonscan.Number {
			return mismatch()
		}
		f, err := strconv.ParseFloat(string(span), t.Bits())
		if err != nil {
			return &TypeError{Value: "number " + string(span), Type: t}
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return &UnsupportedTypeError{t} // encoding/json's base64
		}
		if kind != jsonscan.Array {
			return mismatch()
		}
		s := reflect.MakeSlice(t, 0, 0)
		it := jsonscan.Elements(span)
		for e, k, ok := it.Next(); ok; e, k, ok = it.Next() {
			s = reflect.Append(s, reflect.Zero(t.Elem()))
			if err := decode(e, k, s.Index(s.Len()-1)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		if kind != jsonscan.Array {
			return mismatch()
		}
		i := 0
		it := jsonscan.Elements(span)
		for e, k, ok := it.Next(); ok; e, k, ok = it.Next() {
			if i < v.Len() {
				if err := decode(e, k, v.Index(i)); err != nil {
					return err
				}
			}
			i++
		}
		for ; i < v.Len(); i++ {
			v.Index(i).SetZero()
		}
		return nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return &UnsupportedTypeError{t}
		}
		if kind != jsonscan.Object {
			return mismatch()
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		it := jsonscan.Members(span)
		for m, ok := it.Next(); ok; m, ok = it.Next() {
			e := reflect.New(t.Elem()).Elem()
			if err := decode(m.Value, m.Kind, e); err != nil {
				return err
			}
			key := reflect.New(t.Key()).Elem()
			key.SetString(string(jsonscan.Unquote(nil, m.Key)))
			v.SetMapIndex(key, e)
		}
		return nil
	case reflect.Struct:
		fields, err := structFields(t)
		if err != nil {
			return err
		}
		if kind != jsonscan.Object {
			return mismatch()
		}
		it := jsonscan.Members(span)
		var key []byte
		for m, ok := it.Next(); ok; m, ok = it.Next() {
			key = jsonscan.Unquote(key[:0], m.Key)
			f := fieldFor(fields, key)
			if f == nil {
				continue
			}
			if err := decode(m.Value, m.Kind, v.Field(f.index)); err != nil {
				return err
			}
		}
		return nil
	}
	return &UnsupportedTypeError{t}
}

// fieldFor is the field an object key sets: the one named exactly so,
// else the first whose name folds to it, as in encoding/json.
func fieldFor(fields []field, key []byte) *field {
	for i := range fields {
		if fields[i].name == string(key) {
			return &fields[i]
		}
	}
	for i := range fields {
		if strings.EqualFold(fields[i].name, string(key)) {
			return &fields[i]
		}
	}
	return nil
}

// decodeAny decodes a value into the types encoding/json gives `any`.
func decodeAny(span []byte, kind jsonscan.Kind) (any, error) {
	switch kind {
	case jsonscan.String:
		return string(jsonscan.Unquote(nil, jsonscan.StringContent(span))), nil
	case jsonscan.Number:
		f, err := strconv.ParseFloat(string(span), 64)
		if err != nil {
			return nil, &TypeError{Value: "number " + string(span), Type: reflect.TypeFor[float64]()}
		}
		return f, nil
	case jsonscan.True, jsonscan.False:
		return kind == jsonscan.True, nil
	case jsonscan.Array:
		s := []any{}
		it := jsonscan.Elements(span)
		for e, k, ok := it.Next(); ok; e, k, ok = it.Next() {
			x, err := decodeAny(e, k)
			if err != nil {
				return nil, err
			}
			s = append(s, x)
		}
		return s, nil
	case jsonscan.Object:
		m := map[string]any{}
		it := jsonscan.Members(span)
		for mem, ok := it.Next(); ok; mem, ok = it.Next() {
			x, err := decodeAny(mem.Value, mem.Kind)
			if err != nil {
				return nil, err
			}
			m[string(jsonscan.Unquote(nil, mem.Key))] = x
		}
		return m, nil
	}
	return nil, nil // null
}

// field is a struct field as JSON sees it.
type field struct {
	name      string
	index     int
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type → []field, or error

// structFields lists t's encoded fields in order.
func structFields(t reflect.Type) ([]field, error) {
	if c, ok := fieldCache.Load(t); ok {
		if err, ok := c.(error); ok {
			return nil, err
		}
		return c.([]field), nil
	}
	var fields []field
	var err error
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			if !sf.IsExported() && sf.Type.Kind() != reflect.Struct {
				continue // encoding/json ignores it too
			}
			err = &UnsupportedTypeError{t} // an embedded struct's fields would be promoted
			break
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := field{name: name, index: i}
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "omitempty":
				f.omitEmpty = true
			case "string":
				err = &UnsupportedTypeError{t}
			}
		}
		fields = append(fields, f)
	}
	if err != nil {
		fieldCache.Store(t, err)
		return nil, err
	}
	fieldCache.Store(t, fields)
	return fields, nil
}

// Marshal returns the JSON encoding of v.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(v), 0)
}

func appendValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if !v.IsValid() {
		return append(b, "null"...), nil
	}
	if depth > jsonscan.MaxDepth {
		return nil, ErrDepth
	}
	t := v.Type()
	if t == rawMessageType {
		raw := v.Bytes()
		if len(raw) == 0 {
			return append(b, "null"...), nil
		}
		span, _, err := jsonscan.Value(raw)
		if err != nil {
			return nil, &SyntaxError{err}
		}
		return appendCompact(b, span), nil
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(b, v.Float(), t.Bits())
	case reflect.String:
		return AppendString(b, v.String()), nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendValue(b, v.Elem(), depth+1)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil, &UnsupportedTypeError{t}
		}
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		fallthrough
	case reflect.Array:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, v.Index(i), depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, &UnsupportedTypeError{t}
		}
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		// Sorted by key as encoding/json does, with the sort of strings
		// the module has anyway rather than one of reflect.Values.
		keys := make([]string, 0, v.Len())
		values := make(map[string]reflect.Value, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := it.Key().String()
			keys = append(keys, k)
			values[k] = it.Value()
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, values[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case reflect.Struct:
		fields, err := structFields(t)
		if err != nil {
			return nil, err
		}
		b = append(b, '{')
		first := true
		for _, f := range fields {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = AppendString(b, f.name)
			b = append(b, ':')
			if b, err = appendValue(b, fv, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, &UnsupportedTypeError{t}
}

// isEmpty is omitempty's test, as in encoding/json.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// appendFloat formats f as encoding/json does (ES6's Number to string):
// plain decimal from 1e-6 to below 1e21, else an exponent without a
// leading zero.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &UnsupportedValueError{strconv.FormatFloat(f, 'g', -1, bits)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, U+2028 and U+2029 too (JavaScript source
// takes them for line ends), and invalid UTF-8 as U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendCompact appends a validated JSON value without its insignificant
// white space, as encoding/json writes a RawMessage.
func appendCompact(b, span []byte) []byte {
	for i := 0; i < len(span); i++ {
		switch c := span[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			end := i + 1
			for span[end] != '"' {
				if span[end] == '\\' {
					end++
				}
				end++
			}
			b = append(b, span[i:end+1]...)
			i = end
		default:
			b = append(b, c)
		}
	}
	return b
}
