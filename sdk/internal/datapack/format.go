package datapack

import (
	"encoding/binary"
	"math"
)

// MessagePack's type codes, named as in its specification. Fix* codes carry
// a small length or value in their low bits.
const (
	codeFixMapMin    = 0x80
	codeFixMapMax    = 0x8f
	codeFixArrayMin  = 0x90
	codeFixArrayMax  = 0x9f
	codeFixStrMin    = 0xa0
	codeFixStrMax    = 0xbf
	codeNil          = 0xc0
	codeNeverUsed    = 0xc1
	codeFalse        = 0xc2
	codeTrue         = 0xc3
	codeBin8         = 0xc4
	codeBin16        = 0xc5
	codeBin32        = 0xc6
	codeExt8         = 0xc7
	codeExt16        = 0xc8
	codeExt32        = 0xc9
	codeFloat32      = 0xca
	codeFloat64      = 0xcb
	codeUint8        = 0xcc
	codeUint16       = 0xcd
	codeUint32       = 0xce
	codeUint64       = 0xcf
	codeInt8         = 0xd0
	codeInt16        = 0xd1
	codeInt32        = 0xd2
	codeInt64        = 0xd3
	codeFixExt1      = 0xd4
	codeFixExt2      = 0xd5
	codeFixExt4      = 0xd6
	codeFixExt8      = 0xd7
	codeFixExt16     = 0xd8
	codeStr8         = 0xd9
	codeStr16        = 0xda
	codeStr32        = 0xdb
	codeArray16      = 0xdc
	codeArray32      = 0xdd
	codeMap16        = 0xde
	codeMap32        = 0xdf
	codeNegFixIntMin = 0xe0
)

// The extension types of the wire format. MessagePack leaves 0 to 127 to
// applications; the letters make frames easy to spot in a hex dump.
const (
	// FileExt is the ext type of a File: its payload is the MessagePack
	// array [name str, type str, data bin].
	FileExt int8 = 'F'
	// ChunkExt is the ext type of a chunk frame (see ChunkSize).
	ChunkExt int8 = 'C'
	// timeExt is MessagePack's predefined timestamp type.
	timeExt int8 = -1
)

// MaxDepth is how deeply arrays and maps may nest, in a value Encode packs
// and in one Decode unpacks: a list of lists of 64 levels passes, 65 do not.
// It keeps a hostile peer from exhausting the stack, and stops Encode on a
// value that contains itself.
const MaxDepth = 64

// fitsLen reports whether n can be a MessagePack length (a uint32).
func fitsLen(n int) bool { return n >= 0 && uint64(n) <= math.MaxUint32 }

// appendSized appends the header whose code is picked by the size of n: c8
// for a 1-byte length, c16 for 2 bytes, c32 for 4. The caller has checked
// fitsLen(n).
func appendSized(dst []byte, n int, c8, c16, c32 byte) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(dst, c8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, c16), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, c32), uint32(n))
	}
}

func appendStrHeader(dst []byte, n int) []byte {
	if n < 32 {
		return append(dst, codeFixStrMin|byte(n))
	}
	return appendSized(dst, n, codeStr8, codeStr16, codeStr32)
}

func appendBinHeader(dst []byte, n int) []byte {
	return appendSized(dst, n, codeBin8, codeBin16, codeBin32)
}

func appendArrayHeader(dst []byte, n int) []byte {
	if n < 16 {
		return append(dst, codeFixArrayMin|byte(n))
	}
	if n <= math.MaxUint16 {
		return binary.BigEndian.AppendUint16(append(dst, codeArray16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, codeArray32), uint32(n))
}

func appendMapHeader(dst []byte, n int) []byte {
	if n < 16 {
		return append(dst, codeFixMapMin|byte(n))
	}
	if n <= math.MaxUint16 {
		return binary.BigEndian.AppendUint16(append(dst, codeMap16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, codeMap32), uint32(n))
}

// appendExtHeader appends the header of an ext value of type typ with an
// n-byte payload, in the smallest form, as MessagePack asks of encoders.
func appendExtHeader(dst []byte, typ int8, n int) []byte {
	switch n {
	case 1:
		dst = append(dst, codeFixExt1)
	case 2:
		dst = append(dst, codeFixExt2)
	case 4:
		dst = append(dst, codeFixExt4)
	case 8:
		dst = append(dst, codeFixExt8)
	case 16:
		dst = append(dst, codeFixExt16)
	default:
		dst = appendSized(dst, n, codeExt8, codeExt16, codeExt32)
	}
	return append(dst, byte(typ))
}

func appendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return appendUint(dst, uint64(v))
	}
	switch {
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, codeInt8, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, codeInt16), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, codeInt32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, codeInt64), uint64(v))
	}
}

func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, codeUint8, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, codeUint16), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, codeUint32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, codeUint64), v)
	}
}

func appendFloat32(dst []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, codeFloat32), math.Float32bits(v))
}

func appendFloat64(dst []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, codeFloat64), math.Float64bits(v))
}
