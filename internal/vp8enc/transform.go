package vp8enc

// The transforms of RFC 6386, section 14. The inverse ones must match the
// decoder's bit for bit, because the encoder predicts later macroblocks from
// its own reconstruction; the forward ones only need to be close inverses.

// Fixed-point constants of the inverse DCT (RFC 6386, section 14.4):
// sqrt(2)*cos(pi/8) - 1 and sqrt(2)*sin(pi/8), both times 65536.
const (
	idctC1Minus1 = 20091
	idctS1       = 35468
)

// Constants of the forward DCT, times 4096: cos(pi/8), cos(3*pi/8) and
// 1/sqrt(2).
const (
	fdctC1   = 3784
	fdctC3   = 1567
	fdctHalf = 2896
)

// fdct computes the forward 4x4 DCT of the residual in (raster order) into
// out. VP8's inverse DCT returns half the orthonormal inverse, so the
// coefficients here are twice the orthonormal ones: a flat residual r gives
// a DC of 8r. Each 1-D pass is the orthonormal one times sqrt(2), computed
// with 3 extra fractional bits between the passes.
func fdct(in *[16]int32, out *[16]int32) {
	var tmp [16]int32
	for r := 0; r < 16; r += 4 {
		s03, d03 := in[r]+in[r+3], in[r]-in[r+3]
		s12, d12 := in[r+1]+in[r+2], in[r+1]-in[r+2]
		tmp[r+0] = ((s03+s12)*fdctHalf + 1<<8) >> 9
		tmp[r+2] = ((s03-s12)*fdctHalf + 1<<8) >> 9
		tmp[r+1] = (d03*fdctC1 + d12*fdctC3 + 1<<8) >> 9
		tmp[r+3] = (d03*fdctC3 - d12*fdctC1 + 1<<8) >> 9
	}
	for c := range 4 {
		s03, d03 := tmp[c]+tmp[12+c], tmp[c]-tmp[12+c]
		s12, d12 := tmp[4+c]+tmp[8+c], tmp[4+c]-tmp[8+c]
		out[c] = roundShift((s03+s12)*fdctHalf, 15)
		out[8+c] = roundShift((s03-s12)*fdctHalf, 15)
		out[4+c] = roundShift(d03*fdctC1+d12*fdctC3, 15)
		out[12+c] = roundShift(d03*fdctC3-d12*fdctC1, 15)
	}
}

// roundShift divides x by 2**n, rounding half away from zero.
func roundShift(x int32, n uint) int32 {
	if x < 0 {
		return -((-x + 1<<(n-1)) >> n)
	}
	return (x + 1<<(n-1)) >> n
}

func idctMulC1(x int32) int32 { return x + (x*idctC1Minus1)>>16 }
func idctMulS1(x int32) int32 { return (x * idctS1) >> 16 }

// idctAdd adds the inverse DCT of the dequantized coefficients c (raster
// order) to the 4x4 block of dst at off, clamping to 0..255, exactly as
// RFC 6386, section 14.4 and 14.5 reconstruct it.
func idctAdd(c *[16]int32, dst []byte, off, stride int) {
	ac := false
	for _, v := range c[1:] {
		if v != 0 {
			ac = true
			break
		}
	}
	if !ac {
		// With the AC coefficients zero, the first pass spreads the DC over
		// the first row and the second adds (DC+4)>>3 to every pixel: the
		// same result, with no multiplication.
		if dc := (c[0] + 4) >> 3; dc != 0 {
			for range 4 {
				row := dst[off : off+4 : off+4]
				for i, p := range row {
					row[i] = clamp255(int32(p) + dc)
				}
				off += stride
			}
		}
		return
	}
	var tmp [16]int32
	for i := range 4 { // vertical pass, one column at a time
		a := c[i] + c[8+i]
		b := c[i] - c[8+i]
		cc := idctMulS1(c[4+i]) - idctMulC1(c[12+i])
		d := idctMulC1(c[4+i]) + idctMulS1(c[12+i])
		tmp[i] = a + d
		tmp[12+i] = a - d
		tmp[4+i] = b + cc
		tmp[8+i] = b - cc
	}
	for r := 0; r < 16; r += 4 { // horizontal pass, one row at a time
		a := tmp[r] + tmp[r+2]
		b := tmp[r] - tmp[r+2]
		cc := idctMulS1(tmp[r+1]) - idctMulC1(tmp[r+3])
		d := idctMulC1(tmp[r+1]) + idctMulS1(tmp[r+3])
		row := dst[off : off+4 : off+4]
		row[0] = clamp255(int32(row[0]) + (a+d+4)>>3)
		row[3] = clamp255(int32(row[3]) + (a-d+4)>>3)
		row[1] = clamp255(int32(row[1]) + (b+cc+4)>>3)
		row[2] = clamp255(int32(row[2]) + (b-cc+4)>>3)
		off += stride
	}
}

// fwht computes the forward Walsh-Hadamard transform of the 16 luma DC
// coefficients of a macroblock (raster order by subblock). With H the 4x4
// Hadamard matrix of section 14.3's inverse, that inverse computes
// H*X*H/8, so this computes H*Y*H/2.
func fwht(in *[16]int32, out *[16]int32) {
	var tmp [16]int32
	for r := 0; r < 16; r += 4 {
		a := in[r] + in[r+3]
		b := in[r+1] + in[r+2]
		c := in[r+1] - in[r+2]
		d := in[r] - in[r+3]
		tmp[r+0] = a + b
		tmp[r+1] = c + d
		tmp[r+2] = a - b
		tmp[r+3] = d - c
	}
	for c := range 4 {
		a := tmp[c] + tmp[12+c]
		b := tmp[4+c] + tmp[8+c]
		cc := tmp[4+c] - tmp[8+c]
		d := tmp[c] - tmp[12+c]
		out[c] = roundShift(a+b, 1)
		out[4+c] = roundShift(cc+d, 1)
		out[8+c] = roundShift(a-b, 1)
		out[12+c] = roundShift(d-cc, 1)
	}
}

// iwht is the inverse Walsh-Hadamard transform of RFC 6386, section 14.3:
// it turns the dequantized Y2 coefficients into the DC coefficients of the
// 16 luma subblocks.
func iwht(in *[16]int32, out *[16]int32) {
	var tmp [16]int32
	for i := range 4 {
		a := in[i] + in[12+i]
		b := in[4+i] + in[8+i]
		c := in[4+i] - in[8+i]
		d := in[i] - in[12+i]
		tmp[i] = a + b
		tmp[4+i] = c + d
		tmp[8+i] = a - b
		tmp[12+i] = d - c
	}
	for r := 0; r < 16; r += 4 {
		a := tmp[r] + tmp[r+3]
		b := tmp[r+1] + tmp[r+2]
		c := tmp[r+1] - tmp[r+2]
		d := tmp[r] - tmp[r+3]
		out[r+0] = (a + b + 3) >> 3
		out[r+1] = (c + d + 3) >> 3
		out[r+2] = (a - b + 3) >> 3
		out[r+3] = (d - c + 3) >> 3
	}
}

func clamp255(x int32) uint8 {
	if x < 0 {
		return 0
	}
	if x > 255 {
		return 255
	}
	return uint8(x)
}
