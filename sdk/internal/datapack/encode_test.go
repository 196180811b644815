package datapack

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

type point struct {
	X          int    `json:"x"`
	Y          int    `msgpack:"why"`
	Name       string `json:"name,omitempty"`
	Skip       string `json:"-"`
	Attachment *File  `json:"file"`
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := []struct {
		name string
		in   any
		want any // same: want in itself
	}{
		{"nil", nil, nil},
		{"true", true, same},
		{"false", false, same},
		{"zero", 0, int64(0)},
		{"fixint max", 127, int64(127)},
		{"uint8", 128, int64(128)},
		{"uint8 max", 255, int64(255)},
		{"uint16", 256, int64(256)},
		{"uint16 max", 65535, int64(65535)},
		{"uint32", 65536, int64(65536)},
		{"uint32 max", uint32(math.MaxUint32), int64(math.MaxUint32)},
		{"uint64", int64(math.MaxUint32 + 1), same},
		{"int64 max", int64(math.MaxInt64), same},
		{"uint64 past int64", uint64(math.MaxInt64 + 1), same},
		{"uint64 max", uint64(math.MaxUint64), same},
		{"negative fixint", -1, int64(-1)},
		{"negative fixint min", -32, int64(-32)},
		{"int8", -33, int64(-33)},
		{"int8 min", -128, int64(-128)},
		{"int16", -129, int64(-129)},
		{"int16 min", -32768, int64(-32768)},
		{"int32", -32769, int64(-32769)},
		{"int32 min", math.MinInt32, int64(math.MinInt32)},
		{"int64", int64(math.MinInt32 - 1), same},
		{"int64 min", int64(math.MinInt64), same},
		{"int8 kind", int8(-5), int64(-5)},
		{"int16 kind", int16(300), int64(300)},
		{"int32 kind", int32(-70000), int64(-70000)},
		{"uint kind", uint(7), int64(7)},
		{"uint8 kind", uint8(200), int64(200)},
		{"uint16 kind", uint16(60000), int64(60000)},
		{"uintptr kind", uintptr(9), int64(9)},
		{"float32", float32(1.5), float64(1.5)},
		{"float64", math.Pi, same},
		{"float64 negative zero", math.Copysign(0, -1), same},
		{"float64 infinity", math.Inf(-1), same},
		{"float64 max", math.MaxFloat64, same},
		{"empty string", "", same},
		{"fixstr max", strings.Repeat("s", 31), same},
		{"str8", strings.Repeat("s", 32), same},
		{"str8 max", strings.Repeat("s", 255), same},
		{"str16", strings.Repeat("s", 256), same},
		{"str32", strings.Repeat("s", 65536), same},
		{"unicode string", "こんにちは, 世界 🎉", same},
		{"empty bytes", []byte{}, same},
		{"nil bytes", []byte(nil), nil},
		{"bytes", []byte{0, 1, 2, 0xff}, same},
		{"bin16", bytes.Repeat([]byte{7}, 256), same},
		{"bin32", bytes.Repeat([]byte{7}, 65536), same},
		{"file", File{Name: "a.txt", Type: "text/plain", Data: []byte("hello")}, same},
		{"file pointer", &File{Name: "a.png", Type: "image/png", Data: []byte{1}}, File{Name: "a.png", Type: "image/png", Data: []byte{1}}},
		{"nil file pointer", (*File)(nil), nil},
		{"empty file", File{}, File{Data: []byte{}}},
		{"big file", File{Name: strings.Repeat("n", 300), Type: "x/y", Data: make([]byte, 70000)}, same},
		{"time", when, same},
		{"time before 1970", time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC), same},
		{"time 32-bit", time.Unix(1700000000, 0).UTC(), same},
		{"time local", when.In(time.FixedZone("JST", 9*3600)), when},
		{"empty list", []any{}, same},
		{"nil list", []any(nil), nil},
		{"list", []any{int64(1), "two", 3.5, nil, true, []byte("x")}, same},
		{"array16", make([]any, 16), same},
		{"empty map", map[string]any{}, same},
		{"nil map", map[string]any(nil), nil},
		{"map16", func() any {
			m := map[string]any{}
			for i := range 20 {
				m[strings.Repeat("k", i+1)] = int64(i)
			}
			return m
		}(), same},
		{"nested", map[string]any{
			"list": []any{map[string]any{"a": []any{int64(1), map[string]any{}}}, []any{}},
			"file": File{Name: "f", Type: "t", Data: []byte("d")},
			"when": when,
			"deep": map[string]any{"deeper": map[string]any{"deepest": "yes"}},
		}, same},
		{"struct", point{X: 1, Y: 2, Name: "p", Skip: "s", Attachment: &File{Name: "f", Data: []byte{9}}},
			map[string]any{"x": int64(1), "why": int64(2), "name": "p", "file": File{Name: "f", Data: []byte{9}}}},
		{"struct pointer", &point{X: -1}, map[string]any{"x": int64(-1), "why": int64(0), "file": nil}},
		{"typed slice", []string{"a", "b"}, []any{"a", "b"}},
		{"typed map", map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{"int keys", map[int]string{1: "one", -2: "minus two"}, map[string]any{"1": "one", "-2": "minus two"}},
		{"uint keys", map[uint64]bool{math.MaxUint64: true}, map[string]any{"18446744073709551615": true}},
		{"go array", [3]int{1, 2, 3}, []any{int64(1), int64(2), int64(3)}},
		{"list of typed values", []any{[]int{1}, map[string]string{"k": "v"}}, []any{[]any{int64(1)}, map[string]any{"k": "v"}}},
		{"files in a typed slice", []File{{Name: "a", Data: []byte{1}}}, []any{File{Name: "a", Data: []byte{1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := roundTrip(t, tt.in)
			want := tt.want
			if want == same {
				want = tt.in
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode(Encode(%#v)) = %#v, want %#v", tt.in, got, want)
			}
			if math.Signbit(math.Copysign(1, asFloat(want))) != math.Signbit(math.Copysign(1, asFloat(got))) {
				t.Fatalf("sign of zero lost: %v", got)
			}
		})
	}
}

// same in a want field stands for the input itself.
var same any = struct{ same bool }{}

func asFloat(v any) float64 {
	f, _ := v.(float64)
	return f
}

func TestRoundTripNaN(t *testing.T) {
	t.Parallel()
	for _, in := range []any{math.NaN(), float32(math.NaN())} {
		b, err := Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if f, ok := got.(float64); err != nil || !ok || !math.IsNaN(f) {
			t.Fatalf("Decode(Encode(%v)) = %v, %v", in, got, err)
		}
	}
}

// TestEncodeBytes pins the exact bytes of the headers, by the MessagePack
// specification, and checks that reflection writes what the fast path does.
func TestEncodeBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want []byte
	}{
		{"nil", nil, []byte{0xc0}},
		{"fixint", 5, []byte{0x05}},
		{"negative fixint", -3, []byte{0xfd}},
		{"uint8", 200, []byte{0xcc, 200}},
		{"uint16", 300, []byte{0xcd, 0x01, 0x2c}},
		{"int8", -100, []byte{0xd0, 0x9c}},
		{"int16", -300, []byte{0xd1, 0xfe, 0xd4}},
		{"float32", float32(1), []byte{0xca, 0x3f, 0x80, 0, 0}},
		{"float64", 1.0, []byte{0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
		{"fixstr", "ab", []byte{0xa2, 'a', 'b'}},
		{"bin8", []byte{1}, []byte{0xc4, 1, 1}},
		{"fixarray", []any{true, false}, []byte{0x92, 0xc3, 0xc2}},
		{"fixmap", map[string]any{"k": nil}, []byte{0x81, 0xa1, 'k', 0xc0}},
		{"file", File{Name: "n", Type: "t", Data: []byte{9}},
			[]byte{0xd7, 'F', 0x93, 0xa1, 'n', 0xa1, 't', 0xc4, 1, 9}},
		{"empty file", File{}, []byte{0xc7, 5, 'F', 0x93, 0xa0, 0xa0, 0xc4, 0}},
		{"time", time.Unix(1, 0), []byte{0xd6, 0xff, 0, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectBytes(t, tt.in, tt.want)
			if tt.in == nil {
				return
			}
			reflected, err := appendReflect(nil, tt.in, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tt.want, reflected) {
				t.Fatalf("Encode(%#v) = % x, reflection writes % x", tt.in, tt.want, reflected)
			}
		})
	}
}

func TestAppendEncode(t *testing.T) {
	t.Parallel()
	dst := []byte("prefix")
	got, err := AppendEncode(dst, "x")
	if err != nil || string(got) != "prefix\xa1x" {
		t.Fatalf("AppendEncode = %q, %v", got, err)
	}
	got, err = AppendEncode(dst, []any{1, make(chan int)})
	if err == nil || string(got) != "prefix" {
		t.Fatalf("AppendEncode of a bad value = %q, %v; want dst unchanged and an error", got, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	cyclic := []any{nil}
	cyclic[0] = cyclic
	cyclicMap := map[string]any{}
	cyclicMap["self"] = cyclicMap
	tests := []struct {
		name string
		in   any
		err  error
	}{
		{"chan", make(chan int), ErrUnsupported},
		{"func", func() {}, ErrUnsupported},
		{"complex", complex(1, 2), ErrUnsupported},
		{"chan in a list", []any{1, make(chan int)}, ErrUnsupported},
		{"func in a struct", struct{ F func() }{}, ErrUnsupported},
		{"uintptr in a struct", struct{ P uintptr }{1}, ErrUnsupported},
		{"bool keys", map[bool]int{true: 1}, ErrInvalid},
		{"float keys", map[float64]int{1.5: 1}, ErrInvalid},
		{"too deep", nest(MaxDepth + 1), ErrTooDeep},
		{"too deep maps", nestMaps(MaxDepth + 1), ErrTooDeep},
		{"typed inside at the limit", nestAround(MaxDepth-2, [][]int{{1}}), nil},
		{"too deep typed inside", nestAround(MaxDepth-1, [][]int{{1}}), ErrTooDeep},
		{"cyclic list", cyclic, ErrTooDeep},
		{"cyclic map", cyclicMap, ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Encode(tt.in)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Encode = % x, %v; want %v", b, err, tt.err)
			}
		})
	}
}

// nest returns n lists, each inside the next.
func nest(n int) any { return nestAround(n, "leaf") }

// nestAround returns n lists, each inside the next, around v.
func nestAround(n int, v any) any {
	for range n {
		v = []any{v}
	}
	return v
}

func nestMaps(n int) any {
	var v any = "leaf"
	for range n {
		v = map[string]any{"k": v}
	}
	return v
}

func TestNestLimit(t *testing.T) {
	t.Parallel()
	for _, in := range []any{nest(MaxDepth), nestMaps(MaxDepth)} {
		b, err := Encode(in)
		if err != nil {
			t.Fatalf("Encode at MaxDepth: %v", err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("Decode at MaxDepth: %v", err)
		}
	}
}

// roundTrip encodes v and decodes the result.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := Encode(v)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(% x): %v", b[:min(len(b), 32)], err)
	}
	return got
}

// expectBytes checks that v encodes to exactly want.
func expectBytes(t *testing.T, v any, want []byte) {
	t.Helper()
	got, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode(%#v) =\n% x, want\n% x", v, got, want)
	}
}
