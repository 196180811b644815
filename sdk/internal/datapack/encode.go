package datapack

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Encode packs v as MessagePack. It accepts nil, bool, every Go integer and
// float kind, string, []byte, File and *File, time.Time, []any and
// map[string]any, and, through msgpack's reflection, structs, pointers,
// arrays, typed slices and typed maps made of these. Struct fields take their
// names from a `msgpack` tag, else a `json` tag, else the field name, so a
// struct reaches JavaScript as the object it would be in JSON. A nil slice,
// map or pointer is nil. Map keys come out in no particular order.
//
// It fails with ErrUnsupported for a value it cannot pack (a channel, a func,
// a complex number), and with ErrTooDeep or ErrInvalid for a value Decode
// would refuse (nested past MaxDepth, or a map keyed by bools), so what Encode
// accepts the far side can read. A []any or map[string]any that contains
// itself is refused as too deep; a cyclic struct reached through pointers is
// not detected and exhausts the stack, as with msgpack.Marshal.
func Encode(v any) ([]byte, error) {
	return AppendEncode(nil, v)
}

// AppendEncode is Encode appending to dst, so a caller can reuse a buffer.
// On error it returns dst unchanged.
func AppendEncode(dst []byte, v any) ([]byte, error) {
	e := encoder{b: dst}
	if err := e.value(v, 0); err != nil {
		return dst, err
	}
	if e.reflected {
		// msgpack's reflection knows neither MaxDepth nor which map keys
		// Decode takes: check its output as the far side will.
		d := decoder{b: e.b[len(dst):], dry: true}
		if err := d.top(); err != nil {
			return dst, fmt.Errorf("datapack: encoding %T: %w", v, err)
		}
	}
	return e.b, nil
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

// encoder packs the dynamic values itself, which is faster than reflection,
// bounds their depth, and leaves the rest to msgpack.
type encoder struct {
	b         []byte
	reflected bool // msgpack's reflection packed a part of the value
}

func (e *encoder) value(v any, depth int) error {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, codeNil)
	case bool:
		if v {
			e.b = append(e.b, codeTrue)
		} else {
			e.b = append(e.b, codeFalse)
		}
	case int:
		e.b = appendInt(e.b, int64(v))
	case int8:
		e.b = appendInt(e.b, int64(v))
	case int16:
		e.b = appendInt(e.b, int64(v))
	case int32:
		e.b = appendInt(e.b, int64(v))
	case int64:
		e.b = appendInt(e.b, v)
	case uint:
		e.b = appendUint(e.b, uint64(v))
	case uint8:
		e.b = appendUint(e.b, uint64(v))
	case uint16:
		e.b = appendUint(e.b, uint64(v))
	case uint32:
		e.b = appendUint(e.b, uint64(v))
	case uint64:
		e.b = appendUint(e.b, v)
	case uintptr:
		// msgpack's reflection has no encoder for this kind.
		e.b = appendUint(e.b, uint64(v))
	case float32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, codeFloat32), math.Float32bits(v))
	case float64:
		e.b = binary.BigEndian.AppendUint64(append(e.b, codeFloat64), math.Float64bits(v))
	case string:
		if !fitsLen(len(v)) {
			return fmt.Errorf("%w: string of %d bytes", ErrTooLarge, len(v))
		}
		e.b = append(appendStrHeader(e.b, len(v)), v...)
	case []byte:
		if v == nil {
			e.b = append(e.b, codeNil)
			return nil
		}
		if !fitsLen(len(v)) {
			return fmt.Errorf("%w: []byte of %d bytes", ErrTooLarge, len(v))
		}
		e.b = append(appendBinHeader(e.b, len(v)), v...)
	case File:
		return e.file(&v)
	case *File:
		if v == nil {
			e.b = append(e.b, codeNil)
			return nil
		}
		return e.file(v)
	case time.Time:
		e.b = appendTime(e.b, v)
	case []any:
		if v == nil {
			e.b = append(e.b, codeNil)
			return nil
		}
		if depth >= MaxDepth {
			return fmt.Errorf("%w: over %d levels of arrays and maps", ErrTooDeep, MaxDepth)
		}
		if !fitsLen(len(v)) {
			return fmt.Errorf("%w: array of %d elements", ErrTooLarge, len(v))
		}
		e.b = appendArrayHeader(e.b, len(v))
		for _, x := range v {
			if err := e.value(x, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		if v == nil {
			e.b = append(e.b, codeNil)
			return nil
		}
		if depth >= MaxDepth {
			return fmt.Errorf("%w: over %d levels of arrays and maps", ErrTooDeep, MaxDepth)
		}
		if !fitsLen(len(v)) {
			return fmt.Errorf("%w: map of %d entries", ErrTooLarge, len(v))
		}
		e.b = appendMapHeader(e.b, len(v))
		for k, x := range v {
			if !fitsLen(len(k)) {
				return fmt.Errorf("%w: map key of %d bytes", ErrTooLarge, len(k))
			}
			e.b = append(appendStrHeader(e.b, len(k)), k...)
			if err := e.value(x, depth+1); err != nil {
				return err
			}
		}
	default:
		return e.reflect(v)
	}
	return nil
}

func (e *encoder) file(f *File) error {
	b, err := AppendFileHeader(e.b, f.Name, f.Type, len(f.Data))
	if err != nil {
		return err
	}
	e.b = append(b, f.Data...)
	return nil
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

// reflect packs v with msgpack's reflection, appending to e.b.
func (e *encoder) reflect(v any) (err error) {
	start := len(e.b)
	w := appendWriter{b: e.b}
	enc := msgpack.GetEncoder()
	defer func() {
		// msgpack v5.4.1 panics on some kinds (a uintptr field calls a nil
		// encoder): make that an error, as for any other unsupported value.
		if r := recover(); r != nil {
			e.b = e.b[:start]
			err = fmt.Errorf("%w: %T: %v", ErrUnsupported, v, r)
			return
		}
		msgpack.PutEncoder(enc)
	}()
	enc.Reset(&w)
	enc.UseCompactInts(true)
	enc.SetCustomStructTag("json")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("%w: %T: %w", ErrUnsupported, v, err)
	}
	e.b = w.b
	e.reflected = true
	return nil
}

// appendWriter is the io.Writer and io.ByteWriter msgpack's Encoder wants,
// appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}
