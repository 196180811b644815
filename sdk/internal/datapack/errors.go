package datapack

import "errors"

// The errors of the package. Each error returned wraps one of them, so a
// caller can tell a broken peer (ErrInvalid, ErrTruncated, ErrBadChunk) from a
// peer sending more than this side accepts (ErrTooDeep, ErrTooLarge).
var (
	// ErrTruncated: the input ends inside a value, or a length claims more
	// bytes than remain.
	ErrTruncated = errors.New("datapack: truncated input")
	// ErrTrailing: bytes follow the one value of a message.
	ErrTrailing = errors.New("datapack: trailing bytes after the value")
	// ErrTooDeep: arrays and maps are nested more than MaxDepth deep.
	ErrTooDeep = errors.New("datapack: nested too deep")
	// ErrInvalid: the bytes are not the encoding of a value this package
	// accepts: the reserved code 0xc1, a map key neither a string nor an
	// integer, a malformed File or timestamp, a malformed chunk frame.
	ErrInvalid = errors.New("datapack: invalid encoding")
	// ErrUnsupported: a Go value Encode cannot pack (a channel, a func, a
	// complex number...), or an extension type Decode does not know.
	ErrUnsupported = errors.New("datapack: unsupported value")
	// ErrTooLarge: a value or a message is over a size limit.
	ErrTooLarge = errors.New("datapack: too large")
	// ErrBadChunk: a chunk contradicts its message: an index out of range,
	// a duplicate, a count that differs from the message's, a wrong length.
	// The message it belongs to is dropped.
	ErrBadChunk = errors.New("datapack: bad chunk")
)
