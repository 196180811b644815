package datapack_test

import (
	"fmt"

	"github.com/skywasm/skywasm/sdk/internal/datapack"
)

// A value larger than a data-channel message crosses in chunks, and comes
// out whole on the far side.
func Example() {
	// The sender encodes the value and sends its frames through one
	// reused buffer.
	msg, err := datapack.Encode(map[string]any{
		"text":  "hello",
		"photo": datapack.File{Name: "cat.jpg", Type: "image/jpeg", Data: make([]byte, 40_000)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := datapack.NewSplitter(1, msg)
	fmt.Println(s.Frames(), "frames")
	var channel [][]byte // stands for the data channel
	buf := make([]byte, 0, datapack.ChunkSize)
	for i := range s.Frames() {
		buf = s.AppendFrame(buf[:0], i)
		channel = append(channel, append([]byte(nil), buf...))
	}

	// The receiver hands every frame to its Reassembler.
	var r datapack.Reassembler
	for _, frame := range channel {
		v, done, err := r.Unpack(frame)
		if err != nil {
			fmt.Println(err)
			return
		}
		if done {
			m := v.(map[string]any)
			photo := m["photo"].(datapack.File)
			fmt.Println(m["text"], photo.Name, photo.Type, len(photo.Data))
		}
	}
	// Output:
	// 3 frames
	// hello cat.jpg image/jpeg 40000
}

// A large []byte goes out as a bin header and the caller's own bytes, never
// copied into an encoded message: the frames are those of Encode(payload).
func ExampleAppendBinHeader() {
	payload := make([]byte, 10<<20)
	header, err := datapack.AppendBinHeader(nil, len(payload))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := datapack.NewSplitter(2, header, payload)
	buf := make([]byte, 0, datapack.ChunkSize)
	sent := 0
	for i := range s.Frames() {
		buf = s.AppendFrame(buf[:0], i)
		sent += len(buf) // dc.Send(buf)
	}
	fmt.Println(s.Frames(), "frames,", sent-len(payload), "bytes of headers")
	// Output:
	// 641 frames, 6928 bytes of headers
}
