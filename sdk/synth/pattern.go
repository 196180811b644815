//go:build !js

package synth

import (
	"image"
	"strconv"
	"unicode/utf8"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Luma of text and its backing box, and neutral chroma, as BT.601 studio
// range values.
const (
	lumaBlack     = 16
	lumaWhite     = 235
	chromaNeutral = 128
)

// bars are the seven 75% colour bars of a test card, as BT.601 Y, Cb, Cr:
// white, yellow, cyan, green, magenta, red, blue.
var bars = [7][3]uint8{
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198}, {65, 100, 212}, {35, 212, 114},
}

// pattern draws the test card: colour bars over a grey ramp, the label in
// the top-left corner, a block bouncing around and the frame number in the
// bottom-left corner. Frame n depends on n alone, so a test can redraw any
// frame it received.
type pattern struct {
	background *image.YCbCr // bars and ramp, drawn once
	frame      *image.YCbCr // the frame being drawn, reused
	block      int          // side of the bouncing block, in pixels
	scale      int          // size of a font pixel, in pixels
	label      []byte
	digits     [20]byte // room for any uint64 in decimal
}

func newPattern(w, h int, label string) *pattern {
	p := &pattern{
		background: image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		frame:      image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		block:      max(2, min(w, h)/6&^1),
		scale:      max(1, h/240),
		label:      []byte(label),
	}
	bg := p.background
	barsEnd := h * 2 / 3
	for y := range h {
		for x := range w {
			var l, cb, cr uint8
			if y < barsEnd {
				c := bars[x*len(bars)/w]
				l, cb, cr = c[0], c[1], c[2]
			} else {
				l, cb, cr = uint8(lumaBlack+(lumaWhite-lumaBlack)*x/max(w-1, 1)), chromaNeutral, chromaNeutral
			}
			bg.Y[bg.YOffset(x, y)] = l
			if x%2 == 0 && y%2 == 0 {
				bg.Cb[bg.COffset(x, y)] = cb
				bg.Cr[bg.COffset(x, y)] = cr
			}
		}
	}
	return p
}

// render draws frame n and returns it. The image stays valid until the next
// call.
func (p *pattern) render(n uint64) *image.YCbCr {
	f, bg := p.frame, p.background
	copy(f.Y, bg.Y)
	copy(f.Cb, bg.Cb)
	copy(f.Cr, bg.Cr)
	w, h := f.Rect.Dx(), f.Rect.Dy()

	// The block crosses the frame in about two seconds at 30 frames per
	// second, bouncing off the edges; its centre is black so that its motion
	// shows on the white bar too.
	x := bounce(n*uint64(max(1, w/60)), w-p.block)
	y := bounce(n*uint64(max(1, h/70)), h-p.block)
	fill(f, image.Rect(x, y, x+p.block, y+p.block), lumaWhite)
	third := p.block / 3
	fill(f, image.Rect(x+third, y+third, x+p.block-third, y+p.block-third), lumaBlack)

	// The text goes over the block, to stay readable.
	if len(p.label) > 0 {
		drawText(f, 2*p.scale, 2*p.scale, p.scale, p.label)
	}
	digits := strconv.AppendUint(p.digits[:0], n, 10)
	drawText(f, 2*p.scale, h-(basicfont.Face7x13.Height+4)*p.scale, p.scale, digits)
	return f
}

// bounce maps a distance travelled to a position on 0..span, going back
// and forth.
func bounce(d uint64, span int) int {
	if span <= 0 {
		return 0
	}
	period := uint64(2 * span)
	d %= period
	if d > uint64(span) {
		d = period - d
	}
	return int(d)
}

// fill paints r, clipped to img, with luma l and neutral chroma.
func fill(img *image.YCbCr, r image.Rectangle, l uint8) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Y[img.YOffset(r.Min.X, y) : img.YOffset(r.Max.X-1, y)+1]
		for i := range row {
			row[i] = l
		}
		for x := r.Min.X; x < r.Max.X; x += 2 - x%2 {
			i := img.COffset(x, y)
			img.Cb[i], img.Cr[i] = chromaNeutral, chromaNeutral
		}
	}
}

// drawText writes s (UTF-8) in white on a black box whose top-left corner is at
// (x, y), in basicfont's 7x13 face magnified scale times, clipped to img.
func drawText(img *image.YCbCr, x, y, scale int, s []byte) {
	face := basicfont.Face7x13
	box := image.Rect(x, y, x+(utf8.RuneCount(s)*face.Advance+2)*scale, y+(face.Height+2)*scale)
	fill(img, box, lumaBlack)
	// The dot sits on the baseline, one font pixel in from the box's edge.
	dot := fixed.P(1, 1+face.Ascent)
	for _, c := range string(s) { // no copy: the compiler ranges over s
		dr, mask, mp, advance, _ := face.Glyph(dot, c)
		if mask == nil {
			continue
		}
		for my := range dr.Dy() {
			for mx := range dr.Dx() {
				if _, _, _, a := mask.At(mp.X+mx, mp.Y+my).RGBA(); a < 0x8000 {
					continue
				}
				at := image.Pt(x+(dr.Min.X+mx)*scale, y+(dr.Min.Y+my)*scale)
				px := image.Rectangle{Min: at, Max: at.Add(image.Pt(scale, scale))}.Intersect(img.Rect)
				for py := px.Min.Y; py < px.Max.Y; py++ {
					for pxx := px.Min.X; pxx < px.Max.X; pxx++ {
						img.Y[img.YOffset(pxx, py)] = lumaWhite
					}
				}
			}
		}
		dot.X += advance
	}
}
