package datapack

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, ErrTruncated},
		{"never used code", []byte{0xc1}, ErrInvalid},
		{"truncated uint16", []byte{0xcd, 1}, ErrTruncated},
		{"truncated float64", []byte{0xcb, 0, 0, 0}, ErrTruncated},
		{"truncated str", []byte{0xa5, 'a'}, ErrTruncated},
		{"truncated str8 length", []byte{0xd9}, ErrTruncated},
		{"str32 claiming 4 GiB", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}, ErrTruncated},
		{"bin32 claiming 4 GiB", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, ErrTruncated},
		{"array32 claiming 4 Gi elements", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, ErrTruncated},
		{"map32 claiming 4 Gi entries", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, ErrTruncated},
		{"map claiming more than half the bytes", []byte{0x82, 0xa0, 0x01, 0xa0}, ErrTruncated},
		{"ext32 claiming 4 GiB", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 'F'}, ErrTruncated},
		{"array short of elements", []byte{0x93, 1, 2}, ErrTruncated},
		{"trailing byte", []byte{1, 2}, ErrTrailing},
		{"trailing after a map", []byte{0x80, 0xc0}, ErrTrailing},
		{"too deep arrays", append(bytes.Repeat([]byte{0x91}, MaxDepth+1), 1), ErrTooDeep},
		{"too deep maps", append(bytes.Repeat([]byte{0x81, 0xa1, 'k'}, MaxDepth+1), 1), ErrTooDeep},
		{"too deep array16", append(bytes.Repeat([]byte{0xdc, 0, 1}, MaxDepth+1), 1), ErrTooDeep},
		{"bool key", []byte{0x81, 0xc3, 1}, ErrInvalid},
		{"nil key", []byte{0x81, 0xc0, 1}, ErrInvalid},
		{"float key", []byte{0x81, 0xca, 0, 0, 0, 0, 1}, ErrInvalid},
		{"bin key", []byte{0x81, 0xc4, 1, 'k', 1}, ErrInvalid},
		{"array key", []byte{0x81, 0x90, 1}, ErrInvalid},
		{"truncated key", []byte{0x81, 0xa3, 'k', 1}, ErrTruncated},
		{"unknown ext", []byte{0xd4, 5, 0}, ErrUnsupported},
		{"chunk inside a value", []byte{0x91, 0xd4, byte(ChunkExt), 0}, ErrInvalid},
		{"chunk frame given to Decode", chunkFrame(1, 0, 2, make([]byte, ChunkDataSize)), ErrInvalid},
		{"file of 2 fields", []byte{0xd5, 'F', 0x92, 0xa0}, ErrInvalid},
		{"file data as str", []byte{0xc7, 4, 'F', 0x93, 0xa0, 0xa0, 0xa0}, ErrInvalid},
		{"file name as bin", []byte{0xc7, 6, 'F', 0x93, 0xc4, 0, 0xa0, 0xc4, 0}, ErrInvalid},
		{"file with trailing bytes", []byte{0xc7, 6, 'F', 0x93, 0xa0, 0xa0, 0xc4, 0, 0}, ErrInvalid},
		{"file data past the ext", []byte{0xc7, 5, 'F', 0x93, 0xa0, 0xa0, 0xc4, 1, 7}, ErrInvalid},
		{"file as a map", []byte{0xd4, 'F', 0x80}, ErrInvalid},
		{"empty file ext", []byte{0xc7, 0, 'F'}, ErrInvalid},
		{"timestamp of 3 bytes", []byte{0xc7, 3, 0xff, 0, 0, 0}, ErrInvalid},
		{"timestamp64 nanoseconds over 1e9", []byte{0xd7, 0xff, 0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 0}, ErrInvalid},
		{"timestamp96 nanoseconds of 1e9", []byte{0xc7, 12, 0xff, 0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := Decode(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Decode(% x) = %#v, %v; want %v", tt.in[:min(len(tt.in), 16)], v, err, tt.err)
			}
			if v != nil {
				t.Fatalf("Decode returned %#v with its error", v)
			}
			d := decoder{b: tt.in, dry: true}
			if err := d.top(); !errors.Is(err, tt.err) {
				t.Fatalf("dry run = %v; want %v", err, tt.err)
			}
		})
	}
}

// chunkFrame builds a chunk frame by hand, with any header values.
func chunkFrame(id, index, count uint64, data []byte) []byte {
	p := appendUvarints(nil, id, index, count)
	p = append(p, data...)
	f := []byte{codeExt32, byte(len(p) >> 24), byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p)), byte(ChunkExt)}
	return append(f, p...)
}

func appendUvarints(dst []byte, vs ...uint64) []byte {
	for _, v := range vs {
		for v >= 0x80 {
			dst = append(dst, byte(v)|0x80)
			v >>= 7
		}
		dst = append(dst, byte(v))
	}
	return dst
}

// TestDecodeWideForms reads what other encoders write: some keep the width
// of their types (an int64 takes 9 bytes), as github.com/vmihailenco/msgpack
// does by default and some JavaScript encoders do too. The inputs are what
// that package wrote for the value named in each case.
func TestDecodeWideForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		want any
	}{
		{"int64 in 9 bytes", []byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 1}, int64(1)},
		{"int8 in 2 bytes", []byte{0xd0, 0xff}, int64(-1)},
		{"int16", []byte{0xd1, 0xff, 0xfe}, int64(-2)},
		{"int32", []byte{0xd2, 0xff, 0xff, 0xff, 0xfd}, int64(-3)},
		{"uint8 in 2 bytes", []byte{0xcc, 1}, int64(1)},
		{"uint16", []byte{0xcd, 0, 2}, int64(2)},
		{"uint32", []byte{0xce, 0, 0, 0, 3}, int64(3)},
		{"uint64", []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 4}, int64(4)},
		{"uint64 max", []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint64(math.MaxUint64)},
		{"float32", []byte{0xca, 0x3e, 0x80, 0, 0}, 0.25},
		{"time", []byte{0xc7, 12, 0xff, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 0}, time.Unix(1<<35, 5).UTC()},
		{"time before 1970", []byte{0xc7, 12, 0xff, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb}, time.Unix(-5, 5).UTC()},
		{"map", []byte{0x81, 0xa1, 'a', 0x92, 0xa1, 'b', 0xc0}, map[string]any{"a": []any{"b", nil}}},
		{"map with int keys", []byte{0x81, 0xd0, 0xff, 0xd0, 1}, map[string]any{"-1": int64(1)}},
		{"long string", append([]byte{0xdb, 0, 1, 0x38, 0x80}, strings.Repeat("é", 40000)...), strings.Repeat("é", 40000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Decode(tt.in)
			if err != nil {
				t.Fatalf("Decode(% x): %v", tt.in[:min(len(tt.in), 16)], err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestDecodeClaimsCostNothing holds Decode to its promise that lengths a
// hostile peer claims allocate nothing by themselves, however they nest. It
// reads the process's allocation total, so it does not run in parallel.
func TestDecodeClaimsCostNothing(t *testing.T) {
	const filler = 1 << 20
	// Arrays and maps nested to MaxDepth, each claiming as many elements
	// as bytes remain, around filler bytes that are not values at all.
	var nested []byte
	for i := range MaxDepth {
		left := uint32(filler + 5*(MaxDepth-i-1))
		if i%2 == 0 {
			nested = append(nested, codeArray32, byte(left>>24), byte(left>>16), byte(left>>8), byte(left))
		} else {
			left /= 2
			nested = append(nested, codeMap32, byte(left>>24), byte(left>>16), byte(left>>8), byte(left), 0xa0)
		}
	}
	nested = append(nested, bytes.Repeat([]byte{codeNeverUsed}, filler)...)
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"array of 4 Gi elements in 5 bytes", []byte{codeArray32, 0xff, 0xff, 0xff, 0xff}, ErrTruncated},
		{"str of 4 GiB in 5 bytes", []byte{codeStr32, 0xff, 0xff, 0xff, 0xff}, ErrTruncated},
		// Refused at the innermost level, past every claim: ErrInvalid.
		{"nested claims", nested, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(tt.in)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Decode = %v, want %v", err, tt.err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Fatalf("Decode allocated %d bytes for a %d-byte input (%v)", n, len(tt.in), err)
			}
		})
	}
}

// TestDecodeOwnsResult checks that Decode's result shares nothing with its
// input, which a caller reuses for the next frame.
func TestDecodeOwnsResult(t *testing.T) {
	t.Parallel()
	in, err := Encode([]any{[]byte("bytes"), "str", File{Name: "f", Data: []byte("data")}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	clear(in)
	want := []any{[]byte("bytes"), "str", File{Name: "f", Type: "", Data: []byte("data")}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("after clearing the input, Decode's result is %#v", v)
	}
}

func TestDecodeDeepMixed(t *testing.T) {
	t.Parallel()
	// MaxDepth levels alternating arrays and maps decode; one more does not.
	build := func(levels int) []byte {
		var b []byte
		for i := range levels {
			if i%2 == 0 {
				b = append(b, 0x91)
			} else {
				b = append(b, 0x81, 0x01) // integer key
			}
		}
		return append(b, 0xc0)
	}
	if _, err := Decode(build(MaxDepth)); err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	if _, err := Decode(build(MaxDepth + 1)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("%d levels: %v, want ErrTooDeep", MaxDepth+1, err)
	}
}
