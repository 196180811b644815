package vp8enc

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/vp8"
)

// decode decodes one VP8 frame with golang.org/x/image/vp8, the test oracle.
func decode(frame []byte) (*image.YCbCr, error) {
	d := vp8.NewDecoder()
	d.Init(bytes.NewReader(frame), len(frame))
	fh, err := d.DecodeFrameHeader()
	if err != nil {
		return nil, fmt.Errorf("frame header: %w", err)
	}
	if !fh.KeyFrame || !fh.ShowFrame {
		return nil, fmt.Errorf("frame header %+v: want a shown key frame", fh)
	}
	img, err := d.DecodeFrame()
	if err != nil {
		return nil, fmt.Errorf("frame: %w", err)
	}
	return img, nil
}

// planePSNR returns the PSNR in dB between two w x h planes; +Inf if they
// are equal.
func planePSNR(a []byte, aStride int, b []byte, bStride, w, h int) float64 {
	var sum float64
	for y := range h {
		for x := range w {
			d := float64(a[y*aStride+x]) - float64(b[y*bStride+x])
			sum += d * d
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(w*h)/sum)
}

// psnr returns the PSNR of the luma and of the two chroma planes together.
func psnr(want, got *image.YCbCr) (luma, chroma float64) {
	w, h := want.Rect.Dx(), want.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	luma = planePSNR(want.Y, want.YStride, got.Y, got.YStride, w, h)
	cb := planePSNR(want.Cb, want.CStride, got.Cb, got.CStride, cw, ch)
	cr := planePSNR(want.Cr, want.CStride, got.Cr, got.CStride, cw, ch)
	// Average the two chroma planes' mean squared errors, not their dB.
	mse := (math.Pow(10, -cb/10) + math.Pow(10, -cr/10)) / 2
	if mse == 0 {
		return luma, math.Inf(1)
	}
	return luma, -10 * math.Log10(mse)
}

// Test images, each a function of position and a seed.
var patterns = []struct {
	name string
	fill func(img *image.YCbCr, seed uint64)
}{
	{"flat", func(img *image.YCbCr, seed uint64) {
		fillPlanes(img, func(x, y int) (uint8, uint8, uint8) { return uint8(seed), 90, 200 })
	}},
	{"gradient", func(img *image.YCbCr, _ uint64) {
		w, h := img.Rect.Dx(), img.Rect.Dy()
		fillPlanes(img, func(x, y int) (uint8, uint8, uint8) {
			return uint8(16 + 219*x/max(w, 1)), uint8(255 * y / max(h, 1)), uint8(255 - 255*(x+y)/max(w+h, 1))
		})
	}},
	{"bars", func(img *image.YCbCr, _ uint64) {
		// The seven 75% colour bars of a test card, as BT.601 YCbCr.
		bars := [7][3]uint8{
			{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
			{84, 184, 198}, {65, 100, 212}, {35, 212, 114},
		}
		w := img.Rect.Dx()
		fillPlanes(img, func(x, y int) (uint8, uint8, uint8) {
			c := bars[min(x*7/max(w, 1), 6)]
			return c[0], c[1], c[2]
		})
	}},
	{"noise", func(img *image.YCbCr, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		fillPlanes(img, func(x, y int) (uint8, uint8, uint8) {
			return uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32())
		})
	}},
	{"checkers", func(img *image.YCbCr, _ uint64) {
		fillPlanes(img, func(x, y int) (uint8, uint8, uint8) {
			if (x/5+y/3)%2 == 0 {
				return 0, 255, 0
			}
			return 255, 0, 255
		})
	}},
}

// fillPlanes sets every pixel of img from f; chroma samples take f's value
// at their top-left luma pixel.
func fillPlanes(img *image.YCbCr, f func(x, y int) (y8, cb, cr uint8)) {
	r := img.Rect
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			l, cb, cr := f(x-r.Min.X, y-r.Min.Y)
			img.Y[img.YOffset(x, y)] = l
			if (x-r.Min.X)%2 == 0 && (y-r.Min.Y)%2 == 0 {
				img.Cb[img.COffset(x, y)] = cb
				img.Cr[img.COffset(x, y)] = cr
			}
		}
	}
}

func newImage(tb testing.TB, w, h int) *image.YCbCr {
	tb.Helper()
	return image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
}
