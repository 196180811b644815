package datapack

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// placer holds the messages a Reassembler places, in Go buffers: what a
// browser does with ArrayBuffers.
type placer struct {
	r       Reassembler
	bufs    map[uint32][]byte
	dropped []uint32
}

func newPlacer(r Reassembler) *placer {
	p := &placer{r: r, bufs: map[uint32][]byte{}}
	p.r.OnDrop = func(id uint32) {
		p.dropped = append(p.dropped, id)
		delete(p.bufs, id)
	}
	return p
}

// place hands frame to Place with only its header, as a browser does, and
// copies its data where Place says; it returns a completed message.
func (p *placer) place(frame []byte) (msg []byte, done bool, err error) {
	pl, err := p.r.Place(frame[:min(len(frame), MaxChunkHeader)], len(frame))
	if err != nil {
		return nil, false, err
	}
	buf := p.bufs[pl.ID]
	if need := pl.Offset + pl.N; len(buf) < need {
		buf = append(buf, make([]byte, need-len(buf))...)
	}
	copy(buf[pl.Offset:], frame[pl.From:pl.From+pl.N])
	p.bufs[pl.ID] = buf
	if !pl.Done {
		return nil, false, nil
	}
	delete(p.bufs, pl.ID)
	return buf[:pl.Size], true, nil
}

func TestPlaceShuffled(t *testing.T) {
	t.Parallel()
	body := randomBytes(1_000_000, 9)
	msg, err := Encode(body)
	if err != nil {
		t.Fatal(err)
	}
	fs := frames(NewSplitter(7, msg))
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	p := newPlacer(Reassembler{})
	for i, f := range fs {
		if held := p.r.Holds(7); held != p.r.InProgress(7) || held != (i > 0) {
			t.Fatalf("frame %d: message 7 held %v, in progress %v", i, held, p.r.InProgress(7))
		}
		got, done, err := p.place(f)
		checkInvariants(t, &p.r)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if done != (i == len(fs)-1) {
			t.Fatalf("frame %d of %d: done = %v", i, len(fs), done)
		}
		if done && !bytes.Equal(got, msg) {
			t.Fatal("the placed message differs from the one sent")
		}
	}
	if p.r.Holds(7) || len(p.r.pending) != 0 || p.r.buffered != 0 {
		t.Fatalf("%d messages, %d bytes left in progress", len(p.r.pending), p.r.buffered)
	}
}

func TestPlaceRefuses(t *testing.T) {
	t.Parallel()
	msg := randomBytes(10*(testFrameSize-MaxChunkHeader), 1) // 10 chunks
	fs := frames(newSplitter(1, testFrameSize, testFrameSize, [][]byte{msg}))
	cases := []struct {
		name    string
		r       Reassembler
		frames  [][]byte
		add     int // the frame at this index goes to Add, not Place; -1 for none
		want    error
		dropped []uint32
	}{
		{"whole value", Reassembler{}, [][]byte{{0x91, 0x01}}, -1, ErrInvalid, nil},
		{"duplicate drops the message", Reassembler{}, [][]byte{fs[0], fs[1], fs[1]}, -1, ErrBadChunk, []uint32{1}},
		{"message over the limit", Reassembler{MaxMessageSize: 8}, [][]byte{fs[0]}, -1, ErrTooLarge, nil},
		{"added then placed", Reassembler{}, [][]byte{fs[0], fs[1]}, 0, ErrBadChunk, nil},
		{"placed then added", Reassembler{}, [][]byte{fs[0], fs[1]}, 1, ErrBadChunk, []uint32{1}},
		{"too many in progress", Reassembler{MaxPending: 1}, [][]byte{
			fs[0], chunkFrame(2, 0, 3, msg[:testFrameSize-MaxChunkHeader]),
		}, -1, nil, []uint32{1}},
		{"too many bytes in progress", Reassembler{MaxBuffered: 6}, [][]byte{fs[0], fs[1]}, -1, ErrTooLarge, []uint32{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.r.frameSize = testFrameSize
			p := newPlacer(tc.r)
			var err error
			for i, f := range tc.frames {
				if i == tc.add {
					_, _, err = p.r.Add(f)
				} else {
					_, _, err = p.place(f)
				}
				checkInvariants(t, &p.r)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("last frame: %v, want %v", err, tc.want)
			}
			if !slices.Equal(p.dropped, tc.dropped) {
				t.Fatalf("dropped %v, want %v", p.dropped, tc.dropped)
			}
		})
	}
}

func TestPeekChunk(t *testing.T) {
	t.Parallel()
	fs := frames(NewSplitter(300, randomBytes(3*ChunkSize, 2)))
	for i, f := range fs {
		h, ok := PeekChunk(f[:MaxChunkHeader])
		want := ChunkHeader{ID: 300, Index: uint32(i), Count: uint32(len(fs)), From: 6 + 2 + 1 + 1}
		if !ok || h != want {
			t.Fatalf("frame %d: PeekChunk = %+v, %v; want %+v", i, h, ok, want)
		}
	}
	if _, ok := PeekChunk([]byte{0x91, 0x01}); ok {
		t.Fatal("PeekChunk took a whole value for a chunk")
	}
}

func TestParsePayload(t *testing.T) {
	t.Parallel()
	encode := func(v any) []byte {
		b, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	long := string(bytes.Repeat([]byte("n"), 300))
	cases := []struct {
		name string
		msg  []byte
		ok   bool
		want Payload
	}{
		{"bin8", encode(make([]byte, 200)), true, Payload{Len: 2, Size: 202}},
		{"bin16", encode(make([]byte, 70_000-65_000)), true, Payload{Len: 3, Size: 5003}},
		{"bin32", encode(make([]byte, 70_000)), true, Payload{Len: 5, Size: 70_005}},
		{"file", encode(File{Name: "a.txt", Type: "text/plain", Data: make([]byte, 70_000)}), true,
			Payload{Len: 29, Size: 70_029, File: true, Name: "a.txt", Type: "text/plain"}},
		{"blob", encode(File{Data: make([]byte, 10)}), true, Payload{Len: 8, Size: 18, File: true}},
		{"file named at length", encode(File{Name: long, Data: make([]byte, 70_000)}), true,
			Payload{Len: 6 + 1 + 3 + 300 + 1 + 5, Size: 6 + 1 + 3 + 300 + 1 + 5 + 70_000, File: true, Name: long}},
		{"string", encode(string(make([]byte, 70_000))), false, Payload{}},
		{"map", encode(map[string]any{"a": make([]byte, 70_000)}), false, Payload{}},
		{"head cut short", encode(File{Name: long, Data: make([]byte, 70_000)})[:100], false, Payload{}},
		{"file data past its ext", append(encode(File{Data: make([]byte, 10)})[:7], 0xc4, 11), false, Payload{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParsePayload(tc.msg[:min(len(tc.msg), 512)])
			if ok != tc.ok || got != tc.want {
				t.Fatalf("ParsePayload = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
			if ok && got.Size != len(tc.msg) {
				t.Fatalf("Size %d, the message has %d bytes", got.Size, len(tc.msg))
			}
		})
	}
}
