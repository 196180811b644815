package vp8enc

import (
	"math/rand/v2"
	"testing"
)

// boolDecoder is the boolean decoder of RFC 6386, section 7.3, written out
// here as the check on boolEncoder.
type boolDecoder struct {
	in       []byte
	value    uint32
	rng      uint32
	bitCount int
}

func newBoolDecoder(in []byte) *boolDecoder {
	d := &boolDecoder{in: in, rng: 255}
	d.value = uint32(d.next())<<8 | uint32(d.next())
	return d
}

func (d *boolDecoder) next() byte {
	if len(d.in) == 0 {
		return 0
	}
	b := d.in[0]
	d.in = d.in[1:]
	return b
}

func (d *boolDecoder) getBit(prob uint8) bool {
	split := 1 + ((d.rng-1)*uint32(prob))>>8
	bigSplit := split << 8
	var bit bool
	if d.value >= bigSplit {
		bit = true
		d.rng -= split
		d.value -= bigSplit
	} else {
		d.rng = split
	}
	for d.rng < 128 {
		d.value <<= 1
		d.rng <<= 1
		d.bitCount++
		if d.bitCount == 8 {
			d.bitCount = 0
			d.value |= uint32(d.next())
		}
	}
	return bit
}

func TestBoolEncoderRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name string
		prob func() uint8
		bit  func(p uint8) bool
	}{
		{"even", func() uint8 { return 128 }, func(uint8) bool { return r.IntN(2) == 0 }},
		{"likely", func() uint8 { return uint8(1 + r.IntN(255)) }, func(p uint8) bool { return r.IntN(256) >= int(p) }},
		{"unlikely", func() uint8 { return uint8(1 + r.IntN(255)) }, func(p uint8) bool { return r.IntN(256) < int(p) }},
		// Improbable ones carry into long runs of 0xff bytes.
		{"ones at 255", func() uint8 { return 255 }, func(uint8) bool { return true }},
		{"zeros at 1", func() uint8 { return 1 }, func(uint8) bool { return false }},
		{"mixed extremes", func() uint8 { return []uint8{1, 255}[r.IntN(2)] }, func(uint8) bool { return r.IntN(2) == 0 }},
	} {
		for _, n := range []int{0, 1, 7, 100, 10000} {
			probs := make([]uint8, n)
			bits := make([]bool, n)
			var e boolEncoder
			e.reset(nil)
			for i := range n {
				probs[i] = tc.prob()
				bits[i] = tc.bit(probs[i])
				e.putBit(probs[i], bits[i])
			}
			out := e.flush()
			d := newBoolDecoder(out)
			for i := range n {
				if got := d.getBit(probs[i]); got != bits[i] {
					t.Fatalf("%s, %d bits: bit %d decoded as %v", tc.name, n, i, got)
				}
			}
		}
	}
}
