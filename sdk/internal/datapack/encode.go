package datapack

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Encode packs v as MessagePack, in the smallest form of every value. It
// accepts nil, bool, every Go integer and float kind, string, []byte, File
// and *File, time.Time, []any and map[string]any, and, by reflection, any
// type made of these:
//
//   - A struct is a map of its exported fields. A field's name comes from
//     its `msgpack` tag, else its `json` tag, else the field itself; "-"
//     leaves the field out, and so do the options omitempty (false, 0, "",
//     a nil pointer or interface, an empty slice, map, array or string, or
//     a value whose IsZero method reports true, such as a zero time.Time)
//     and omitzero (IsZero true, else the zero value). The fields of an
//     untagged embedded struct, or pointer to one, are promoted as in
//     encoding/json; a nil embedded pointer promotes none. So a struct
//     reaches JavaScript as the object it would be in JSON.
//   - A slice or an array is an array, but one of bytes is bin. A map is a
//     map; a key must be a string, an integer (sent as its decimal string,
//     which is what Decode and a JavaScript object make of an integer key)
//     or an encoding.TextMarshaler (sent as its text).
//   - A pointer or an interface is what it points to or holds; nil is nil.
//     So are a nil slice and a nil map.
//   - A named type is its kind (type Celsius float64 is a float64), but a
//     time.Time or a File anywhere is its ext value, and a type that
//     implements encoding.TextMarshaler is its text, a str, as in
//     encoding/json (a method of the pointer applies where the value has an
//     address: behind a pointer, in a slice). MarshalJSON and MarshalBinary
//     are not called: they write for JSON and for Go, not for a MessagePack
//     peer.
//
// Map keys come out in no particular order. A File's data is appended as
// it is, never copied on the way.
//
// It fails with ErrUnsupported, naming the type, for a value it cannot pack:
// a channel, a func, a complex number or an unsafe.Pointer, even a nil one;
// a uintptr whose type is static (a field, an element of a typed slice),
// though one held in an interface is packed as an integer, as Encode always
// has; a map with a key Decode would refuse, such as a bool (that error is
// ErrInvalid as well); a MarshalText that fails. It fails with ErrTooDeep
// for arrays and maps, structs included, nested past MaxDepth, as Decode
// would refuse them: so a value that contains itself fails too, through
// pointers as well, and so does a chain of more than MaxDepth pointers. What
// Encode accepts the far side can read.
func Encode(v any) ([]byte, error) {
	return AppendEncode(nil, v)
}

// AppendEncode is Encode appending to dst, so a caller can reuse a buffer.
// On error it returns dst unchanged.
func AppendEncode(dst []byte, v any) ([]byte, error) {
	b, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return b, nil
}

// AppendBinHeader appends the MessagePack header of an n-byte bin value (the
// encoding of a []byte): the header and the bytes, given to NewSplitter as two
// parts, send a large payload without copying it into an encoded message. It
// fails with ErrTooLarge when n is negative or over math.MaxUint32.
func AppendBinHeader(dst []byte, n int) ([]byte, error) {
	if !fitsLen(n) {
		return dst, fmt.Errorf("%w: bin of %d bytes", ErrTooLarge, n)
	}
	return appendBinHeader(dst, n), nil
}

// appendValue appends v, found inside depth arrays and maps. It packs the
// dynamic values of Decode's results with a type switch, which is faster
// than reflection and allocates nothing, and leaves the rest to
// appendReflect. On error the bytes it returns are to be dropped.
func appendValue(b []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		b = append(b, codeNil)
	case bool:
		if v {
			b = append(b, codeTrue)
		} else {
			b = append(b, codeFalse)
		}
	case int:
		b = appendInt(b, int64(v))
	case int8:
		b = appendInt(b, int64(v))
	case int16:
		b = appendInt(b, int64(v))
	case int32:
		b = appendInt(b, int64(v))
	case int64:
		b = appendInt(b, v)
	case uint:
		b = appendUint(b, uint64(v))
	case uint8:
		b = appendUint(b, uint64(v))
	case uint16:
		b = appendUint(b, uint64(v))
	case uint32:
		b = appendUint(b, uint64(v))
	case uint64:
		b = appendUint(b, v)
	case uintptr:
		// Kept for compatibility: Encode has always packed it here.
		b = appendUint(b, uint64(v))
	case float32:
		b = appendFloat32(b, v)
	case float64:
		b = appendFloat64(b, v)
	case string:
		if !fitsLen(len(v)) {
			return b, fmt.Errorf("%w: string of %d bytes", ErrTooLarge, len(v))
		}
		b = append(appendStrHeader(b, len(v)), v...)
	case []byte:
		if v == nil {
			return append(b, codeNil), nil
		}
		if !fitsLen(len(v)) {
			return b, fmt.Errorf("%w: []byte of %d bytes", ErrTooLarge, len(v))
		}
		b = append(appendBinHeader(b, len(v)), v...)
	case File:
		return appendFile(b, &v)
	case *File:
		if v == nil {
			return append(b, codeNil), nil
		}
		return appendFile(b, v)
	case time.Time:
		b = appendTime(b, v)
	case []any:
		if v == nil {
			return append(b, codeNil), nil
		}
		if depth >= MaxDepth {
			return b, errTooDeep()
		}
		if !fitsLen(len(v)) {
			return b, fmt.Errorf("%w: array of %d elements", ErrTooLarge, len(v))
		}
		b = appendArrayHeader(b, len(v))
		for _, x := range v {
			var err error
			if b, err = appendValue(b, x, depth+1); err != nil {
				return b, err
			}
		}
	case map[string]any:
		if v == nil {
			return append(b, codeNil), nil
		}
		if depth >= MaxDepth {
			return b, errTooDeep()
		}
		if !fitsLen(len(v)) {
			return b, fmt.Errorf("%w: map of %d entries", ErrTooLarge, len(v))
		}
		b = appendMapHeader(b, len(v))
		for k, x := range v {
			if !fitsLen(len(k)) {
				return b, fmt.Errorf("%w: map key of %d bytes", ErrTooLarge, len(k))
			}
			b = append(appendStrHeader(b, len(k)), k...)
			var err error
			if b, err = appendValue(b, x, depth+1); err != nil {
				return b, err
			}
		}
	default:
		return appendReflect(b, v, depth)
	}
	return b, nil
}

// errTooDeep is the error for an array or a map at depth MaxDepth.
func errTooDeep() error {
	return fmt.Errorf("%w: over %d levels of arrays and maps", ErrTooDeep, MaxDepth)
}

// appendFile appends f, its data as it is.
func appendFile(b []byte, f *File) ([]byte, error) {
	b, err := AppendFileHeader(b, f.Name, f.Type, len(f.Data))
	if err != nil {
		return b, err
	}
	return append(b, f.Data...), nil
}

// appendTime appends t as a MessagePack timestamp, in the smallest of its
// three forms: 32-bit seconds, 30-bit nanoseconds with 34-bit seconds, or
// 32-bit nanoseconds with 64-bit signed seconds.
func appendTime(dst []byte, t time.Time) []byte {
	sec, nsec := t.Unix(), uint64(t.Nanosecond())
	if uint64(sec)>>34 == 0 {
		v := nsec<<34 | uint64(sec)
		if v>>32 == 0 {
			return binary.BigEndian.AppendUint32(appendExtHeader(dst, timeExt, 4), uint32(v))
		}
		return binary.BigEndian.AppendUint64(appendExtHeader(dst, timeExt, 8), v)
	}
	dst = binary.BigEndian.AppendUint32(appendExtHeader(dst, timeExt, 12), uint32(nsec))
	return binary.BigEndian.AppendUint64(dst, uint64(sec))
}
