// Package jsonscan validates JSON and walks the members of an object without
// allocating, so that the signaling server can check a client's message and
// splice it into the relayed one without decoding it into Go values.
//
// It never builds a value tree: callers get byte spans of the input. It must
// not be used where the whole document has to become Go values; use
// encoding/json there.
package jsonscan

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// Kind is the JSON type of a value.
type Kind uint8

// The kinds of JSON value.
const (
	Invalid Kind = iota
	String
	Number
	Object
	Array
	True
	False
	Null
)

var kindNames = [...]string{"invalid", "string", "number", "object", "array", "true", "false", "null"}

// String returns the JSON name of k, as used in error messages.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// MaxDepth is how deeply arrays and objects may nest.
const MaxDepth = 64

// Errors returned by the scanner. They carry no position so that returning
// them never allocates.
var (
	ErrSyntax   = errors.New("malformed JSON")
	ErrDepth    = errors.New("JSON nested too deeply")
	ErrTrailing = errors.New("data after the JSON value")
	ErrNotUTF8  = errors.New("JSON text is not valid UTF-8")
)

// Value checks that data holds exactly one JSON value, with optional white
// space around it, and returns the value's span and kind.
func Value(data []byte) (span []byte, kind Kind, err error) {
	start := skipSpace(data, 0)
	end, kind, err := skipValue(data, start, 0)
	if err != nil {
		return nil, Invalid, err
	}
	if skipSpace(data, end) != len(data) {
		return nil, Invalid, ErrTrailing
	}
	return data[start:end], kind, nil
}

// Member is one member of an object: the raw key between its quotes (escapes
// not decoded) and the value's span.
type Member struct {
	Key   []byte
	Value []byte
	Kind  Kind
	// KeyEscaped reports whether Key contains a backslash escape, in which
	// case comparing it to a plain name needs Unquote first.
	KeyEscaped bool
}

// Iter walks the members of an object that Value has already validated.
type Iter struct {
	data []byte
	pos  int
}

// Members starts an Iter over obj, which must be an object span returned by
// Value (or a Member's Value of kind Object); it is not validated again.
func Members(obj []byte) Iter {
	return Iter{data: obj, pos: 1}
}

// Next returns the next member, or false after the last one. The object was
// validated already, so Next only looks for where each value ends.
func (it *Iter) Next() (Member, bool) {
	p := skipSpace(it.data, it.pos)
	if p >= len(it.data) || it.data[p] == '}' {
		return Member{}, false
	}
	if it.data[p] == ',' {
		p = skipSpace(it.data, p+1)
	}
	keyEnd := endOfString(it.data, p)
	key := it.data[p+1 : keyEnd-1]
	m := Member{Key: key, KeyEscaped: bytes.IndexByte(key, '\\') >= 0}
	p = skipSpace(it.data, keyEnd)
	p = skipSpace(it.data, p+1) // the colon
	end := endOfValue(it.data, p)
	m.Value, m.Kind = it.data[p:end], kindOf(it.data[p])
	it.pos = end
	return m, true
}

// ElemIter walks the elements of an array that Value has already
// validated.
type ElemIter struct {
	data []byte
	pos  int
}

// Elements starts an ElemIter over arr, which must be an array span returned
// by Value (or a value of kind Array within one); it is not validated again.
func Elements(arr []byte) ElemIter {
	return ElemIter{data: arr, pos: 1}
}

// Next returns the next element's span and kind, or false after the last.
func (it *ElemIter) Next() ([]byte, Kind, bool) {
	p := skipSpace(it.data, it.pos)
	if p >= len(it.data) || it.data[p] == ']' {
		return nil, Invalid, false
	}
	if it.data[p] == ',' {
		p = skipSpace(it.data, p+1)
	}
	end := endOfValue(it.data, p)
	it.pos = end
	return it.data[p:end], kindOf(it.data[p]), true
}

// endOfValue returns the end of the valid value starting at p.
func endOfValue(data []byte, p int) int {
	switch data[p] {
	case '"':
		return endOfString(data, p)
	case '{', '[':
		depth := 0
		for ; ; p++ {
			switch data[p] {
			case '"':
				p = endOfString(data, p) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return p + 1
				}
			}
		}
	}
	for p < len(data) && !isDelimiter(data[p]) { // a number or a literal
		p++
	}
	return p
}

// endOfString returns the end of the valid string whose opening quote is at
// p: the first quote after it not escaped by an odd run of backslashes.
func endOfString(data []byte, p int) int {
	for q := p + 1; ; q++ {
		q += bytes.IndexByte(data[q:], '"')
		n := 0
		for data[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
	}
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func kindOf(c byte) Kind {
	switch c {
	case '"':
		return String
	case '{':
		return Object
	case '[':
		return Array
	case 't':
		return True
	case 'f':
		return False
	case 'n':
		return Null
	}
	return Number
}

func skipSpace(data []byte, p int) int {
	for p < len(data) {
		switch data[p] {
		case ' ', '\t', '\n', '\r':
			p++
		default:
			return p
		}
	}
	return p
}

// skipValue returns the end of the value starting at p.
func skipValue(data []byte, p, depth int) (int, Kind, error) {
	if p >= len(data) {
		return 0, Invalid, ErrSyntax
	}
	switch c := data[p]; {
	case c == '"':
		end, _, err := skipString(data, p)
		return end, String, err
	case c == '{':
		end, err := skipObject(data, p, depth+1)
		return end, Object, err
	case c == '[':
		end, err := skipArray(data, p, depth+1)
		return end, Array, err
	case c == 't':
		return literal(data, p, "true", True)
	case c == 'f':
		return literal(data, p, "false", False)
	case c == 'n':
		return literal(data, p, "null", Null)
	case c == '-' || (c >= '0' && c <= '9'):
		end, err := skipNumber(data, p)
		return end, Number, err
	}
	return 0, Invalid, ErrSyntax
}

func literal(data []byte, p int, word string, kind Kind) (int, Kind, error) {
	if len(data)-p < len(word) || string(data[p:p+len(word)]) != word {
		return 0, Invalid, ErrSyntax
	}
	return p + len(word), kind, nil
}

func skipObject(data []byte, p, depth int) (int, error) {
	if depth > MaxDepth {
		return 0, ErrDepth
	}
	p = skipSpace(data, p+1)
	if p < len(data) && data[p] == '}' {
		return p + 1, nil
	}
	for {
		if p >= len(data) || data[p] != '"' {
			return 0, ErrSyntax
		}
		end, _, err := skipString(data, p)
		if err != nil {
			return 0, err
		}
		p = skipSpace(data, end)
		if p >= len(data) || data[p] != ':' {
			return 0, ErrSyntax
		}
		p = skipSpace(data, p+1)
		if p, _, err = skipValue(data, p, depth); err != nil {
			return 0, err
		}
		p = skipSpace(data, p)
		if p >= len(data) {
			return 0, ErrSyntax
		}
		switch data[p] {
		case ',':
			p = skipSpace(data, p+1)
		case '}':
			return p + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

func skipArray(data []byte, p, depth int) (int, error) {
	if depth > MaxDepth {
		return 0, ErrDepth
	}
	p = skipSpace(data, p+1)
	if p < len(data) && data[p] == ']' {
		return p + 1, nil
	}
	for {
		var err error
		if p, _, err = skipValue(data, p, depth); err != nil {
			return 0, err
		}
		p = skipSpace(data, p)
		if p >= len(data) {
			return 0, ErrSyntax
		}
		switch data[p] {
		case ',':
			p = skipSpace(data, p+1)
		case ']':
			return p + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

// skipString returns the end of the string whose opening quote is at p, and
// whether it holds an escape. It checks escapes and UTF-8.
func skipString(data []byte, p int) (int, bool, error) {
	if p >= len(data) || data[p] != '"' {
		return 0, false, ErrSyntax
	}
	escaped := false
	for p++; p < len(data); {
		// Most of a string (an SDP, say) is printable ASCII: skip it in a
		// tight loop and take the switch only for what needs a look.
		for p < len(data) && plain[data[p]] {
			p++
		}
		if p >= len(data) {
			break
		}
		c := data[p]
		switch {
		case c == '"':
			return p + 1, escaped, nil
		case c == '\\':
			escaped = true
			if p+1 >= len(data) {
				return 0, false, ErrSyntax
			}
			switch data[p+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p += 2
			case 'u':
				if p+6 > len(data) {
					return 0, false, ErrSyntax
				}
				for _, h := range data[p+2 : p+6] {
					if unhex(h) < 0 {
						return 0, false, ErrSyntax
					}
				}
				p += 6
			default:
				return 0, false, ErrSyntax
			}
		case c < 0x20:
			return 0, false, ErrSyntax
		case c < utf8.RuneSelf:
			p++
		default:
			r, size := utf8.DecodeRune(data[p:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, ErrNotUTF8
			}
			p += size
		}
	}
	return 0, false, ErrSyntax
}

// plain marks the bytes that stand for themselves inside a string: ASCII
// from space on, but for the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func skipNumber(data []byte, p int) (int, error) {
	if data[p] == '-' {
		p++
	}
	switch {
	case p < len(data) && data[p] == '0':
		p++
	case p < len(data) && data[p] >= '1' && data[p] <= '9':
		p = skipDigits(data, p)
	default:
		return 0, ErrSyntax
	}
	if p < len(data) && data[p] == '.' {
		q := skipDigits(data, p+1)
		if q == p+1 {
			return 0, ErrSyntax
		}
		p = q
	}
	if p < len(data) && (data[p] == 'e' || data[p] == 'E') {
		p++
		if p < len(data) && (data[p] == '+' || data[p] == '-') {
			p++
		}
		q := skipDigits(data, p)
		if q == p {
			return 0, ErrSyntax
		}
		p = q
	}
	return p, nil
}

func skipDigits(data []byte, p int) int {
	for p < len(data) && data[p] >= '0' && data[p] <= '9' {
		p++
	}
	return p
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// Unquote appends the decoded text of a string's raw content (the bytes
// between its quotes, as in Member.Key or a String value without its quotes)
// to dst. The content must come from a validated document. Lone surrogates
// become U+FFFD, as encoding/json does.
func Unquote(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16IsHigh(r) && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				if lo := hex4(raw[i+2:]); utf16IsLow(lo) {
					r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
					i += 6
				}
			}
			if r >= 0xD800 && r <= 0xDFFF {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

// StringContent returns the content of a String value span: the bytes between
// its quotes.
func StringContent(v []byte) []byte {
	if len(v) < 2 {
		return nil
	}
	return v[1 : len(v)-1]
}

func hex4(b []byte) rune {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }
