package datapack

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// FuzzDecode feeds Decode arbitrary bytes. Besides not panicking, Decode
// must agree with its dry run (which Encode uses to check msgpack's output)
// and with its aliasing mode (which Unpack uses), and whatever it accepts
// must encode again into the same value.
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
