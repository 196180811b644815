package datapack

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

type (
	celsius   float64
	label     string
	blob      []byte
	smallInt  int8
	bigUint   uint64
	flag      bool
	temps     []celsius
	byName    map[label]celsius
	byID      map[smallInt]string
	byUID     map[bigUint]bool
	addresses [2]uintptr

	message struct {
		Text     string     `json:"text"`
		Sent     time.Time  `json:"sent"`
		Edited   *time.Time `json:"edited"`
		Photo    File       `json:"photo"`
		Thumb    *File      `json:"thumb"`
		Hidden   string     `msgpack:"-" json:"hidden"`
		internal string
	}

	base struct {
		ID   int    `json:"id"`
		Kind string `json:"kind"`
	}
	meta struct {
		Kind  string `json:"kind"` // shadowed by message's own field
		Owner string
	}
	unexportedBase struct{ Seen bool }
	event          struct {
		base
		*meta
		unexportedBase
		Kind   string `json:"kind"`
		Tagged base   `json:"tagged"`
	}

	// left and right both give a depth-1 Name: neither wins.
	left     struct{ Name, Left string }
	right    struct{ Name, Right string }
	conflict struct {
		left
		right
	}
	// Of two depth-1 Names, the tagged one wins.
	taggedName struct {
		Other string `json:"Name"`
	}
	tagWins struct {
		left
		taggedName
	}

	omissions struct {
		Bool    bool              `json:"bool,omitempty"`
		Int     int               `msgpack:"int,omitempty"`
		Uint    uint16            `json:",omitempty"`
		Float   float64           `json:"float,omitempty"`
		String  string            `json:"string,omitempty"`
		Slice   []int             `json:"slice,omitempty"`
		Map     map[string]int    `json:"map,omitempty"`
		Array   [0]int            `json:"array,omitempty"`
		Pointer *int              `json:"pointer,omitempty"`
		Any     any               `json:"any,omitempty"`
		Time    time.Time         `json:"time,omitempty"`
		Struct  struct{ X int }   `json:"struct,omitempty"`
		Zero    struct{ X int }   `json:"zero,omitzero"`
		Addr    netip.Addr        `json:"addr,omitzero"`
		Full    [1]int            `json:"full,omitempty"`
		Kept    map[string]string `json:"kept"`
	}

	node struct {
		Name string `json:"name"`
		Next *node  `json:"next"`
	}
	tree      map[string]tree
	selfPtr   *selfPtr
	anyHolder struct{ V any }

	// point is a TextMarshaler by value, pointText by pointer.
	textPoint struct{ X, Y int }
	pointText struct{ X, Y int }

	jsonOnly struct{ X int }

	hasText struct {
		P  textPoint
		PP pointText
		PM map[textPoint]int
	}
)

func (p textPoint) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%d,%d", p.X, p.Y), nil }

func (p *pointText) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "(%d,%d)", p.X, p.Y), nil }

func (jsonOnly) MarshalJSON() ([]byte, error) { return []byte(`"json"`), nil }

func (jsonOnly) MarshalBinary() ([]byte, error) { return []byte("binary"), nil }

// manyFields has 17 fields: its map header is a map16 until omitempty
// leaves fewer than 16, when it must become a fixmap.
type manyFields struct {
	F0, F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13, F14 int
	Opt                                                             int `json:"opt,omitempty"`
	Opt2                                                            int `json:"opt2,omitempty"`
}

func TestReflectRoundTrip(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	photo := File{Name: "p.jpg", Type: "image/jpeg", Data: []byte{1, 2, 3}}
	msg := message{Text: "hi", Sent: when, Edited: &when, Photo: photo, Thumb: &photo, Hidden: "h", internal: "i"}
	msgWant := map[string]any{"text": "hi", "sent": when, "edited": when, "photo": photo, "thumb": photo}
	one := 1
	list := &node{Name: "a", Next: &node{Name: "b"}}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"named float", celsius(21.5), 21.5},
		{"named float32", struct{ T float32 }{1.5}, map[string]any{"T": 1.5}},
		{"named string", label("l"), "l"},
		{"named bytes", blob{1, 2}, []byte{1, 2}},
		{"nil named bytes", blob(nil), nil},
		{"named int", smallInt(-3), int64(-3)},
		{"named uint", bigUint(math.MaxUint64), uint64(math.MaxUint64)},
		{"named bool", flag(true), true},
		{"byte array", [3]byte{1, 2, 3}, []byte{1, 2, 3}},
		{"byte array by pointer", &[2]byte{4, 5}, []byte{4, 5}},
		{"empty array", [0]int{}, []any{}},
		{"named slice", temps{1, -2}, []any{1.0, -2.0}},
		{"nil typed slice", []int(nil), nil},
		{"nil typed map", map[string]int(nil), nil},
		{"slice of pointers", []*int{&one, nil}, []any{int64(1), nil}},
		{"pointer to pointer", func() any { p := &one; return &p }(), int64(1)},
		{"nil pointer to pointer", (**int)(nil), nil},
		{"struct with File and time", msg, msgWant},
		{"pointer to struct with File and time", &msg, msgWant},
		{"struct with zero File and nil pointers", message{},
			map[string]any{"text": "", "sent": time.Time{}, "edited": nil, "photo": File{Data: []byte{}}, "thumb": nil}},
		{"times in a typed slice", []time.Time{when}, []any{when}},
		{"files in a typed map", map[string]*File{"a": &photo, "none": nil}, map[string]any{"a": photo, "none": nil}},
		{"files in an array", [1]File{photo}, []any{photo}},
		{"embedded", event{base: base{ID: 1, Kind: "base"}, meta: &meta{Kind: "meta", Owner: "o"}, unexportedBase: unexportedBase{Seen: true}, Kind: "event", Tagged: base{ID: 2}},
			map[string]any{"id": int64(1), "Owner": "o", "Seen": true, "kind": "event", "tagged": map[string]any{"id": int64(2), "kind": ""}}},
		{"embedded nil pointer", event{Kind: "event"},
			map[string]any{"id": int64(0), "Seen": false, "kind": "event", "tagged": map[string]any{"id": int64(0), "kind": ""}}},
		{"conflicting names", conflict{left{"l", "L"}, right{"r", "R"}}, map[string]any{"Left": "L", "Right": "R"}},
		{"tagged name wins", tagWins{left{"l", "L"}, taggedName{"t"}}, map[string]any{"Left": "L", "Name": "t"}},
		{"omitempty all empty", omissions{Array: [0]int{}},
			map[string]any{"struct": map[string]any{"X": int64(0)}, "full": []any{int64(0)}, "kept": nil}},
		{"omitempty none empty", omissions{Bool: true, Int: -1, Uint: 1, Float: 0.5, String: "s", Slice: []int{1}, Map: map[string]int{"k": 1},
			Pointer: &one, Any: 0, Time: when, Zero: struct{ X int }{1}, Addr: netip.MustParseAddr("::1"), Full: [1]int{2}, Kept: map[string]string{}},
			map[string]any{"bool": true, "int": int64(-1), "Uint": int64(1), "float": 0.5, "string": "s", "slice": []any{int64(1)}, "map": map[string]any{"k": int64(1)},
				"pointer": int64(1), "any": int64(0), "time": when, "struct": map[string]any{"X": int64(0)}, "zero": map[string]any{"X": int64(1)},
				"addr": "::1", "full": []any{int64(2)}, "kept": map[string]any{}}},
		{"empty but non-nil", omissions{Slice: []int{}, Map: map[string]int{}, Any: (*int)(nil)},
			map[string]any{"any": nil, "struct": map[string]any{"X": int64(0)}, "full": []any{int64(0)}, "kept": nil}},
		{"nested typed maps", map[string]map[int][]celsius{"a": {1: {2}, -1: nil}},
			map[string]any{"a": map[string]any{"1": []any{2.0}, "-1": nil}}},
		{"named key types", byName{"x": 1}, map[string]any{"x": 1.0}},
		{"named int keys", byID{-128: "min"}, map[string]any{"-128": "min"}},
		{"named uint keys", byUID{math.MaxUint64: true}, map[string]any{"18446744073709551615": true}},
		{"any keys", map[any]any{"s": 1, 2: "two", uint8(3): nil}, map[string]any{"s": int64(1), "2": "two", "3": nil}},
		{"text keys", map[textPoint]bool{{1, 2}: true}, map[string]any{"1,2": true}},
		{"map of any in a struct", struct{ M map[string]any }{map[string]any{"k": []any{"v"}}}, map[string]any{"M": map[string]any{"k": []any{"v"}}}},
		{"list of any in a struct", struct{ L []any }{[]any{1, "x"}}, map[string]any{"L": []any{int64(1), "x"}}},
		{"linked list", list, map[string]any{"name": "a", "next": map[string]any{"name": "b", "next": nil}}},
		{"recursive map type", tree{"a": tree{"b": nil}}, map[string]any{"a": map[string]any{"b": nil}}},
		{"interface holding a struct", anyHolder{list.Next}, map[string]any{"V": map[string]any{"name": "b", "next": nil}}},
		{"interface holding uintptr", anyHolder{uintptr(5)}, map[string]any{"V": int64(5)}},
		{"nil interface", anyHolder{}, map[string]any{"V": nil}},
		{"text by value", textPoint{1, 2}, "1,2"},
		{"text by pointer, addressable", &pointText{3, 4}, "(3,4)"},
		{"text by pointer, not addressable", pointText{3, 4}, map[string]any{"X": int64(3), "Y": int64(4)}},
		{"text in an addressable struct", &hasText{P: textPoint{1, 2}, PP: pointText{5, 6}},
			map[string]any{"P": "1,2", "PP": "(5,6)", "PM": nil}},
		{"netip.Addr", netip.MustParseAddr("10.0.0.1"), "10.0.0.1"},
		{"json and binary marshalers ignored", jsonOnly{7}, map[string]any{"X": int64(7)}},
		{"omitzero by IsZero through a pointer", struct {
			Nil  *time.Time `json:",omitzero"`
			Zero *time.Time `json:",omitzero"`
			Set  *time.Time `json:",omitzero"`
			Any  any        `json:",omitzero"`
			Time time.Time  `json:",omitzero"`
		}{Zero: new(time.Time{}.In(time.FixedZone("X", 0))), Set: &when, Time: time.Time{}.In(time.FixedZone("X", 0))},
			map[string]any{"Set": when}},
		{"omitempty keeps a pointer to a zero time", struct {
			Zero *time.Time `json:",omitempty"`
		}{new(time.Time{})}, map[string]any{"Zero": time.Time{}}},
		{"nil text key", map[*textPoint]int{nil: 1}, map[string]any{"": int64(1)}},
		{"map header shrinks", manyFields{F14: 14},
			map[string]any{"F0": int64(0), "F1": int64(0), "F2": int64(0), "F3": int64(0), "F4": int64(0), "F5": int64(0), "F6": int64(0), "F7": int64(0),
				"F8": int64(0), "F9": int64(0), "F10": int64(0), "F11": int64(0), "F12": int64(0), "F13": int64(0), "F14": int64(14)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := roundTrip(t, tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode(Encode(%#v)) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

// TestReflectBytes pins the bytes where the order is known: struct fields
// in their order, and the smallest header when fields are left out.
func TestReflectBytes(t *testing.T) {
	t.Parallel()
	type pair struct {
		A int    `json:"a"`
		B string `json:",omitempty"`
	}
	many := func(opt int) []byte {
		b := []byte{0x80 | 15}
		if opt != 0 {
			b = []byte{0xde, 0, 16}
		}
		for i := range 15 {
			b = append(b, 0xa0|byte(len(fmt.Sprint("F", i))))
			b = append(append(b, fmt.Sprint("F", i)...), 0)
		}
		if opt != 0 {
			b = append(b, 0xa3, 'o', 'p', 't', byte(opt))
		}
		return b
	}
	tests := []struct {
		name string
		in   any
		want []byte
	}{
		{"struct", pair{1, "b"}, []byte{0x82, 0xa1, 'a', 1, 0xa1, 'B', 0xa1, 'b'}},
		{"struct, field left out", pair{A: 300}, []byte{0x81, 0xa1, 'a', 0xcd, 0x01, 0x2c}},
		{"map16 of 17 fields, one left out", manyFields{Opt: 5}, many(5)},
		{"map16 shrunk to a fixmap", manyFields{}, many(0)},
		{"named types compact", []smallInt{-1, 100}, []byte{0x92, 0xff, 0x64}},
		{"int key", map[int]bool{-20: true}, []byte{0x81, 0xa3, '-', '2', '0', 0xc3}},
		{"byte array", [2]byte{1, 2}, []byte{0xc4, 2, 1, 2}},
		{"file in a struct", struct{ F File }{File{Name: "n", Type: "t", Data: []byte{9}}},
			[]byte{0x81, 0xa1, 'F', 0xd7, 'F', 0x93, 0xa1, 'n', 0xa1, 't', 0xc4, 1, 9}},
		{"time in a struct", struct{ T time.Time }{time.Unix(1, 0)}, []byte{0x81, 0xa1, 'T', 0xd6, 0xff, 0, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectBytes(t, tt.in, tt.want)
		})
	}
}

// TestReflectSharesFileData checks that a File inside a struct is not
// copied on the way: its data reaches the encoding straight.
func TestReflectSharesFileData(t *testing.T) {
	data := make([]byte, 1<<20)
	in := &struct{ F File }{File{Name: "big", Data: data}}
	buf := make([]byte, 0, len(data)+64)
	if _, err := AppendEncode(buf, in); err != nil { // warm the type cache
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := AppendEncode(buf, in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("encoding a struct holding a 1 MiB File allocates %v times", allocs)
	}
}

func TestReflectErrors(t *testing.T) {
	t.Parallel()
	cyclic := &node{Name: "loop"}
	cyclic.Next = cyclic
	var self selfPtr
	self = &self
	var holder any
	holder = &holder
	loopTree := tree{}
	loopTree["again"] = loopTree
	tests := []struct {
		name string
		in   any
		errs []error
		text string // in the message
	}{
		{"chan in a struct", struct{ C chan int }{}, []error{ErrUnsupported}, "chan int"},
		{"nil func in a struct", struct{ F func() }{}, []error{ErrUnsupported}, "func()"},
		{"complex64", complex64(1), []error{ErrUnsupported}, "complex64"},
		{"complex128 in a slice", []complex128{1}, []error{ErrUnsupported}, "complex128"},
		{"unsafe pointer", struct{ P unsafe.Pointer }{}, []error{ErrUnsupported}, "unsafe.Pointer"},
		{"uintptr in a slice", []uintptr{1}, []error{ErrUnsupported}, "uintptr"},
		{"named uintptr array", addresses{}, []error{ErrUnsupported}, "uintptr"},
		{"chan as a map value", map[string]chan int{"c": nil}, []error{ErrUnsupported}, "chan int"},
		{"bool keys", map[bool]int{true: 1}, []error{ErrUnsupported, ErrInvalid}, "bool"},
		{"float keys in a struct", struct{ M map[float32]int }{map[float32]int{1: 1}}, []error{ErrUnsupported, ErrInvalid}, "float32"},
		{"struct keys", map[base]int{{}: 1}, []error{ErrUnsupported, ErrInvalid}, "datapack.base"},
		{"bool in any keys", map[any]int{true: 1}, []error{ErrUnsupported, ErrInvalid}, "bool"},
		{"nil any key", map[any]int{nil: 1}, []error{ErrUnsupported, ErrInvalid}, "interface"},
		{"cyclic list", cyclic, []error{ErrTooDeep}, ""},
		{"cyclic typed map", loopTree, []error{ErrTooDeep}, ""},
		{"pointer to itself", self, []error{ErrTooDeep}, "pointers"},
		{"interface holding its own address", holder, []error{ErrTooDeep}, "pointers"},
		{"interface holding its own address in a struct", anyHolder{holder}, []error{ErrTooDeep}, "pointers"},
		{"structs too deep", nestStructs(MaxDepth + 1), []error{ErrTooDeep}, ""},
		{"typed slices too deep", nestAround(MaxDepth-1, []temps{{1}}), []error{ErrTooDeep}, ""},
		{"text error", badText{}, []error{ErrUnsupported}, "no text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Encode(tt.in)
			for _, want := range tt.errs {
				if !errors.Is(err, want) {
					t.Fatalf("Encode = % x, %v; want %v", b, err, want)
				}
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Encode: %v; want %q in the message", err, tt.text)
			}
		})
	}
}

type badText struct{}

func (badText) MarshalText() ([]byte, error) { return nil, errors.New("no text") }

// nestStructs returns n levels of structs, each a field of the next.
func nestStructs(n int) any {
	v := reflect.ValueOf("leaf")
	for range n {
		s := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "In", Type: v.Type()}})).Elem()
		s.Field(0).Set(v)
		v = s
	}
	return v.Interface()
}

func TestReflectNestLimit(t *testing.T) {
	t.Parallel()
	var list *node
	for i := range MaxDepth {
		list = &node{Name: fmt.Sprint(i), Next: list}
	}
	for _, in := range []any{nestStructs(MaxDepth), list, nestAround(MaxDepth-2, []temps{{1}})} {
		b, err := Encode(in)
		if err != nil {
			t.Fatalf("Encode at MaxDepth: %v", err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("Decode at MaxDepth: %v", err)
		}
	}
	if _, err := Encode(&node{Next: list}); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Encode past MaxDepth: %v, want ErrTooDeep", err)
	}
}

// TestReflectConcurrent encodes values of a recursive type new to the
// cache from many goroutines at once, for the race detector and for the
// placeholder a recursive type gets while its encoder is made.
func TestReflectConcurrent(t *testing.T) {
	t.Parallel()
	type cell struct {
		Value int
		Next  *cell
		Kids  map[string]*cell
	}
	in := &cell{Value: 1, Next: &cell{Value: 2}, Kids: map[string]*cell{"k": {Value: 3}}}
	want := map[string]any{
		"Value": int64(1),
		"Next":  map[string]any{"Value": int64(2), "Next": nil, "Kids": nil},
		"Kids":  map[string]any{"k": map[string]any{"Value": int64(3), "Next": nil, "Kids": nil}},
	}
	type result struct {
		b   []byte
		err error
	}
	results := make(chan result, 8)
	for range cap(results) {
		go func() {
			b, err := Encode(in)
			results <- result{b, err}
		}()
	}
	for range cap(results) {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got, err := Decode(r.b); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode = %#v, %v; want %#v", got, err, want)
		}
	}
}

// TestEncodeAllocatesNothing holds the paths a DataConnection takes for
// every message to zero allocations once a type is known: the dynamic
// values, and structs reached through a pointer.
func TestEncodeAllocatesNothing(t *testing.T) {
	when := time.Unix(1700000000, 5)
	tests := []struct {
		name string
		in   any
	}{
		{"dynamic map", map[string]any{"type": "chat", "n": 42, "tags": []any{"a", 1.5}, "when": when}},
		{"file", &File{Name: "f", Data: make([]byte, 100)}},
		{"struct by pointer", &message{Text: "hi", Sent: when, Edited: &when, Photo: File{Name: "p"}}},
		{"typed slices in a struct", &struct {
			Ints  []int
			Temps temps
			Pts   []textPoint `json:"-"`
			Inner struct{ A, B string }
		}{Ints: []int{1, 2, 3}, Temps: temps{1}}},
		{"embedded", &event{base: base{ID: 1}, meta: &meta{Owner: "o"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := AppendEncode(nil, tt.in) // warm the type cache
			if err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if buf, err = AppendEncode(buf[:0], tt.in); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("AppendEncode allocates %v times", allocs)
			}
		})
	}
}
