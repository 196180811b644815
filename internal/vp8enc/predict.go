package vp8enc

// Intra prediction of whole 16x16 luma and 8x8 chroma blocks (RFC 6386,
// section 12.2 and 12.3), for the four modes a macroblock can use without
// per-subblock prediction.

// The prediction modes, in the order this encoder tries them. The values
// are this package's own; the bitstream codes them as tree leaves.
const (
	modeDC = iota
	modeV
	modeH
	modeTM
	numModes
)

// Values standing in for the pixels above the frame's top row and left of
// its left column (RFC 6386, section 12.2).
const (
	edgeAbove = 127
	edgeLeft  = 129
)

// edges holds the reconstructed pixels a block is predicted from.
type edges struct {
	above     [16]uint8
	left      [16]uint8
	corner    uint8 // above and left of the block's top-left pixel
	haveAbove bool  // false on the frame's top row
	haveLeft  bool  // false on the frame's left column
}

// load gathers the edges of the n x n block at (x, y) of the reconstructed
// plane pix, substituting the frame-edge values where the block touches the
// frame's top or left edge.
func (g *edges) load(pix []byte, stride, x, y, n int) {
	g.haveAbove = y > 0
	g.haveLeft = x > 0
	switch {
	case y > 0:
		copy(g.above[:n], pix[(y-1)*stride+x:])
	default:
		for i := range n {
			g.above[i] = edgeAbove
		}
	}
	switch {
	case x > 0:
		for j := range n {
			g.left[j] = pix[(y+j)*stride+x-1]
		}
	default:
		for j := range n {
			g.left[j] = edgeLeft
		}
	}
	// The corner lies on the row above the frame for the top row of blocks,
	// and on the column left of it for the rest of the left column.
	switch {
	case y == 0:
		g.corner = edgeAbove
	case x == 0:
		g.corner = edgeLeft
	default:
		g.corner = pix[(y-1)*stride+x-1]
	}
}

// predict writes the n x n prediction of mode from g into dst, row after
// row. shift is log2(n).
func predict(dst []uint8, g *edges, mode, n int, shift uint) {
	dst = dst[:n*n]
	switch mode {
	case modeDC:
		var sum, count uint32
		if g.haveAbove {
			for _, v := range g.above[:n] {
				sum += uint32(v)
			}
			count++
		}
		if g.haveLeft {
			for _, v := range g.left[:n] {
				sum += uint32(v)
			}
			count++
		}
		dc := uint8(128)
		switch count {
		case 1:
			dc = uint8((sum + uint32(n)/2) >> shift)
		case 2:
			dc = uint8((sum + uint32(n)) >> (shift + 1))
		}
		for i := range dst {
			dst[i] = dc
		}
	case modeV:
		for j := 0; j < n*n; j += n {
			copy(dst[j:j+n], g.above[:n])
		}
	case modeH:
		for j := range n {
			row := dst[j*n : j*n+n]
			for i := range row {
				row[i] = g.left[j]
			}
		}
	case modeTM:
		for j := range n {
			d := int32(g.left[j]) - int32(g.corner)
			row := dst[j*n : j*n+n]
			for i := range row {
				row[i] = clamp255(int32(g.above[i]) + d)
			}
		}
	}
}

// sse returns the sum of squared differences between the n x n block of src
// at off and the prediction pred.
func sse(src []byte, off, stride int, pred []uint8, n int) uint32 {
	var s uint32
	for j := range n {
		row := src[off+j*stride : off+j*stride+n]
		p := pred[j*n : j*n+n]
		for i, v := range row {
			d := int32(v) - int32(p[i])
			s += uint32(d * d)
		}
	}
	return s
}
