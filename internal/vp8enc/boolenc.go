package vp8enc

// boolEncoder is the boolean entropy encoder of RFC 6386, section 7: each
// call codes one bool given the probability, out of 256, that it is false.
// Its output is appended to buf, which it reuses from frame to frame.
type boolEncoder struct {
	buf []byte
	// rng is the width of the current interval, kept in 128..255 between
	// calls.
	rng uint32
	// low is the bottom of the interval. Its top byte is the next byte to
	// leave; the bits above 31 that an addition would set are carried into
	// buf right away.
	low uint32
	// pending counts the shifts left before the top byte of low is complete.
	pending int
}

func (e *boolEncoder) reset(buf []byte) {
	e.buf = buf[:0]
	e.rng = 255
	e.low = 0
	e.pending = 24
}

// putBit codes bit, which is false with probability prob/256.
func (e *boolEncoder) putBit(prob uint8, bit bool) {
	split := 1 + ((e.rng-1)*uint32(prob))>>8
	if bit {
		e.low += split
		e.rng -= split
	} else {
		e.rng = split
	}
	for e.rng < 128 {
		e.rng <<= 1
		if e.low&(1<<31) != 0 {
			e.carry()
		}
		e.low <<= 1
		e.pending--
		if e.pending == 0 {
			e.buf = append(e.buf, byte(e.low>>24))
			e.low &= 1<<24 - 1
			e.pending = 8
		}
	}
}

// carry adds one to the bytes already written, as the addition to low that
// overflowed it would have. The interval never reaches above the first byte,
// so the carry always stops inside buf.
func (e *boolEncoder) carry() {
	i := len(e.buf) - 1
	for i >= 0 && e.buf[i] == 255 {
		e.buf[i] = 0
		i--
	}
	if i >= 0 {
		e.buf[i]++
	}
}

// putLiteral codes the n low bits of v, most significant first, each with
// even odds: the L(n) of RFC 6386, section 19.
func (e *boolEncoder) putLiteral(n uint, v uint32) {
	for n > 0 {
		n--
		e.putBit(128, v>>n&1 != 0)
	}
}

// flush writes out what low still holds, padded so that a decoder reading
// ahead finds bytes to read, and returns the finished buffer.
func (e *boolEncoder) flush() []byte {
	c := e.pending
	v := e.low
	if v&(1<<(32-c)) != 0 {
		e.carry()
	}
	v <<= c & 7
	for c >>= 3; c > 0; c-- {
		v <<= 8
	}
	for range 4 {
		e.buf = append(e.buf, byte(v>>24))
		v <<= 8
	}
	return e.buf
}
