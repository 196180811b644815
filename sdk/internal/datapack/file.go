package datapack

import (
	"fmt"
	"math"
)

// File is a named blob, a browser File: it crosses the connection with its
// name and MIME type, where a plain []byte would lose them. On the wire it is
// an ext value of type FileExt, wherever it is: a File or a *File in a
// struct, a slice or a map is packed as one too, its Data appended as it is.
type File struct {
	Name string // the file name, without a path
	Type string // the MIME type, "" when unknown
	Data []byte
}

// AppendFileHeader appends the encoding of a File named name, of MIME type
// typ and n bytes of data, all but the data itself: a sender follows it with
// the data, as its own part of a Splitter, to send a large file without
// copying it into an encoded message first. It fails with ErrTooLarge when
// the file does not fit a MessagePack ext32 value.
func AppendFileHeader(dst []byte, name, typ string, n int) ([]byte, error) {
	if !fitsLen(len(name)) || !fitsLen(len(typ)) || !fitsLen(n) {
		return dst, fmt.Errorf("%w: file %q of %d bytes", ErrTooLarge, name, n)
	}
	size := 1 + strHeaderLen(len(name)) + uint64(len(name)) +
		strHeaderLen(len(typ)) + uint64(len(typ)) + binHeaderLen(n) + uint64(n)
	if size > math.MaxUint32 {
		return dst, fmt.Errorf("%w: file %q of %d bytes", ErrTooLarge, name, n)
	}
	dst = appendExtHeader(dst, FileExt, int(size))
	dst = appendArrayHeader(dst, 3)
	dst = append(appendStrHeader(dst, len(name)), name...)
	dst = append(appendStrHeader(dst, len(typ)), typ...)
	return appendBinHeader(dst, n), nil
}

func strHeaderLen(n int) uint64 {
	if n < 32 {
		return 1
	}
	return binHeaderLen(n)
}

func binHeaderLen(n int) uint64 {
	switch {
	case n <= math.MaxUint8:
		return 2
	case n <= math.MaxUint16:
		return 3
	default:
		return 5
	}
}
