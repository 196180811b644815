package datapack

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Decode unpacks the one MessagePack value b holds. Maps become
// map[string]any, arrays []any, integers int64 (uint64 above
// math.MaxInt64), floats float64, str string, bin []byte, a File ext File and
// a timestamp time.Time in UTC. A map key must be a string or an integer; an
// integer key becomes its decimal string, as a JavaScript object's would. A
// later duplicate key wins.
//
// b is untrusted: arrays and maps nest at most MaxDepth deep (else
// ErrTooDeep), every declared length is checked against the bytes left
// before anything is allocated (else ErrTruncated), and bytes after the value
// are an error (ErrTrailing). The memory Decode allocates grows with the
// values it actually finds in b. The result shares no memory with b.
func Decode(b []byte) (any, error) {
	d := decoder{b: b}
	return d.decode()
}

// decoder reads one value from b. In dry mode it only checks b and builds
// nothing.
type decoder struct {
	b     []byte
	off   int
	alias bool // []byte results may share b: b belongs to the decoder
	dry   bool // check only, return nil values

	// Elements and keys of the arrays and maps being decoded, shared by all
	// levels: a container is made once its elements are in, at its real
	// size, so a length claim never reserves memory by itself.
	vals []any
	keys []string
}

func (d *decoder) decode() (any, error) {
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%w: %d bytes after a value of %d", ErrTrailing, len(d.b)-d.off, d.off)
	}
	return v, nil
}

// top checks that b holds exactly one acceptable value.
func (d *decoder) top() error {
	_, err := d.decode()
	return err
}

func (d *decoder) errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", kind, d.off, fmt.Sprintf(format, args...))
}

// need checks that n more bytes remain, before anything reads or allocates
// them.
func (d *decoder) need(n uint64, what string) error {
	if left := uint64(len(d.b) - d.off); n > left {
		return d.errorf(ErrTruncated, "%s needs %d bytes, %d left", what, n, left)
	}
	return nil
}

func (d *decoder) byte1(what string) (byte, error) {
	if err := d.need(1, what); err != nil {
		return 0, err
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

// uintN reads a big-endian unsigned integer of size bytes (1, 2, 4 or 8).
func (d *decoder) uintN(size int, what string) (uint64, error) {
	if err := d.need(uint64(size), what); err != nil {
		return 0, err
	}
	p := d.b[d.off : d.off+size]
	d.off += size
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	default:
		return binary.BigEndian.Uint64(p), nil
	}
}

// sizeOf is the size of the length that follows a code, for the codes with
// 8-, 16- and 32-bit length forms (c8 and the two after it).
func sizeOf(c, c8 byte) int { return 1 << (c - c8) }

func (d *decoder) value(depth int) (any, error) {
	at := d.off
	c, err := d.byte1("a value")
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= codeNegFixIntMin:
		return int64(int8(c)), nil
	case c <= codeFixMapMax:
		return d.mapBody(uint64(c&0x0f), depth)
	case c <= codeFixArrayMax:
		return d.arrayBody(uint64(c&0x0f), depth)
	case c <= codeFixStrMax:
		return d.strBody(uint64(c & 0x1f))
	}
	switch c {
	case codeNil:
		return nil, nil
	case codeFalse:
		return false, nil
	case codeTrue:
		return true, nil
	case codeBin8, codeBin16, codeBin32:
		n, err := d.uintN(sizeOf(c, codeBin8), "a bin length")
		if err != nil {
			return nil, err
		}
		return d.binBody(n)
	case codeStr8, codeStr16, codeStr32:
		n, err := d.uintN(sizeOf(c, codeStr8), "a str length")
		if err != nil {
			return nil, err
		}
		return d.strBody(n)
	case codeArray16, codeArray32:
		n, err := d.uintN(sizeOf(c, codeArray16)*2, "an array length")
		if err != nil {
			return nil, err
		}
		return d.arrayBody(n, depth)
	case codeMap16, codeMap32:
		n, err := d.uintN(sizeOf(c, codeMap16)*2, "a map length")
		if err != nil {
			return nil, err
		}
		return d.mapBody(n, depth)
	case codeFloat32:
		u, err := d.uintN(4, "a float32")
		return float64(math.Float32frombits(uint32(u))), err
	case codeFloat64:
		u, err := d.uintN(8, "a float64")
		return math.Float64frombits(u), err
	case codeUint8, codeUint16, codeUint32, codeUint64:
		u, err := d.uintN(sizeOf(c, codeUint8), "an integer")
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	case codeInt8, codeInt16, codeInt32, codeInt64:
		size := sizeOf(c, codeInt8)
		u, err := d.uintN(size, "an integer")
		if err != nil {
			return nil, err
		}
		// Sign-extend from the integer's own width.
		shift := 64 - 8*size
		return int64(u<<shift) >> shift, nil
	case codeFixExt1, codeFixExt2, codeFixExt4, codeFixExt8, codeFixExt16:
		return d.extBody(uint64(1) << (c - codeFixExt1))
	case codeExt8, codeExt16, codeExt32:
		n, err := d.uintN(sizeOf(c, codeExt8), "an ext length")
		if err != nil {
			return nil, err
		}
		return d.extBody(n)
	}
	d.off = at
	return nil, d.errorf(ErrInvalid, "code 0x%02x is never used", c)
}

func (d *decoder) strBody(n uint64) (any, error) {
	if err := d.need(n, "a str"); err != nil {
		return nil, err
	}
	start := d.off
	d.off += int(n)
	if d.dry {
		return nil, nil
	}
	return string(d.b[start:d.off]), nil
}

func (d *decoder) binBody(n uint64) (any, error) {
	b, err := d.bytes(n, "a bin")
	if err != nil || d.dry {
		return nil, err
	}
	return b, nil
}

// bytes returns the next n bytes as a []byte the caller may keep: a copy,
// or in alias mode a slice of b that cannot be appended into its neighbours.
func (d *decoder) bytes(n uint64, what string) ([]byte, error) {
	if err := d.need(n, what); err != nil {
		return nil, err
	}
	start := d.off
	d.off += int(n)
	if d.dry {
		return nil, nil
	}
	if d.alias {
		return d.b[start:d.off:d.off], nil
	}
	return append([]byte{}, d.b[start:d.off]...), nil
}

func (d *decoder) arrayBody(n uint64, depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, d.errorf(ErrTooDeep, "an array below %d levels", MaxDepth)
	}
	// Every element takes at least a byte.
	if err := d.need(n, fmt.Sprintf("an array of %d elements", n)); err != nil {
		return nil, err
	}
	base := len(d.vals)
	for range n {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if !d.dry {
			d.vals = append(d.vals, v)
		}
	}
	if d.dry {
		return nil, nil
	}
	a := make([]any, n)
	copy(a, d.vals[base:])
	clear(d.vals[base:])
	d.vals = d.vals[:base]
	return a, nil
}

func (d *decoder) mapBody(n uint64, depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, d.errorf(ErrTooDeep, "a map below %d levels", MaxDepth)
	}
	// Every key and every value takes at least a byte.
	if err := d.need(2*n, fmt.Sprintf("a map of %d entries", n)); err != nil {
		return nil, err
	}
	kbase, vbase := len(d.keys), len(d.vals)
	for range n {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if !d.dry {
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, v)
		}
	}
	if d.dry {
		return nil, nil
	}
	m := make(map[string]any, n)
	for i, k := range d.keys[kbase:] {
		m[k] = d.vals[vbase+i]
	}
	clear(d.keys[kbase:])
	clear(d.vals[vbase:])
	d.keys, d.vals = d.keys[:kbase], d.vals[:vbase]
	return m, nil
}

// key reads a map key: a string, or an integer made its decimal string.
func (d *decoder) key() (string, error) {
	at := d.off
	c, err := d.byte1("a map key")
	if err != nil {
		return "", err
	}
	d.off = at
	isStr := c >= codeFixStrMin && c <= codeFixStrMax || c >= codeStr8 && c <= codeStr32
	isInt := c <= 0x7f || c >= codeNegFixIntMin || c >= codeUint8 && c <= codeInt64
	if !isStr && !isInt {
		return "", d.errorf(ErrInvalid, "map key of code 0x%02x, want a string or an integer", c)
	}
	// Neither strings nor integers nest, so the depth does not matter.
	v, err := d.value(0)
	if err != nil || d.dry {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	default:
		return strconv.FormatUint(v.(uint64), 10), nil
	}
}

// extBody reads an ext value's type and its n-byte payload.
func (d *decoder) extBody(n uint64) (any, error) {
	at := d.off
	if err := d.need(1+n, "an ext value"); err != nil {
		return nil, err
	}
	typ := int8(d.b[d.off])
	payload := d.b[d.off+1 : d.off+1+int(n)]
	d.off += 1 + int(n)
	switch typ {
	case FileExt:
		sub := decoder{b: payload, alias: d.alias, dry: d.dry}
		f, err := sub.file()
		if err != nil {
			d.off = at
			return nil, d.errorf(ErrInvalid, "a File ext: %v", err)
		}
		if d.dry {
			return nil, nil
		}
		return f, nil
	case timeExt:
		t, err := decodeTime(payload)
		if err != nil {
			d.off = at
			return nil, d.errorf(ErrInvalid, "a timestamp ext: %v", err)
		}
		return t, nil
	case ChunkExt:
		d.off = at
		return nil, d.errorf(ErrInvalid, "a chunk frame inside a value")
	}
	d.off = at
	return nil, d.errorf(ErrUnsupported, "ext type %d", typ)
}

// file reads a File ext payload: [name str, type str, data bin], nothing
// else.
func (d *decoder) file() (File, error) {
	c, err := d.byte1("the File array")
	if err != nil {
		return File{}, err
	}
	if c != codeFixArrayMin|3 {
		return File{}, fmt.Errorf("code 0x%02x, want an array of 3", c)
	}
	name, err := d.str("the file name")
	if err != nil {
		return File{}, err
	}
	typ, err := d.str("the file type")
	if err != nil {
		return File{}, err
	}
	c, err = d.byte1("the file data")
	if err != nil {
		return File{}, err
	}
	if c < codeBin8 || c > codeBin32 {
		return File{}, fmt.Errorf("file data of code 0x%02x, want bin", c)
	}
	n, err := d.uintN(sizeOf(c, codeBin8), "a bin length")
	if err != nil {
		return File{}, err
	}
	data, err := d.bytes(n, "the file data")
	if err != nil {
		return File{}, err
	}
	if d.off != len(d.b) {
		return File{}, fmt.Errorf("%d bytes after the file data", len(d.b)-d.off)
	}
	return File{Name: name, Type: typ, Data: data}, nil
}

func (d *decoder) str(what string) (string, error) {
	c, err := d.byte1(what)
	if err != nil {
		return "", err
	}
	var n uint64
	switch {
	case c >= codeFixStrMin && c <= codeFixStrMax:
		n = uint64(c & 0x1f)
	case c >= codeStr8 && c <= codeStr32:
		if n, err = d.uintN(sizeOf(c, codeStr8), what); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("%s of code 0x%02x, want str", what, c)
	}
	v, err := d.strBody(n)
	if err != nil || d.dry {
		return "", err
	}
	return v.(string), nil
}

// decodeTime reads a MessagePack timestamp payload, in any of its three
// forms.
func decodeTime(p []byte) (time.Time, error) {
	var sec int64
	var nsec uint64
	switch len(p) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p))
	case 8:
		v := binary.BigEndian.Uint64(p)
		nsec, sec = v>>34, int64(v&(1<<34-1))
	case 12:
		nsec = uint64(binary.BigEndian.Uint32(p))
		sec = int64(binary.BigEndian.Uint64(p[4:]))
	default:
		return time.Time{}, fmt.Errorf("payload of %d bytes, want 4, 8 or 12", len(p))
	}
	if nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("%d nanoseconds", nsec)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}
