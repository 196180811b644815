//go:build !js

package synth

import (
	"bytes"
	"image"
	"testing"
)

func TestPatternMoves(t *testing.T) {
	t.Parallel()
	p := newPattern(320, 240, "label")
	first := clone(p.render(0))
	if later := p.render(15); lumaPSNR(first, later) > 30 {
		t.Error("frame 15 looks like frame 0: nothing moves")
	}
	if again := p.render(0); !bytes.Equal(first.Y, again.Y) || !bytes.Equal(first.Cb, again.Cb) {
		t.Error("frame 0 drawn twice differs")
	}
	// The label shows: the corner differs from a pattern without it.
	plain := newPattern(320, 240, "")
	if corner := image.Rect(0, 0, 40, 16); lumaPSNR(crop(first, corner), crop(plain.render(0), corner)) > 30 {
		t.Error("the label is not drawn")
	}
}

func TestPatternSizes(t *testing.T) {
	t.Parallel()
	// Frames of every size draw without going out of bounds, the block
	// anywhere and the text clipped.
	for _, sz := range [][2]int{{1, 1}, {2, 2}, {7, 3}, {33, 17}, {1920, 1080}} {
		p := newPattern(sz[0], sz[1], "a label wider than small frames ✓")
		renders := uint64(min(500, max(5, 1_000_000/(sz[0]*sz[1]))))
		for n := range renders {
			p.render(n * 7919)
		}
	}
}

func TestPatternRenderAllocatesNothing(t *testing.T) {
	p := newPattern(320, 240, "label")
	n := uint64(0)
	if allocs := testing.AllocsPerRun(20, func() {
		p.render(n)
		n += 12345
	}); allocs != 0 {
		t.Errorf("render allocates %.1f times per frame", allocs)
	}
}

func clone(img *image.YCbCr) *image.YCbCr {
	c := *img
	c.Y = append([]byte(nil), img.Y...)
	c.Cb = append([]byte(nil), img.Cb...)
	c.Cr = append([]byte(nil), img.Cr...)
	return &c
}

func crop(img *image.YCbCr, r image.Rectangle) *image.YCbCr {
	return clone(img.SubImage(r).(*image.YCbCr))
}
