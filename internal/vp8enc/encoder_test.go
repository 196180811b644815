package vp8enc

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

// reconstruction returns the encoder's own reconstruction of the last
// frame, cropped to the frame size.
func reconstruction(e *Encoder) *image.YCbCr {
	return &image.YCbCr{
		Y: e.recY, Cb: e.recU, Cr: e.recV,
		YStride: e.mbw * 16, CStride: e.mbw * 8,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, e.width, e.height),
	}
}

// encodeAndCheck encodes img at quantizer q, decodes it with the oracle and
// checks that the decoder sees exactly what the encoder reconstructed: any
// difference would mean the two disagree about the bitstream. It returns
// the PSNRs of the decoded frame against img.
func encodeAndCheck(t *testing.T, img *image.YCbCr, q int) (luma, chroma float64, size int) {
	t.Helper()
	w, h := img.Rect.Dx(), img.Rect.Dy()
	e, err := New(w, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetQuantizer(q); err != nil {
		t.Fatal(err)
	}
	frame, err := e.Encode(nil, img)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(frame)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.Rect.Dx() != w || got.Rect.Dy() != h {
		t.Fatalf("decoded size %v, want %dx%d", got.Rect.Size(), w, h)
	}
	if l, c := psnr(reconstruction(e), got); l != posInf || c != posInf {
		t.Fatalf("decoded frame differs from the encoder's reconstruction: Y %.1f dB, chroma %.1f dB", l, c)
	}
	luma, chroma = psnr(img, got)
	return luma, chroma, len(frame)
}

var posInf = func() float64 { var z float64; return 1 / z }()

var sizes = [][2]int{{1, 1}, {2, 2}, {16, 16}, {33, 17}, {100, 75}, {176, 144}, {320, 240}}

// TestEncodeDecodes encodes every test pattern at several sizes, including
// ones that are not whole macroblocks, and quantizers, and decodes them with
// golang.org/x/image/vp8.
//
// Quality bars: at quantizer 0, every pattern is above 45 dB; at
// DefaultQuantizer every pattern, even uniform noise, is above 33 dB in luma
// and in chroma; at 64 the smooth patterns (flat, gradient, colour bars) are
// above 30 dB. At 127 the frames need only decode.
func TestEncodeDecodes(t *testing.T) {
	t.Parallel()
	for _, p := range patterns {
		for _, sz := range sizes {
			for _, tc := range []struct {
				q        int
				minPSNR  float64
				onlyFlat bool
			}{
				{0, 45, false},
				{DefaultQuantizer, 33, false},
				{64, 30, true},
				{127, 0, false},
			} {
				name := fmt.Sprintf("%s/%dx%d/q%d", p.name, sz[0], sz[1], tc.q)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					img := newImage(t, sz[0], sz[1])
					p.fill(img, 99)
					l, c, n := encodeAndCheck(t, img, tc.q)
					smooth := p.name != "noise" && p.name != "checkers"
					if tc.onlyFlat && !smooth {
						return
					}
					if l < tc.minPSNR || c < tc.minPSNR {
						t.Errorf("PSNR Y %.1f dB, chroma %.1f dB, want above %.0f (%d bytes)", l, c, tc.minPSNR, n)
					}
				})
			}
		}
	}
}

// TestEncodeSubImage encodes a sub-image at an odd origin, whose planes do
// not start at the first sample.
func TestEncodeSubImage(t *testing.T) {
	t.Parallel()
	full := newImage(t, 64, 48)
	patterns[1].fill(full, 0)
	sub := full.SubImage(image.Rect(3, 5, 40, 30)).(*image.YCbCr)
	l, c, _ := encodeAndCheck(t, sub, DefaultQuantizer)
	if l < 40 || c < 30 {
		t.Errorf("PSNR Y %.1f dB, chroma %.1f dB", l, c)
	}
}

// TestEncodeSequence reuses one encoder for frames of changing content and
// quantizer, as a video source does.
func TestEncodeSequence(t *testing.T) {
	t.Parallel()
	e, err := New(96, 64)
	if err != nil {
		t.Fatal(err)
	}
	img := newImage(t, 96, 64)
	var buf []byte
	for i := range 20 {
		patterns[i%len(patterns)].fill(img, uint64(i))
		if err := e.SetQuantizer(i * 6); err != nil {
			t.Fatal(err)
		}
		buf, err = e.Encode(buf[:0], img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode(buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if l, c := psnr(reconstruction(e), got); l != posInf || c != posInf {
			t.Fatalf("frame %d: reconstruction mismatch", i)
		}
	}
}

func TestEncodeAppends(t *testing.T) {
	t.Parallel()
	e, err := New(16, 16)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	out, err := e.Encode(prefix, newImage(t, 16, 16))
	if err != nil {
		t.Fatal(err)
	}
	if string(out[:len(prefix)]) != "prefix" {
		t.Fatalf("prefix overwritten: %q", out[:len(prefix)])
	}
	if _, err := decode(out[len(prefix):]); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, sz := range [][2]int{{0, 1}, {1, 0}, {-1, 5}, {MaxDimension + 1, 1}, {1, MaxDimension + 1}} {
		if _, err := New(sz[0], sz[1]); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("New(%d, %d): %v, want ErrInvalidSize", sz[0], sz[1], err)
		}
	}
	e, err := New(32, 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []int{-1, 128} {
		if err := e.SetQuantizer(q); !errors.Is(err, ErrInvalidQuantizer) {
			t.Errorf("SetQuantizer(%d): %v", q, err)
		}
	}
	if e.Quantizer() != DefaultQuantizer {
		t.Errorf("quantizer %d after failed sets", e.Quantizer())
	}
	short := newImage(t, 32, 32)
	short.Cr = short.Cr[:10]
	for name, img := range map[string]*image.YCbCr{
		"nil":     nil,
		"size":    newImage(t, 32, 30),
		"444":     image.NewYCbCr(image.Rect(0, 0, 32, 32), image.YCbCrSubsampleRatio444),
		"short":   short,
		"stride":  {Y: make([]byte, 32*32), Cb: make([]byte, 256), Cr: make([]byte, 256), YStride: 1, CStride: 16, SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, 32, 32)},
		"no luma": {Cb: make([]byte, 256), Cr: make([]byte, 256), YStride: 32, CStride: 16, SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, 32, 32)},
	} {
		if _, err := e.Encode(nil, img); !errors.Is(err, ErrImageMismatch) {
			t.Errorf("Encode(%s): %v, want ErrImageMismatch", name, err)
		}
	}
}

// TestTransformsRoundTrip checks that the forward transforms are close
// inverses of the decoder's.
func TestTransformsRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		var res, coef [16]int32
		var pix [16]byte
		for i := range res {
			pix[i] = 128
			res[i] = r.Int32N(511) - 255
			if r.IntN(4) == 0 {
				res[i] = 255 * (r.Int32N(3) - 1)
			}
		}
		fdct(&res, &coef)
		idctAdd(&coef, pix[:], 0, 4)
		for i := range res {
			want := clamp255(128 + res[i])
			if d := int(pix[i]) - int(want); d < -1 || d > 1 {
				t.Fatalf("DCT round trip of %v: got %v", res, pix)
			}
		}

		var dc, wht, back [16]int32
		for i := range dc {
			dc[i] = r.Int32N(4081) - 2040
		}
		fwht(&dc, &wht)
		iwht(&wht, &back)
		for i := range dc {
			if d := back[i] - dc[i]; d < -1 || d > 1 {
				t.Fatalf("WHT round trip of %v: got %v", dc, back)
			}
		}
	}
}

// TestEncodeAllocatesNothing checks that a frame encodes without allocating
// once the encoder's buffers and dst have grown.
func TestEncodeAllocatesNothing(t *testing.T) {
	e, err := New(320, 240)
	if err != nil {
		t.Fatal(err)
	}
	img := newImage(t, 320, 240)
	patterns[2].fill(img, 0)
	buf, err := e.Encode(nil, img)
	if err != nil {
		t.Fatal(err)
	}
	buf = make([]byte, 0, 2*len(buf))
	if n := testing.AllocsPerRun(20, func() {
		buf, _ = e.Encode(buf[:0], img)
	}); n != 0 {
		t.Errorf("Encode allocates %.1f times per frame", n)
	}
}

// BenchmarkEncode320x240 encodes a test card: colour bars over a gradient,
// with a noisy block.
func BenchmarkEncode320x240(b *testing.B) {
	e, err := New(320, 240)
	if err != nil {
		b.Fatal(err)
	}
	img := newImage(b, 320, 240)
	patterns[2].fill(img, 0)
	grad := newImage(b, 320, 80)
	patterns[1].fill(grad, 0)
	copy(img.Y[160*img.YStride:], grad.Y)
	copy(img.Cb[80*img.CStride:], grad.Cb)
	copy(img.Cr[80*img.CStride:], grad.Cr)
	r := rand.New(rand.NewPCG(3, 4))
	for y := 100; y < 140; y++ {
		for x := 140; x < 180; x++ {
			img.Y[y*img.YStride+x] = uint8(r.Uint32())
		}
	}
	buf, err := e.Encode(nil, img)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		buf, err = e.Encode(buf[:0], img)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes/frame")
}
