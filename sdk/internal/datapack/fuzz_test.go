package datapack

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds Decode arbitrary bytes. Besides not panicking, Decode
// must agree with its dry run and with its aliasing mode (which Unpack
// uses), and whatever it accepts must encode again into the same value.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		dry := decoder{b: data, dry: true}
		if dryErr := dry.top(); errString(dryErr) != errString(err) {
			t.Fatalf("Decode: %v; dry run: %v", err, dryErr)
		}
		alias := decoder{b: data, alias: true}
		va, aliasErr := alias.decode()
		if errString(aliasErr) != errString(err) || !sameValue(v, va) {
			t.Fatalf("Decode = %#v, %v; aliasing = %#v, %v", v, err, va, aliasErr)
		}
		if err != nil {
			return
		}
		b, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(% x)): %v", data, err)
		}
		v2, err := Decode(b)
		if err != nil || !sameValue(v, v2) {
			t.Fatalf("Decode(Encode(%#v)) = %#v, %v", v, v2, err)
		}
	})
}

// FuzzEncodeReflect packs values of Go types made of the fuzzer's numbers,
// text and bytes. Reflection must write the very bytes the type switch
// writes for the same value, and a struct must decode to the map of its
// fields.
func FuzzEncodeReflect(f *testing.F) {
	f.Add(int64(-33), uint64(300), 1.5, "name", []byte{1, 2})
	f.Add(int64(math.MinInt64), uint64(math.MaxUint64), math.Inf(-1), strings.Repeat("s", 40), []byte(nil))
	f.Add(int64(1<<34), uint64(1<<63), math.NaN(), "", make([]byte, 300))
	type fuzzed struct {
		C celsius `json:"c"`
		L label   `json:"l,omitempty"`
		I smallInt
		U bigUint `msgpack:"u"`
		B blob
		M map[int64]string
		K byUID
		T *time.Time
		F []File
	}
	f.Fuzz(func(t *testing.T, n int64, u uint64, fl float64, s string, b []byte) {
		when := time.Unix(n, int64(u%1e9))
		file := File{Name: s, Type: s, Data: b}
		for _, v := range []any{
			int(n), int8(n), int16(n), int32(n), n,
			uint(u), uint8(u), uint16(u), uint32(u), u,
			float32(fl), fl, n%2 == 0, s, b, when, file, &file,
			[]any{n, s}, map[string]any{s: u},
		} {
			want, err := Encode(v)
			if err != nil {
				t.Fatalf("Encode(%#v): %v", v, err)
			}
			got, err := appendReflect(nil, v, 0)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%#v: reflection writes % x, %v; the type switch % x", v, got, err, want)
			}
		}

		in := fuzzed{C: celsius(fl), L: label(s), I: smallInt(n), U: bigUint(u), B: b,
			M: map[int64]string{n: s}, K: byUID{bigUint(u): true}, T: &when, F: []File{file}}
		var wantU any = int64(u)
		if u > math.MaxInt64 {
			wantU = u
		}
		var wantB any
		if b != nil {
			wantB = b
		}
		want := map[string]any{"c": fl, "I": int64(int8(n)), "u": wantU, "B": wantB,
			"M": map[string]any{strconv.FormatInt(n, 10): s}, "K": map[string]any{strconv.FormatUint(u, 10): true},
			"T": when, "F": []any{file}}
		if s != "" {
			want["l"] = s
		}
		enc, err := Encode(in)
		if err != nil {
			t.Fatalf("Encode(%#v): %v", in, err)
		}
		got, err := Decode(enc)
		if err != nil || !sameValue(got, want) {
			t.Fatalf("Decode(Encode(%#v)) = %#v, %v; want %#v", in, got, err, want)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sameValue compares decoded values as reflect.DeepEqual would, except that
// NaN equals NaN and a nil []byte an empty one.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b))
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case File:
		b, ok := b.(File)
		return ok && a.Name == b.Name && a.Type == b.Type && bytes.Equal(a.Data, b.Data)
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// FuzzReassemble feeds a Reassembler with small limits a sequence of frames:
// the input is records of a length byte and that many bytes. Besides not
// panicking, the Reassembler must stay within its limits after every frame,
// and never complete a message over MaxMessageSize.
func FuzzReassemble(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Reassembler{MaxMessageSize: 64, MaxPending: 3, MaxBuffered: 100, frameSize: testFrameSize}
		for len(data) > 0 {
			n := min(int(data[0]), len(data)-1)
			frame := data[1 : 1+n]
			data = data[1+n:]
			msg, done, err := r.Add(frame)
			checkInvariants(t, &r)
			if err != nil && done {
				t.Fatalf("Add: done with an error: %v", err)
			}
			if !done || !IsChunk(frame) {
				continue
			}
			if len(msg) > r.MaxMessageSize {
				t.Fatalf("a message of %d bytes completed, over %d", len(msg), r.MaxMessageSize)
			}
			d := decoder{b: msg, alias: true}
			_, _ = d.decode()
		}
	})
}

// FuzzPlace feeds the chunk frames of FuzzReassemble's input both to Place,
// with only their headers, and to Add: the two must agree on every frame
// (the same kind of error, the same messages completed, byte for byte), and
// what Place holds must stay within the frame and MaxMessageSize.
func FuzzPlace(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		limits := Reassembler{MaxMessageSize: 64, MaxPending: 3, MaxBuffered: 100, frameSize: testFrameSize}
		add := limits
		p := newPlacer(limits)
		for len(data) > 0 {
			n := min(int(data[0]), len(data)-1)
			frame := data[1 : 1+n]
			data = data[1+n:]
			if !IsChunk(frame) {
				continue
			}
			got, gotDone, gotErr := p.place(frame)
			want, wantDone, wantErr := add.Add(frame)
			checkInvariants(t, &p.r)
			if kind(gotErr) != kind(wantErr) || gotDone != wantDone || !bytes.Equal(got, want) {
				t.Fatalf("Place: %v, %v, %x; Add: %v, %v, %x", gotErr, gotDone, got, wantErr, wantDone, want)
			}
			for id, buf := range p.bufs {
				if len(buf) > limits.MaxMessageSize || !p.r.Holds(id) {
					t.Fatalf("message %d: %d bytes held, held %v", id, len(buf), p.r.Holds(id))
				}
			}
		}
	})
}

// kind is the sentinel error err wraps, nil for none.
func kind(err error) error {
	for _, k := range []error{ErrInvalid, ErrBadChunk, ErrTooLarge} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}
