package vp8enc

// Quantization and token coding of the residual (RFC 6386, sections 9.6,
// 13 and 14.1).

// maxLevel is the largest magnitude the dct_cat6 token can carry.
const maxLevel = 67 + 1<<11 - 1

// quantStep is one dequantization factor and the rounding used against it.
type quantStep struct {
	q    int32 // the factor the decoder multiplies by
	bias int32 // added to the magnitude before dividing by q
}

// quantizer holds the six factors of a quantizer index.
type quantizer struct {
	y1, y2, uv [2]quantStep // [0] for DC, [1] for AC
}

// newQuantizer returns the factors for quantizer index q, scaled and
// clamped for Y2 and chroma as the reference decoder does (RFC 6386,
// section 20.4, dixie.c).
func newQuantizer(q int) quantizer {
	step := func(f uint16, bias int32) quantStep {
		return quantStep{q: int32(f), bias: int32(f) * bias >> 8}
	}
	y2ac := acQLookup[q] * 155 / 100
	if y2ac < 8 {
		y2ac = 8
	}
	uvdc := dcQLookup[q]
	if uvdc > 132 {
		uvdc = 132
	}
	// Round to nearest for the DC levels, which carry most of a flat area's
	// value; round AC levels down a little more, since small AC levels cost
	// many bits for little fidelity.
	const dcBias, acBias = 128, 96
	return quantizer{
		y1: [2]quantStep{step(dcQLookup[q], dcBias), step(acQLookup[q], acBias)},
		y2: [2]quantStep{step(dcQLookup[q]*2, dcBias), step(y2ac, dcBias)},
		uv: [2]quantStep{step(uvdc, dcBias), step(acQLookup[q], acBias)},
	}
}

// quantize returns the level for coefficient c and the coefficient the
// decoder will rebuild from it.
func (s quantStep) quantize(c int32) (level, deq int32) {
	a := c
	if a < 0 {
		a = -a
	}
	if a+s.bias < s.q { // most coefficients: skip the division
		return 0, 0
	}
	l := (a + s.bias) / s.q
	if l > maxLevel {
		l = maxLevel
	}
	if c < 0 {
		l = -l
	}
	return l, l * s.q
}

// putTokens codes the 16 levels of one block (raster order) as tokens,
// from coding position first on, with the probabilities of plane and the
// context ctx (0, 1 or 2 neighbouring blocks with coefficients). It reports
// whether any level was coded, which is the block's context for the blocks
// right of and below it.
func putTokens(b *boolEncoder, plane, ctx, first int, levels *[16]int32) bool {
	last := -1
	for i := 15; i >= first; i-- {
		if levels[zigzag[i]] != 0 {
			last = i
			break
		}
	}
	probs := &defaultCoeffProbs[plane]
	afterZero := false // no end of block can follow a zero
	for i := first; i < 16; i++ {
		p := &probs[coeffBands[i]][ctx]
		if !afterZero {
			if i > last {
				b.putBit(p[0], false) // dct_eob
				break
			}
			b.putBit(p[0], true)
		}
		v := levels[zigzag[i]]
		if v == 0 {
			b.putBit(p[1], false) // DCT_0
			ctx = 0
			afterZero = true
			continue
		}
		afterZero = false
		b.putBit(p[1], true)
		a := v
		if a < 0 {
			a = -a
		}
		if a == 1 {
			b.putBit(p[2], false) // DCT_1
			ctx = 1
		} else {
			b.putBit(p[2], true)
			putLargeToken(b, p, a)
			ctx = 2
		}
		b.putBit(128, v < 0)
	}
	return last >= 0
}

// putLargeToken codes a magnitude of 2 or more: the rest of the token tree
// below DCT_1, then any extra bits (RFC 6386, section 13.2).
func putLargeToken(b *boolEncoder, p *[numTokProbs]uint8, a int32) {
	switch {
	case a <= 4:
		b.putBit(p[3], false)
		if a == 2 {
			b.putBit(p[4], false) // DCT_2
			return
		}
		b.putBit(p[4], true)
		b.putBit(p[5], a == 4) // DCT_3 or DCT_4
	case a <= 10:
		b.putBit(p[3], true)
		b.putBit(p[6], false)
		if a <= 6 {
			b.putBit(p[7], false) // dct_cat1: 5..6
			b.putBit(159, a == 6)
			return
		}
		b.putBit(p[7], true) // dct_cat2: 7..10
		x := a - 7
		b.putBit(165, x&2 != 0)
		b.putBit(145, x&1 != 0)
	default:
		b.putBit(p[3], true)
		b.putBit(p[6], true)
		cat := 3 // dct_cat3..dct_cat6 as 0..3
		for cat > 0 && a < int32(catBase[cat]) {
			cat--
		}
		b.putBit(p[8], cat >= 2)
		b.putBit(p[9+cat>>1], cat&1 != 0)
		x := a - int32(catBase[cat])
		probs := catProbs[cat]
		for i, prob := range probs {
			b.putBit(prob, x>>(len(probs)-1-i)&1 != 0)
		}
	}
}
