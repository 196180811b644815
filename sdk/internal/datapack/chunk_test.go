package datapack

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// randomBytes returns n bytes of a fixed pseudo-random sequence.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// frames returns every frame of s, each in its own slice.
func frames(s *Splitter) [][]byte {
	fs := make([][]byte, s.Frames())
	for i := range fs {
		fs[i] = s.AppendFrame(nil, i)
	}
	return fs
}

func TestSplitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		size   int
		frames int
	}{
		{"empty", 0, 1},
		{"one byte", 1, 1},
		{"exactly ChunkSize", ChunkSize, 1},
		{"one past ChunkSize", ChunkSize + 1, 2},
		{"two full chunks", 2 * ChunkDataSize, 2},
		{"one past two chunks", 2*ChunkDataSize + 1, 3},
		{"1 MiB", 1 << 20, (1<<20-1)/ChunkDataSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := randomBytes(tt.size, 1)
			s := NewSplitter(7, msg)
			if s.Frames() != tt.frames {
				t.Fatalf("Frames() = %d, want %d", s.Frames(), tt.frames)
			}
			var joined []byte
			for i, f := range frames(s) {
				if len(f) > ChunkSize {
					t.Fatalf("frame %d has %d bytes, over ChunkSize", i, len(f))
				}
				if tt.frames == 1 {
					if !bytes.Equal(f, msg) || IsChunk(f) {
						t.Fatal("the one frame of a small message is not the message")
					}
					return
				}
				if !IsChunk(f) {
					t.Fatalf("frame %d is not a chunk", i)
				}
				c, err := parseChunk(f, ChunkSize)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if c.id != 7 || c.index != uint32(i) || c.count != uint32(tt.frames) {
					t.Fatalf("frame %d: header %+v", i, c)
				}
				if i < tt.frames-1 && len(c.data) != ChunkDataSize {
					t.Fatalf("frame %d carries %d bytes, want ChunkDataSize", i, len(c.data))
				}
				joined = append(joined, c.data...)
			}
			if !bytes.Equal(joined, msg) {
				t.Fatal("the chunks do not make the message")
			}
		})
	}
}

// TestWholeSplitter checks that a message up to the whole limit goes as
// one frame that an unchanged receiver decodes, and a larger one in chunk
// frames of ChunkSize, which a Reassembler puts together as before.
func TestWholeSplitter(t *testing.T) {
	t.Parallel()
	const whole = 256 << 10
	tests := []struct {
		name   string
		whole  int
		size   int
		frames int
	}{
		{"a 64 KiB value, whole", whole, 64 << 10, 1},
		{"exactly the limit, whole", whole, whole, 1},
		{"one past the limit, in chunks", whole, whole + 1, (whole-1)/ChunkDataSize + 1},
		{"a limit under ChunkSize is ChunkSize", 100, ChunkSize, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := randomBytes(tt.size-5, 3) // a bin32 header is 5 bytes
			head, err := AppendBinHeader(nil, len(body))
			if err != nil {
				t.Fatal(err)
			}
			s := NewWholeSplitter(9, tt.whole, head, body)
			if s.Frames() != tt.frames {
				t.Fatalf("Frames() = %d, want %d", s.Frames(), tt.frames)
			}
			var r Reassembler
			for i, f := range frames(s) {
				if s.Frames() > 1 && len(f) > ChunkSize {
					t.Fatalf("chunk %d has %d bytes, over ChunkSize", i, len(f))
				}
				v, done, err := r.Unpack(f)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if done != (i == s.Frames()-1) {
					t.Fatalf("frame %d: done = %v", i, done)
				}
				if done && !bytes.Equal(v.([]byte), body) {
					t.Fatal("the value put together differs from the one sent")
				}
			}
		})
	}
}

// TestSplitterParts checks that a message given in parts is cut exactly as
// the same message given whole: in particular a bin header and the caller's
// bytes as Encode([]byte) would pack them, and a File likewise.
func TestSplitterParts(t *testing.T) {
	t.Parallel()
	body := randomBytes(100_000, 2)
	binHeader, err := AppendBinHeader(nil, len(body))
	if err != nil {
		t.Fatal(err)
	}
	fileHeader, err := AppendFileHeader(nil, "photo.jpg", "image/jpeg", len(body))
	if err != nil {
		t.Fatal(err)
	}
	encodedBin, err := Encode(body)
	if err != nil {
		t.Fatal(err)
	}
	encodedFile, err := Encode(File{Name: "photo.jpg", Type: "image/jpeg", Data: body})
	if err != nil {
		t.Fatal(err)
	}
	var small [][]byte
	for rest := encodedBin; len(rest) > 0; {
		n := min(len(rest), 1+len(small)*37)
		small = append(small, rest[:n], nil)
		rest = rest[n:]
	}
	tests := []struct {
		name  string
		parts [][]byte
		whole []byte
	}{
		{"bin header and body", [][]byte{binHeader, body}, encodedBin},
		{"file header and body", [][]byte{fileHeader, body}, encodedFile},
		{"many small and empty parts", small, encodedBin},
		{"small message in parts", [][]byte{{0x92}, {0x01}, nil, {0xa1, 'x'}}, []byte{0x92, 0x01, 0xa1, 'x'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, want := frames(NewSplitter(3, tt.parts...)), frames(NewSplitter(3, tt.whole))
			if len(got) != len(want) {
				t.Fatalf("%d frames, want %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("frame %d differs", i)
				}
			}
		})
	}
}

func TestAppendFrameOutOfRange(t *testing.T) {
	t.Parallel()
	s := NewSplitter(1, make([]byte, 3*ChunkSize))
	dst := []byte("keep")
	for _, i := range []int{-1, s.Frames(), math.MaxInt} {
		if got := s.AppendFrame(dst, i); string(got) != "keep" {
			t.Fatalf("AppendFrame(dst, %d) = %d bytes, want dst unchanged", i, len(got))
		}
	}
}

func TestAppendFrameAllocatesNothing(t *testing.T) {
	body := randomBytes(1<<20, 3)
	hdr, err := AppendBinHeader(nil, len(body))
	if err != nil {
		t.Fatal(err)
	}
	s := NewSplitter(1<<31, hdr, body)
	buf := make([]byte, 0, ChunkSize)
	allocs := testing.AllocsPerRun(10, func() {
		for i := range s.Frames() {
			buf = s.AppendFrame(buf[:0], i)
		}
	})
	if allocs != 0 {
		t.Fatalf("building %d frames allocated %v times, want 0", s.Frames(), allocs)
	}
}

func TestIsChunk(t *testing.T) {
	t.Parallel()
	bigFile, err := Encode(File{Name: "f", Data: make([]byte, 70_000)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"empty", nil, false},
		{"small value", []byte{0x01}, false},
		{"ext32 header alone", []byte{codeExt32, 0, 0, 0, 0}, false},
		{"ext32 File", bigFile, false},
		{"chunk", frames(NewSplitter(1, make([]byte, ChunkSize+1)))[1], true},
		{"chunk header of an empty payload", []byte{codeExt32, 0, 0, 0, 0, byte(ChunkExt)}, true},
		{"ext8 of the chunk type", []byte{codeExt8, 1, byte(ChunkExt), 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsChunk(tt.frame); got != tt.want {
				t.Fatalf("IsChunk = %v, want %v", got, tt.want)
			}
		})
	}
}
