package datapack

// Payload is the head of a message whose value is one bin or one File:
// everything but the bytes, which run from Len to the message's end. A
// reader that holds such a message's bytes outside Go's memory (a browser's
// ArrayBuffer) reads the head from the first chunk and places the rest where
// the value will live, without decoding it.
type Payload struct {
	Len  int // the head's length in bytes
	Size int // the message's length the head declares: Len and the bytes
	// File: the value is a File (else a bin), named Name, of MIME type
	// Type.
	File       bool
	Name, Type string
}

// ParsePayload reads the head of a message from its first bytes, when the
// message is a bin or a File and its head lies within them; ok is false for
// any other value, and for a head cut short. It checks the head alone: the
// caller compares Size with the message's length, as the Reassembler gives
// it, and refuses the message when they differ.
func ParsePayload(prefix []byte) (p Payload, ok bool) {
	d := decoder{b: prefix}
	c, err := d.byte1("a value")
	if err != nil {
		return p, false
	}
	switch c {
	case codeBin8, codeBin16, codeBin32:
		n, err := d.uintN(sizeOf(c, codeBin8), "a bin length")
		if err != nil {
			return p, false
		}
		return Payload{Len: d.off, Size: d.off + int(n)}, true
	case codeExt8, codeExt16, codeExt32:
	default:
		return p, false
	}
	n, err := d.uintN(sizeOf(c, codeExt8), "an ext length")
	if err != nil {
		return p, false
	}
	if typ, err := d.byte1("an ext type"); err != nil || int8(typ) != FileExt {
		return p, false
	}
	end := uint64(d.off) + n // where the ext's payload, and so the message, ends
	if c, err = d.byte1("the File array"); err != nil || c != codeFixArrayMin|3 {
		return p, false
	}
	if p.Name, err = d.str("the file name"); err != nil {
		return p, false
	}
	if p.Type, err = d.str("the file type"); err != nil {
		return p, false
	}
	if c, err = d.byte1("the file data"); err != nil || c < codeBin8 || c > codeBin32 {
		return p, false
	}
	m, err := d.uintN(sizeOf(c, codeBin8), "a bin length")
	if err != nil || uint64(d.off)+m != end {
		return p, false
	}
	p.Len, p.Size, p.File = d.off, int(end), true
	return p, true
}
