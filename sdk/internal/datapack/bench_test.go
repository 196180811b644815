package datapack

import (
	"testing"
	"time"
)

// BenchmarkChunk1MiB measures sending and receiving a 1 MiB message: the
// sender's frames go through one reused buffer and must not allocate; the
// receiver allocates its message buffer, a few times as it doubles.
func BenchmarkChunk1MiB(b *testing.B) {
	msg, err := Encode(randomBytes(1<<20, 9))
	if err != nil {
		b.Fatal(err)
	}
	s := NewSplitter(1, msg)
	buf := make([]byte, 0, ChunkSize)
	b.Run("AppendFrame", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			for i := range s.Frames() {
				buf = s.AppendFrame(buf[:0], i)
			}
		}
	})
	b.Run("AppendFrame+Add", func(b *testing.B) {
		var r Reassembler
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			for i := range s.Frames() {
				buf = s.AppendFrame(buf[:0], i)
				if _, _, err := r.Add(buf); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("Unpack", func(b *testing.B) {
		var r Reassembler
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			for i := range s.Frames() {
				buf = s.AppendFrame(buf[:0], i)
				if _, _, err := r.Unpack(buf); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkEncodeDecode measures a typical small message, a JSON-like map.
func BenchmarkEncodeDecode(b *testing.B) {
	v := map[string]any{
		"type": "chat", "text": "hello there", "n": 42, "ok": true,
		"tags": []any{"a", "b", "c"}, "pos": map[string]any{"x": 1.5, "y": -2.5},
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendEncode(buf[:0], v); err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeStruct measures a typed message packed by reflection: once
// the type is known, through a pointer, it allocates nothing.
func BenchmarkEncodeStruct(b *testing.B) {
	type chat struct {
		Type   string     `json:"type"`
		Text   string     `json:"text"`
		N      int        `json:"n"`
		OK     bool       `json:"ok"`
		Tags   []string   `json:"tags"`
		Pos    [2]float64 `json:"pos"`
		Sent   time.Time  `json:"sent"`
		Attach *File      `json:"attach,omitempty"`
	}
	v := &chat{Type: "chat", Text: "hello there", N: 42, OK: true,
		Tags: []string{"a", "b", "c"}, Pos: [2]float64{1.5, -2.5}, Sent: time.Unix(1700000000, 0)}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendEncode(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}
