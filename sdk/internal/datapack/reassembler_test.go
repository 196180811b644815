package datapack

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// checkInvariants fails t when r holds more than its limits allow, or its
// accounting is off.
func checkInvariants(t testing.TB, r *Reassembler) {
	t.Helper()
	maxSize, maxPending, maxBuffered := r.limits()
	if len(r.pending) > maxPending {
		t.Fatalf("%d messages in progress, over %d", len(r.pending), maxPending)
	}
	held := 0
	for _, p := range r.pending {
		size := len(p.buf)
		for _, d := range p.ahead {
			size += len(d)
		}
		if p.placed {
			size = p.held // the bytes are the caller's; see TestPlace
		}
		if size != p.held || size > maxSize {
			t.Fatalf("message %d holds %d bytes, counted %d, limit %d", p.id, size, p.held, maxSize)
		}
		held += size
	}
	if held != r.buffered || held > maxBuffered {
		t.Fatalf("%d bytes in progress, counted %d, limit %d", held, r.buffered, maxBuffered)
	}
}

func TestUnpackBigBytesShuffled(t *testing.T) {
	t.Parallel()
	body := randomBytes(5_000_000, 4)
	msg, err := Encode(body)
	if err != nil {
		t.Fatal(err)
	}
	fs := frames(NewSplitter(42, msg))
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	var r Reassembler
	for i, f := range fs {
		v, done, err := r.Unpack(f)
		checkInvariants(t, &r)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if done != (i == len(fs)-1) {
			t.Fatalf("frame %d of %d: done = %v", i, len(fs), done)
		}
		if done && !bytes.Equal(v.([]byte), body) {
			t.Fatal("the 5 MB []byte came back different")
		}
	}
	if len(r.pending) != 0 || r.buffered != 0 {
		t.Fatalf("%d messages, %d bytes left in progress", len(r.pending), r.buffered)
	}
}

func TestUnpack(t *testing.T) {
	t.Parallel()
	small := map[string]any{"hello": "world", "n": int64(3)}
	large := map[string]any{
		"files": []any{File{Name: "a.bin", Type: "application/octet-stream", Data: randomBytes(40_000, 5)}},
		"list":  []any{"x", 1.5, []any{[]byte("b"), nil}},
		"pad":   string(randomBytes(30_000, 6)),
	}
	tests := []struct {
		name string
		v    any
	}{
		{"whole value", small},
		{"chunked value", large},
		{"list of maps", []any{small, small, large}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, err := Encode(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			var r Reassembler
			s := NewSplitter(9, msg)
			var buf []byte
			for i := range s.Frames() {
				buf = s.AppendFrame(buf[:0], i)
				v, done, err := r.Unpack(buf)
				if err != nil || done != (i == s.Frames()-1) {
					t.Fatalf("frame %d of %d: done %v, %v", i, s.Frames(), done, err)
				}
				if done && !reflect.DeepEqual(v, tt.v) {
					t.Fatalf("Unpack = %#v", v)
				}
			}
		})
	}
}

// TestUnpackInterleaved sends two messages at once, shuffled together, as on
// an unordered channel.
func TestUnpackInterleaved(t *testing.T) {
	t.Parallel()
	a, b := randomBytes(50_000, 7), randomBytes(70_000, 8)
	ma, _ := Encode(a)
	mb, _ := Encode(b)
	fs := append(frames(NewSplitter(1, ma)), frames(NewSplitter(2, mb))...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	var r Reassembler
	var got [][]byte
	for _, f := range fs {
		v, done, err := r.Unpack(f)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			got = append(got, v.([]byte))
		}
	}
	if len(got) != 2 || !(bytes.Equal(got[0], a) && bytes.Equal(got[1], b) || bytes.Equal(got[0], b) && bytes.Equal(got[1], a)) {
		t.Fatalf("got %d messages, not the two sent", len(got))
	}
}

// TestUnpackSharesOnlyItsBuffer checks that the byte slices of a chunked
// value, which share the message's buffer, cannot be appended into each
// other.
func TestUnpackSharesOnlyItsBuffer(t *testing.T) {
	t.Parallel()
	msg, _ := Encode([]any{make([]byte, 20_000), []byte("next")})
	var r Reassembler
	var v any
	s := NewSplitter(1, msg)
	for i := range s.Frames() {
		v, _, _ = r.Unpack(s.AppendFrame(nil, i))
	}
	first := v.([]any)[0].([]byte)
	if cap(first) != len(first) {
		t.Fatalf("cap %d, len %d: appending would overwrite the next value", cap(first), len(first))
	}
}

// Frames of a tiny size (4 data bytes a chunk) make the limits easy to reach.
const (
	testFrameSize = MaxChunkHeader + 4
	testDataSize  = 4
)

// step is one frame given to a Reassembler, and what Add should answer.
type step struct {
	frame []byte
	done  bool
	msg   string // when done
	err   error
}

// tiny returns chunk i of message id, cut in 4-byte chunks. A Splitter
// would send such small messages whole.
func tiny(id uint32, msg string, i int) []byte {
	count := (len(msg)-1)/testDataSize + 1
	data := msg[i*testDataSize : min(len(msg), (i+1)*testDataSize)]
	return chunkFrame(uint64(id), uint64(i), uint64(count), []byte(data))
}

func TestReassemblerLimits(t *testing.T) {
	t.Parallel()
	const ten = "0123456789" // 3 chunks: 4, 4 and 2 bytes
	ok := func(f []byte) step { return step{frame: f} }
	done := func(f []byte, msg string) step { return step{frame: f, done: true, msg: msg} }
	fails := func(f []byte, err error) step { return step{frame: f, err: err} }
	tests := []struct {
		name  string
		r     Reassembler
		steps []step
	}{
		{"in order", Reassembler{}, []step{
			ok(tiny(1, ten, 0)), ok(tiny(1, ten, 1)), done(tiny(1, ten, 2), ten),
		}},
		{"out of order", Reassembler{}, []step{
			ok(tiny(1, ten, 2)), ok(tiny(1, ten, 0)), done(tiny(1, ten, 1), ten),
		}},
		{"one chunk", Reassembler{}, []step{
			done(chunkFrame(5, 0, 1, []byte("abc")), "abc"),
		}},
		{"whole value passes through", Reassembler{}, []step{
			done([]byte{0x93, 1, 2, 3}, "\x93\x01\x02\x03"),
		}},
		{"duplicate chunk drops the message", Reassembler{}, []step{
			ok(tiny(1, ten, 0)), fails(tiny(1, ten, 0), ErrBadChunk),
			// What follows starts over and cannot complete.
			ok(tiny(1, ten, 1)), ok(tiny(1, ten, 2)),
		}},
		{"duplicate early chunk", Reassembler{}, []step{
			ok(tiny(1, ten, 2)), fails(tiny(1, ten, 2), ErrBadChunk),
		}},
		{"index out of range", Reassembler{}, []step{
			ok(tiny(1, ten, 0)), fails(chunkFrame(1, 3, 3, []byte("ab")), ErrBadChunk),
			ok(tiny(1, ten, 1)),
		}},
		{"count changes", Reassembler{}, []step{
			ok(tiny(1, ten, 0)), fails(chunkFrame(1, 1, 4, []byte("4567")), ErrBadChunk),
		}},
		{"too many chunks", Reassembler{MaxMessageSize: 12}, []step{
			// 4 chunks make at least 13 bytes.
			fails(chunkFrame(1, 0, 4, []byte("0123")), ErrTooLarge),
			fails(chunkFrame(1, 3, 4, []byte("0")), ErrTooLarge),
			ok(chunkFrame(2, 0, 3, []byte("0123"))),
		}},
		{"count claiming 4 Gi chunks", Reassembler{}, []step{
			fails(chunkFrame(1, 0, 1<<32-1, []byte("0123")), ErrTooLarge),
		}},
		{"last chunk past the limit", Reassembler{MaxMessageSize: 10}, []step{
			ok(tiny(1, "0123456789ab", 0)), fails(tiny(1, "0123456789ab", 2), ErrTooLarge),
		}},
		{"short middle chunk", Reassembler{}, []step{
			fails(chunkFrame(1, 0, 3, []byte("012")), ErrBadChunk),
		}},
		{"long last chunk", Reassembler{}, []step{
			fails(chunkFrame(1, 2, 3, []byte("01234")), ErrBadChunk),
		}},
		{"frame past the frame size", Reassembler{}, []step{
			fails(chunkFrame(1, 2, 3, make([]byte, testFrameSize)), ErrInvalid),
		}},
		{"empty last chunk", Reassembler{}, []step{
			fails(chunkFrame(1, 2, 3, nil), ErrBadChunk),
		}},
		{"zero count", Reassembler{}, []step{
			fails(chunkFrame(1, 0, 0, []byte("0")), ErrInvalid),
		}},
		{"id past uint32", Reassembler{}, []step{
			fails(chunkFrame(1<<32, 0, 1, []byte("0")), ErrInvalid),
		}},
		{"truncated header", Reassembler{}, []step{
			fails([]byte{codeExt32, 0, 0, 0, 2, byte(ChunkExt), 1, 0x80}, ErrInvalid),
		}},
		{"length says more", Reassembler{}, []step{
			fails([]byte{codeExt32, 0, 0, 0, 9, byte(ChunkExt), 1, 0, 1, 'x'}, ErrInvalid),
		}},
		{"length says less", Reassembler{}, []step{
			fails([]byte{codeExt32, 0, 0, 0, 3, byte(ChunkExt), 1, 0, 1, 'x'}, ErrInvalid),
		}},
		{"MaxPending drops the oldest", Reassembler{MaxPending: 2}, []step{
			ok(tiny(1, ten, 0)), ok(tiny(2, ten, 0)), ok(tiny(3, ten, 0)), // drops 1
			ok(tiny(2, ten, 1)), done(tiny(2, ten, 2), ten),
			ok(tiny(1, ten, 1)), ok(tiny(1, ten, 2)), // 1 started over: never done
			ok(tiny(3, ten, 1)), done(tiny(3, ten, 2), ten),
		}},
		{"MaxBuffered drops the oldest", Reassembler{MaxBuffered: 10}, []step{
			ok(tiny(1, ten, 0)), ok(tiny(2, ten, 0)), ok(tiny(2, ten, 1)), // drops 1
			done(tiny(2, ten, 2), ten),
			ok(tiny(1, ten, 1)), ok(tiny(1, ten, 2)),
		}},
		{"MaxBuffered refuses a message alone", Reassembler{MaxBuffered: 6}, []step{
			ok(tiny(1, ten, 0)), fails(tiny(1, ten, 1), ErrTooLarge), ok(tiny(1, ten, 2)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.r
			r.frameSize = testFrameSize
			for i, s := range tt.steps {
				msg, done, err := r.Add(s.frame)
				checkInvariants(t, &r)
				if !errors.Is(err, s.err) || (err == nil) != (s.err == nil) {
					t.Fatalf("step %d: Add = %v, want %v", i, err, s.err)
				}
				if done != s.done || done && string(msg) != s.msg {
					t.Fatalf("step %d: Add = %q, %v; want %q, %v", i, msg, done, s.msg, s.done)
				}
			}
		})
	}
}

// TestReassemblerHoldsWhatArrived checks that a chunk claiming the largest
// message costs its own bytes, not the claim's.
func TestReassemblerHoldsWhatArrived(t *testing.T) {
	t.Parallel()
	var r Reassembler
	count := uint64(DefaultMaxMessageSize / ChunkDataSize)
	for id := range uint64(DefaultMaxPending) {
		for _, index := range []uint64{0, count - 1} {
			_, _, err := r.Add(chunkFrame(id, index, count, make([]byte, ChunkDataSize)))
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	checkInvariants(t, &r)
	if want := 2 * DefaultMaxPending * ChunkDataSize; r.buffered != want {
		t.Fatalf("%d bytes held, want %d", r.buffered, want)
	}
	for _, p := range r.pending {
		if cap(p.buf) > ChunkDataSize {
			t.Fatalf("message %d reserved %d bytes for one chunk", p.id, cap(p.buf))
		}
	}
}
