package protocol

import (
	"crypto/rand"
	"unicode/utf8"
)

// ValidPeerID reports whether id may be chosen as a peer ID: SkyWay's
// ^[A-Za-z0-9_-]+(?:[ _-][A-Za-z0-9]+)*$ and at most MaxPeerIDLength bytes.
// It takes bytes so the server can check a raw field without a conversion.
func ValidPeerID[T ~string | ~[]byte](id T) bool {
	if len(id) == 0 || len(id) > MaxPeerIDLength {
		return false
	}
	// The pattern amounts to: word characters and '-'/'_' freely, spaces
	// only singly, between alphanumerics on the right and anything on the
	// left, and never first or last. The regexp's backtracking allows a run
	// of '-'/'_' after a space only as separators followed by alphanumerics.
	sawSep := false // inside the (?:[ _-][A-Za-z0-9]+)* tail
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case isAlnum(c):
		case c == '_' || c == '-':
			if sawSep && (i+1 == len(id) || !isAlnum(id[i+1])) {
				return false
			}
		case c == ' ':
			if i == 0 || i+1 == len(id) || !isAlnum(id[i+1]) {
				return false
			}
			sawSep = true
		default:
			return false
		}
	}
	return true
}

// ValidToken reports whether t is a valid reconnection token: 1 to
// MaxTokenLength characters of [A-Za-z0-9_-].
func ValidToken[T ~string | ~[]byte](t T) bool {
	return validWord(t, MaxTokenLength)
}

// ValidConnectionID reports whether id is a valid connectionId: 1 to
// MaxConnectionIDLength characters of [A-Za-z0-9_-].
func ValidConnectionID[T ~string | ~[]byte](id T) bool {
	return validWord(id, MaxConnectionIDLength)
}

// ValidRoomName reports whether name is a valid room name: 1 to
// MaxRoomNameLength characters of UTF-8 with no control characters.
func ValidRoomName[T ~string | ~[]byte](name T) bool {
	if len(name) == 0 || len(name) > 4*MaxRoomNameLength {
		return false
	}
	n := 0
	for _, r := range string(name) {
		if r == utf8.RuneError || r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
		n++
	}
	return n <= MaxRoomNameLength
}

func validWord[T ~string | ~[]byte](s T, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewPeerID returns GeneratedPeerIDLength random characters of [A-Za-z0-9]
// from crypto/rand, without modulo bias.
func NewPeerID() string {
	return RandomID(GeneratedPeerIDLength)
}

// RandomID returns n random characters of [A-Za-z0-9] from crypto/rand,
// without modulo bias. It is skywasm's one generator of random identifiers:
// peer IDs, reconnection tokens, connection IDs and the SFU's stream and
// track IDs.
func RandomID(n int) string {
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		rand.Read(buf[:]) // never fails: crypto/rand panics rather than return an error
		for _, b := range buf {
			// 62*4 = 248: bytes ≥ 248 would favour the first characters.
			if b < 248 && len(out) < n {
				out = append(out, idAlphabet[b%62])
			}
		}
	}
	return string(out)
}
