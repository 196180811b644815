// Package datapack is the wire format of a DataConnection with `binary`
// serialization: values as MessagePack, cut into chunk frames so that no
// data-channel message is larger than ChunkSize, and put together again on
// the far side.
//
// # Values
//
// Encode and Decode map Go values to MessagePack and back. Encode packs the
// dynamic values (those Decode gives) with a type switch, and any other Go
// value by reflection, as encoding/json would see it: a struct as a map of
// its fields named by their `msgpack` or `json` tags, a typed slice as an
// array, a pointer as what it points to. Decode gives the dynamic forms a
// JavaScript peer also sees: maps become map[string]any, arrays []any,
// integers int64 (uint64 above math.MaxInt64), floats float64, bin []byte,
// str string. Two extension types carry what plain MessagePack cannot:
//
//   - FileExt ('F', 70): a File, a browser File or Blob with its name and
//     MIME type. The payload is the MessagePack array [name str, type str,
//     data bin].
//   - ext -1, MessagePack's own timestamp: a time.Time (a JavaScript Date).
//
// # Chunks
//
// A message whose encoding fits in ChunkSize bytes travels as itself, one
// data-channel message. A larger one travels as chunk frames, each a
// MessagePack ext32 value of type ChunkExt ('C', 67):
//
//	0xc9  uint32 BE payload length  0x43
//	uvarint message id  uvarint chunk index  uvarint chunk count
//	the message bytes [index*ChunkDataSize, min((index+1)*ChunkDataSize, size))
//
// Every chunk but the last carries exactly ChunkDataSize bytes and the last
// carries 1 to ChunkDataSize, so a frame is never larger than ChunkSize and a
// receiver knows the smallest size a message can have from its first chunk.
// Chunks may arrive in any order. A receiver tells a chunk from a whole value
// by the first byte and the ext type (IsChunk), without decoding anything.
//
// # Limits
//
// Encode refuses what Decode would refuse: nesting past MaxDepth (so a
// value that contains itself, also through pointers), map keys that are
// neither strings nor integers.
//
// The far peer is not trusted. Decode bounds nesting (MaxDepth), checks
// every declared length against the bytes that remain before it allocates,
// and refuses trailing bytes. A Reassembler bounds the size of a message, the
// number of messages in progress and the bytes they hold together; its memory
// grows with the bytes that arrived, never with what a header claims.
//
// The package does no I/O, starts no goroutines, and keeps no state outside
// a Reassembler, but for what Encode learned of each Go type it met (its
// fields, its methods), kept for the life of the process as encoding/json
// does.
//
// # Wasm
//
// With GOOS=js, Encode packs only the types JavaScript values become (nil,
// bool, the integer and float kinds, string, []byte, File, time.Time, []any,
// map[string]any) and refuses any other with ErrUnsupported: the reflection
// encoder stays out of sdk.wasm.
package datapack
