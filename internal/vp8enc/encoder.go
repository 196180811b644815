package vp8enc

import (
	"fmt"
	"image"
)

// Limits of the quantizer index and the frame size.
const (
	MinQuantizer = 0
	MaxQuantizer = 127
	// DefaultQuantizer is the index a new Encoder uses: above 40 dB PSNR
	// on smooth content and above 33 dB even on noise.
	DefaultQuantizer = 24
	// MaxDimension is the largest width or height the frame header can hold.
	MaxDimension = 1<<14 - 1
)

// maxFirstPartition is the largest first partition the frame tag's 19-bit
// size field can describe.
const maxFirstPartition = 1<<19 - 1

// Encoder turns 4:2:0 images of one size into VP8 key frames. It keeps its
// working memory from frame to frame; it is not safe for concurrent use.
type Encoder struct {
	width, height int
	mbw, mbh      int
	qIndex        int
	quant         quantizer

	// The source image, padded to whole macroblocks by repeating its last
	// column and row, and the reconstruction the decoder will see.
	srcY, srcU, srcV []byte
	recY, recU, recV []byte

	mbs []mbInfo // the current frame's macroblocks, in raster order

	// Which blocks along the bottom of the row of macroblocks above, and
	// along the right of the macroblock to the left, have coefficients: the
	// contexts of RFC 6386, section 13.3.
	aboveNZ []nzContext
	leftNZ  nzContext

	first, tokens boolEncoder

	// Per-macroblock scratch space.
	pred                 [numModes][256]uint8
	coeffs               [16][16]int32
	levelsY2             [16]int32
	levelsY              [16][16]int32
	levelsU, levelsV     [4][16]int32
	g                    edges
	residual, dct, deqed [16]int32
}

// mbInfo is what the first partition says about one macroblock.
type mbInfo struct {
	yMode, uvMode uint8
	skip          bool
}

// nzContext records, for one edge of a macroblock, which of its blocks had
// coefficients: 4 luma, 2 U, 2 V and the Y2 block.
type nzContext struct {
	y    [4]bool
	u, v [2]bool
	y2   bool
}

// New returns an Encoder for frames of width x height pixels, using
// DefaultQuantizer.
func New(width, height int) (*Encoder, error) {
	if width < 1 || height < 1 || width > MaxDimension || height > MaxDimension {
		return nil, fmt.Errorf("%w: %dx%d", ErrInvalidSize, width, height)
	}
	mbw, mbh := (width+15)/16, (height+15)/16
	lumaSize, chromaSize := mbw*mbh*256, mbw*mbh*64
	e := &Encoder{
		width:   width,
		height:  height,
		mbw:     mbw,
		mbh:     mbh,
		srcY:    make([]byte, lumaSize),
		srcU:    make([]byte, chromaSize),
		srcV:    make([]byte, chromaSize),
		recY:    make([]byte, lumaSize),
		recU:    make([]byte, chromaSize),
		recV:    make([]byte, chromaSize),
		mbs:     make([]mbInfo, mbw*mbh),
		aboveNZ: make([]nzContext, mbw),
	}
	if err := e.SetQuantizer(DefaultQuantizer); err != nil {
		return nil, err
	}
	return e, nil
}

// SetQuantizer sets the quantizer index for the frames encoded from now
// on: 0 gives the best quality and the largest frames, 127 the worst
// quality and the smallest.
func (e *Encoder) SetQuantizer(q int) error {
	if q < MinQuantizer || q > MaxQuantizer {
		return fmt.Errorf("%w: %d", ErrInvalidQuantizer, q)
	}
	e.qIndex = q
	e.quant = newQuantizer(q)
	return nil
}

// Quantizer returns the quantizer index in use.
func (e *Encoder) Quantizer() int { return e.qIndex }

// Encode appends to dst one complete VP8 key frame of img and returns the
// extended slice: the uncompressed data chunk (frame tag, start code and
// size) followed by the two partitions, as an RTP VP8 payloader or a WebP
// VP8 chunk expects it. img must be 4:2:0 and exactly the Encoder's size.
// When dst has room for the frame, Encode allocates nothing once its own
// buffers have grown to the frame's size.
func (e *Encoder) Encode(dst []byte, img *image.YCbCr) ([]byte, error) {
	if err := e.loadSource(img); err != nil {
		return dst, err
	}
	e.tokens.reset(e.tokens.buf)
	for i := range e.aboveNZ {
		e.aboveNZ[i] = nzContext{}
	}
	for mby := range e.mbh {
		e.leftNZ = nzContext{}
		for mbx := range e.mbw {
			e.encodeMacroblock(mbx, mby)
		}
	}
	tokens := e.tokens.flush()
	first := e.writeFirstPartition()
	if len(first) > maxFirstPartition {
		return dst, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(first))
	}

	// The frame tag of RFC 6386, section 9.1: key frame (bit 0 clear),
	// version 0, shown, then the size of the first partition; the start
	// code; and the 14-bit width and height with no upscaling.
	tag := uint32(1)<<4 | uint32(len(first))<<5
	dst = append(dst,
		byte(tag), byte(tag>>8), byte(tag>>16),
		0x9d, 0x01, 0x2a,
		byte(e.width), byte(e.width>>8),
		byte(e.height), byte(e.height>>8),
	)
	dst = append(dst, first...)
	return append(dst, tokens...), nil
}

// loadSource copies img into the padded source planes.
func (e *Encoder) loadSource(img *image.YCbCr) error {
	if img == nil {
		return fmt.Errorf("%w: nil image", ErrImageMismatch)
	}
	r := img.Rect
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 || r.Dx() != e.width || r.Dy() != e.height {
		return fmt.Errorf("%w: %v %v, want 4:2:0 %dx%d", ErrImageMismatch, img.SubsampleRatio, r.Size(), e.width, e.height)
	}
	cw, ch := (e.width+1)/2, (e.height+1)/2
	// The last row of each plane must be inside its slice; the rows above
	// it are then too, as they come before it.
	lastY := img.YOffset(r.Min.X, r.Max.Y-1) + e.width
	lastC := img.COffset(r.Min.X, r.Min.Y+2*(ch-1)) + cw
	if img.YStride < e.width || img.CStride < cw || lastY > len(img.Y) || lastC > len(img.Cb) || lastC > len(img.Cr) {
		return fmt.Errorf("%w: planes too short for %v", ErrImageMismatch, r)
	}
	lumaStride, chromaStride := e.mbw*16, e.mbw*8
	for y := range e.mbh * 16 {
		row := e.srcY[y*lumaStride : (y+1)*lumaStride]
		sy := min(y, e.height-1)
		off := img.YOffset(r.Min.X, r.Min.Y+sy)
		padRow(row, img.Y[off:off+e.width])
	}
	for y := range e.mbh * 8 {
		sy := min(y, ch-1)
		off := img.COffset(r.Min.X, r.Min.Y+2*sy)
		padRow(e.srcU[y*chromaStride:(y+1)*chromaStride], img.Cb[off:off+cw])
		padRow(e.srcV[y*chromaStride:(y+1)*chromaStride], img.Cr[off:off+cw])
	}
	return nil
}

// padRow copies src to the start of dst and fills the rest of dst with
// src's last pixel.
func padRow(dst, src []byte) {
	n := copy(dst, src)
	last := src[len(src)-1]
	for i := n; i < len(dst); i++ {
		dst[i] = last
	}
}

// encodeMacroblock chooses the prediction modes of one macroblock, codes
// its residual into the token partition and leaves its reconstruction in
// the rec planes.
func (e *Encoder) encodeMacroblock(mbx, mby int) {
	info := &e.mbs[mby*e.mbw+mbx]
	q := &e.quant

	// Luma: pick the mode whose prediction is closest to the source.
	ls := e.mbw * 16
	lx, ly := mbx*16, mby*16
	loff := ly*ls + lx
	e.g.load(e.recY, ls, lx, ly, 16)
	info.yMode = uint8(e.bestMode(e.srcY, loff, ls, 16, 4))
	pred := e.pred[info.yMode][:256]
	for j := range 16 {
		copy(e.recY[loff+j*ls:loff+j*ls+16], pred[j*16:j*16+16])
	}

	// Transform each 4x4 block; the DCs go through the Y2 block.
	var dcs [16]int32
	for b := range 16 {
		off := loff + (b>>2)*4*ls + (b&3)*4
		e.loadResidual(e.srcY, e.recY, off, ls)
		fdct(&e.residual, &e.coeffs[b])
		dcs[b] = e.coeffs[b][0]
	}
	var y2 [16]int32
	fwht(&dcs, &y2)
	nonzero := false
	for i, c := range y2 {
		l, d := q.y2[min(i, 1)].quantize(c)
		e.levelsY2[i], y2[i] = l, d
		nonzero = nonzero || l != 0
	}
	iwht(&y2, &dcs)
	for b := range 16 {
		e.levelsY[b][0] = 0
		e.deqed[0] = dcs[b]
		for i := 1; i < 16; i++ {
			l, d := q.y1[1].quantize(e.coeffs[b][i])
			e.levelsY[b][i], e.deqed[i] = l, d
			nonzero = nonzero || l != 0
		}
		off := loff + (b>>2)*4*ls + (b&3)*4
		idctAdd(&e.deqed, e.recY, off, ls)
	}

	// Chroma: one mode for both planes, chosen on their summed error.
	cs := e.mbw * 8
	cx, cy := mbx*8, mby*8
	coff := cy*cs + cx
	var errs [numModes]uint32
	e.g.load(e.recU, cs, cx, cy, 8)
	for m := range numModes {
		predict(e.pred[m][:], &e.g, m, 8, 3)
		errs[m] = sse(e.srcU, coff, cs, e.pred[m][:], 8)
	}
	e.g.load(e.recV, cs, cx, cy, 8)
	for m := range numModes {
		predict(e.pred[m][64:], &e.g, m, 8, 3)
		errs[m] += sse(e.srcV, coff, cs, e.pred[m][64:], 8)
	}
	best := modeDC
	for m := range numModes {
		if errs[m] < errs[best] {
			best = m
		}
	}
	info.uvMode = uint8(best)
	for j := range 8 {
		copy(e.recU[coff+j*cs:coff+j*cs+8], e.pred[best][j*8:j*8+8])
		copy(e.recV[coff+j*cs:coff+j*cs+8], e.pred[best][64+j*8:64+j*8+8])
	}
	nonzero = e.codeChroma(e.srcU, e.recU, coff, cs, &e.levelsU) || nonzero
	nonzero = e.codeChroma(e.srcV, e.recV, coff, cs, &e.levelsV) || nonzero

	// A macroblock without coefficients codes none, and leaves the
	// contexts empty (RFC 6386, section 13.1 and 13.3).
	info.skip = !nonzero
	above := &e.aboveNZ[mbx]
	left := &e.leftNZ
	if info.skip {
		*above, *left = nzContext{}, nzContext{}
		return
	}
	t := &e.tokens
	nz := putTokens(t, planeY2, ctxOf(above.y2, left.y2), 0, &e.levelsY2)
	above.y2, left.y2 = nz, nz
	for b := range 16 {
		x, y := b&3, b>>2
		nz := putTokens(t, planeYAfterY2, ctxOf(above.y[x], left.y[y]), 1, &e.levelsY[b])
		above.y[x], left.y[y] = nz, nz
	}
	for b := range 4 {
		x, y := b&1, b>>1
		nz := putTokens(t, planeUV, ctxOf(above.u[x], left.u[y]), 0, &e.levelsU[b])
		above.u[x], left.u[y] = nz, nz
	}
	for b := range 4 {
		x, y := b&1, b>>1
		nz := putTokens(t, planeUV, ctxOf(above.v[x], left.v[y]), 0, &e.levelsV[b])
		above.v[x], left.v[y] = nz, nz
	}
}

// bestMode predicts the n x n block at off of src from e.g with every mode
// into e.pred and returns the mode with the least squared error. DC wins
// ties, as its code is the shortest.
func (e *Encoder) bestMode(src []byte, off, stride, n int, shift uint) int {
	best, bestErr := 0, ^uint32(0)
	for m := range numModes {
		predict(e.pred[m][:], &e.g, m, n, shift)
		if err := sse(src, off, stride, e.pred[m][:], n); err < bestErr {
			best, bestErr = m, err
		}
	}
	return best
}

// loadResidual sets e.residual to the source minus the prediction already
// in rec, for the 4x4 block at off.
func (e *Encoder) loadResidual(src, rec []byte, off, stride int) {
	for j := range 4 {
		s := src[off+j*stride : off+j*stride+4]
		p := rec[off+j*stride : off+j*stride+4]
		for i := range 4 {
			e.residual[j*4+i] = int32(s[i]) - int32(p[i])
		}
	}
}

// codeChroma transforms and quantizes the four 4x4 blocks of the 8x8 chroma
// block at off, whose prediction is already in rec, and reconstructs them.
// It reports whether any level is non-zero.
func (e *Encoder) codeChroma(src, rec []byte, off, stride int, levels *[4][16]int32) bool {
	q := &e.quant
	nonzero := false
	for b := range 4 {
		boff := off + (b>>1)*4*stride + (b&1)*4
		e.loadResidual(src, rec, boff, stride)
		fdct(&e.residual, &e.dct)
		for i, c := range e.dct {
			l, d := q.uv[min(i, 1)].quantize(c)
			levels[b][i], e.deqed[i] = l, d
			nonzero = nonzero || l != 0
		}
		idctAdd(&e.deqed, rec, boff, stride)
	}
	return nonzero
}

func ctxOf(above, left bool) int {
	n := 0
	if above {
		n++
	}
	if left {
		n++
	}
	return n
}

// writeFirstPartition codes the frame header of RFC 6386, section 19.2,
// and the per-macroblock modes of section 19.3 into the first partition.
func (e *Encoder) writeFirstPartition() []byte {
	b := &e.first
	b.reset(b.buf)
	b.putBit(128, false) // color_space: YUV as in ITU-R BT.601
	b.putBit(128, false) // clamping_type: the decoder clamps
	b.putBit(128, false) // segmentation_enabled
	b.putBit(128, false) // filter_type: normal
	b.putLiteral(6, 0)   // loop_filter_level 0: no loop filter
	b.putLiteral(3, 0)   // sharpness_level
	b.putBit(128, false) // loop_filter_adj_enable
	b.putLiteral(2, 0)   // log2_nbr_of_dct_partitions: one partition
	b.putLiteral(7, uint32(e.qIndex))
	for range 5 {
		b.putBit(128, false) // no y_dc, y2_dc, y2_ac, uv_dc, uv_ac delta
	}
	b.putBit(128, true) // refresh_entropy_probs
	for i := range coeffUpdateProbs {
		for j := range coeffUpdateProbs[i] {
			for k := range coeffUpdateProbs[i][j] {
				for _, p := range coeffUpdateProbs[i][j][k] {
					b.putBit(p, false) // keep the default probability
				}
			}
		}
	}
	skipped := 0
	for _, mb := range e.mbs {
		if mb.skip {
			skipped++
		}
	}
	// prob_skip_false is the chance, out of 256, that a macroblock has
	// coefficients; without any skipped macroblock the flag is left out.
	useSkip := skipped > 0
	var probCoded uint8
	b.putBit(128, useSkip) // mb_no_skip_coeff
	if useSkip {
		p := (len(e.mbs) - skipped) * 256 / len(e.mbs)
		probCoded = uint8(min(max(p, 1), 255))
		b.putLiteral(8, uint32(probCoded))
	}
	for _, mb := range e.mbs {
		if useSkip {
			b.putBit(probCoded, mb.skip)
		}
		// kf_ymode_tree: B_PRED is "0"; DC "100", V "101", H "110", TM "111".
		b.putBit(kfYModeProbs[0], true)
		b.putBit(kfYModeProbs[1], mb.yMode >= modeH)
		if mb.yMode < modeH {
			b.putBit(kfYModeProbs[2], mb.yMode == modeV)
		} else {
			b.putBit(kfYModeProbs[3], mb.yMode == modeTM)
		}
		// uv_mode_tree: DC "0", V "10", H "110", TM "111".
		b.putBit(kfUVModeProbs[0], mb.uvMode != modeDC)
		if mb.uvMode != modeDC {
			b.putBit(kfUVModeProbs[1], mb.uvMode != modeV)
			if mb.uvMode != modeV {
				b.putBit(kfUVModeProbs[2], mb.uvMode == modeTM)
			}
		}
	}
	return b.flush()
}
